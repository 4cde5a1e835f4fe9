"""Start ``mlplab serve`` in a child process on a free local port (for tests and scripts)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(timeout: float = 30.0, cwd=None) -> Iterator[str]:
    """Run ``python -m mlplab serve`` on a free port; yield its URL once it accepts connections.

    The server is terminated when the block ends.
    """
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "serve", "--port", str(port)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        first = proc.stdout.readline()  # it prints its URL first
        if url not in first:
            raise RuntimeError(f"mlplab serve did not start: {first.strip()}")
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
