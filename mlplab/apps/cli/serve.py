"""``mlplab serve``: the playground in the browser, on this machine."""

from __future__ import annotations

import socket
import threading
import webbrowser

import typer

from ...errors import ConfigError
from .app import command, console, user_errors


@command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; the default is reachable only "
                             "from this machine (use 0.0.0.0 to share on your network)."),
    port: int = typer.Option(8000, help="TCP port."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
    max_sessions: int = typer.Option(16, help="Browser tabs served at once."),
    session_timeout: float = typer.Option(900, help="Seconds before an idle tab's session is freed."),
):
    """Start the playground: train a network in the browser and watch it learn."""
    import uvicorn

    from ..playground.server import create_app

    with user_errors():
        if not 1 <= port <= 65535:
            raise ConfigError(f"--port must be in 1..65535, got {port}")
        if max_sessions < 1 or session_timeout <= 0:
            raise ConfigError("--max-sessions must be ≥ 1 and --session-timeout > 0")
        try:  # fail with one clear line rather than uvicorn's traceback
            with socket.create_server((host, port)):
                pass
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                              "pick another --port") from None
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)
        url = f"http://{shown}:{port}/"
        console.print(f"mlplab playground: {url}   (Ctrl+C stops it)", highlight=False)
        if open_browser:
            threading.Timer(1.0, webbrowser.open, [url]).start()
        uvicorn.run(create_app(max_sessions, session_timeout), host=host, port=port,
                    log_level="warning")
