"""The playground server's ASGI guards: what a request must be before any route sees it.

- :class:`HostGuard`: the ``Host`` header must name this server (127.0.0.1, localhost,
  [::1], the address it was started on, or a name allowed with ``--allow-host``), so a
  DNS-rebinding page cannot drive it; when it listens on every interface (0.0.0.0, ::), any
  IP address is accepted too (an address cannot be rebound). A WebSocket handshake, and any
  HTTP request but GET and HEAD, that carries an ``Origin`` must come from the page's own
  origin, so a page on another site cannot open the stream or change a session.
- :class:`BodyLimit`: a request body over the limit is refused with 413, whether it
  declared its length or arrived in chunks; a client that hangs up mid-body is logged in
  one line.
- :class:`Interactive`: marks the requests a user waits on, so the background play loops
  yield to them (:class:`~mlplab.apps.playground.stream.Player`).
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse

log = logging.getLogger("mlplab.playground")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::")
SAFE_METHODS = ("GET", "HEAD")
DRAIN_FACTOR = 8  # an oversized body is read on (and dropped) up to this many times the limit


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


def _hostname(netloc: str) -> str:
    """``host`` of ``host:port`` or ``[v6]:port``, lower case."""
    try:
        return (urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:
        return ""


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


async def _refuse(scope, send, status: int, message: str) -> None:
    if scope["type"] == "websocket":  # before accept: the handshake gets HTTP 403
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    response = JSONResponse({"error": message}, status)
    await response(scope, None, send)


class HostGuard:
    """Refuse requests for another host, and cross-origin WebSockets and changes."""

    def __init__(self, app, host: str = "127.0.0.1", allow_hosts=()):
        self.app = app
        self.any_ip = host in WILDCARDS
        names = {*LOOPBACK, *(h.lower().strip("[]") for h in allow_hosts)}
        if not self.any_ip:
            names.add(host.lower().strip("[]"))
        self.names = frozenset(names)

    def allowed(self, name: str) -> bool:
        return name in self.names or (self.any_ip and _is_ip(name))

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = _header(scope, b"host") or ""
        if not self.allowed(_hostname(host)):
            shown = ", ".join(sorted(self.names))
            return await _refuse(scope, send, 400, f"Host {host[:80]!r} is not served here "
                                 f"(this playground answers to {shown}); if that name is "
                                 f"yours, start it with --allow-host {_hostname(host)[:60]}")
        origin = _header(scope, b"origin")
        cross = origin is not None and urlsplit(origin).netloc.lower() != host.lower()
        if cross and (scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS):
            return await _refuse(scope, send, 403, f"requests from the page {origin[:80]!r} "
                                 "are refused: only this playground's own page may drive it")
        return await self.app(scope, receive, send)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is refused with 413.

    The body is read here (at most ``limit`` bytes are ever held) and handed on whole, so
    the answer is 413 whichever route it was for and however it was sent.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._too_large(scope, send)
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                log.info("%s %s: the client hung up before sending its body", scope["method"],
                         scope["path"])
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            more = message.get("more_body", False)
            if seen > self.limit:
                return await self._too_large(scope, send, receive if more else None, seen)
            chunks.append(chunk)
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()  # after the body: only http.disconnect
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _too_large(self, scope, send, receive=None, seen: int = 0) -> None:
        # read (and drop) what the client still sends, up to a bound, so that it is reading
        # when the answer comes: closing on unread data resets the connection, answer lost
        while receive is not None and seen <= DRAIN_FACTOR * self.limit:
            message = await receive()
            seen += len(message.get("body", b""))
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                break
        response = JSONResponse({"error": f"request body too large: at most {self.limit} "
                                 "bytes"}, 413, headers={"Connection": "close"})
        await response(scope, None, send)


class Interactive:
    """Marks each API request as interactive for ``player`` while it runs."""

    def __init__(self, app, player):
        self.app, self.player = app, player

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/sessions"):
            return await self.app(scope, receive, send)
        sid = path.split("/")[3] if path.count("/") >= 4 else ""  # /api/sessions/{sid}/…
        async with self.player.interactive(sid):
            return await self.app(scope, receive, send)
