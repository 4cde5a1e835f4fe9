"""Start the playground: :func:`serve` (what ``mlplab serve`` runs), and :func:`serving`, a
child process on a free local port for tests and scripts."""

from __future__ import annotations

import logging
import math
import socket
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

from ...errors import ConfigError
from .config import MAX_COMMAND_BYTES, MAX_STREAMS
from .guards import WILDCARDS


def check_options(host: str, port: int, max_sessions: int, session_timeout: float) -> str:
    """Refuse impossible options (ConfigError, naming the fix); returns the URL to open."""
    if not isinstance(host, str) or not host.strip() or host != host.strip():
        raise ConfigError(f"--host must be an address such as 127.0.0.1 (this machine only) or "
                          f"0.0.0.0 (every interface), got {host!r}")
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be in 1..65535, got {port}")
    if not 1 <= max_sessions <= 10_000:
        raise ConfigError(f"--max-sessions must be in 1..10000, got {max_sessions}")
    if not (math.isfinite(session_timeout) and session_timeout > 0):
        raise ConfigError(f"--session-timeout must be a number of seconds > 0, got "
                          f"{session_timeout}")
    shown = "127.0.0.1" if host in WILDCARDS else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/"


def serve(host: str = "127.0.0.1", port: int = 8000, *, max_sessions: int = 16,
          session_timeout: float = 900.0, allow_hosts=(), open_browser: bool = False,
          announce: Callable[[str], object] = print, lang: str | None = None) -> None:
    """Check the options, bind, announce the URL (``announce``; with ``?lang=`` where
    ``lang`` is given: the page's language), and serve until Ctrl+C.

    WebSocket messages are limited to what the protocol needs (``MAX_COMMAND_BYTES``), and
    not compressed (a small compressed message could inflate to a huge one).
    """
    import uvicorn

    from .server import create_app

    url = check_options(host, port, max_sessions, session_timeout)
    if lang is not None:
        from ...lab.text import check_language

        url += f"?lang={check_language(lang)}"
    try:  # fail with one clear line rather than uvicorn's traceback
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                          "pick another --port") from None
    where = f" (listening on every interface, {host})" if host in WILDCARDS else ""
    announce(f"mlplab playground: {url}{where}   (Ctrl+C stops it)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    app = create_app(max_sessions, session_timeout, host=host, allow_hosts=allow_hosts)
    _log_one_line_per_event()
    # a request's thread waits at most 1 ms (not 5) for the GIL held by the play worker
    sys.setswitchinterval(0.001)
    uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=MAX_COMMAND_BYTES,
                ws_per_message_deflate=False, limit_concurrency=MAX_STREAMS + 64)


def _log_one_line_per_event() -> None:
    """The playground's own log (an early disconnect, a failed job): one line each, on stderr."""
    logger = logging.getLogger("mlplab.playground")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(timeout: float = 30.0, cwd=None, args=(), log=None) -> Iterator[str]:
    """Run ``python -m mlplab serve`` on a free port; yield its URL once it accepts connections.

    ``args`` are more options for ``serve``; the server's output after its first line goes to
    the file object ``log`` (default: discarded). The server is terminated when the block ends.
    """
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "serve", "--port", str(port),
                             *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        first = proc.stdout.readline()  # it prints its URL first
        if url not in first:
            raise RuntimeError(f"mlplab serve did not start: {first.strip()}")
        threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:  # the URL is printed just before uvicorn listens: wait for the socket
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mlplab serve did not accept connections") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _drain(stream, log) -> None:
    """Read the server's output so that a full pipe never blocks it; copy it to ``log``."""
    for line in stream:
        if log is not None:
            log.write(line)
