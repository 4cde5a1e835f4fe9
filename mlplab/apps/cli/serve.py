"""``mlplab serve``: the playground in the browser, on this machine."""

from __future__ import annotations

from typing import List, Optional

import typer

from .app import command, console, user_errors


@command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; the default is reachable only "
                             "from this machine (use 0.0.0.0 to share on your network)."),
    port: int = typer.Option(8000, help="TCP port."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
    max_sessions: int = typer.Option(16, help="Browser tabs served at once."),
    session_timeout: float = typer.Option(900, help="Seconds before an idle tab's session is freed."),
    allow_host: List[str] = typer.Option([], help="Another name this server may be reached by "
                                         "(its Host header), e.g. a machine name; repeatable."),
    lang: Optional[str] = typer.Option(None, help="Language of the page: zh (the lecture's "
                                       "Chinese) or en; the URL printed (and opened) carries "
                                       "?lang= (default: the browser's language)."),
):
    """Start the playground: train a network in the browser and watch it learn."""
    from ..playground.launch import serve as run_server

    with user_errors():
        run_server(host, port, max_sessions=max_sessions, session_timeout=session_timeout,
                   allow_hosts=allow_host, open_browser=open_browser, lang=lang,
                   announce=lambda line: console.print(line, highlight=False))
