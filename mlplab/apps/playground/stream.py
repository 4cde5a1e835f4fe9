"""The frame stream: one play loop per session, and all of them on one worker thread.

Each WebSocket on a session subscribes to the session's :class:`Hub`. A socket's commands
(``play``, ``pause``, ``step``, ``reset``) go to the hub; the :class:`Player`, one asyncio
task, serves every hub in turn on a single worker thread: queued commands first, then one
training chunk (≈ 30 ms) of each playing session, whose frame is JSON-encoded once and
offered to every subscriber of that session. So 60 sockets on one session are one play
loop, 15 playing sessions share one thread, and the training load of all tabs together is
bounded by one core, whatever the clients send.

Interactive HTTP requests come first: while one is in flight (:meth:`Player.interactive`),
the running chunk waits between two batches, releasing the GIL, and the next chunk waits to
start (each at most ``YIELD_MAX_S``), so another tab's ``/step`` stays nearly as fast as on
an idle server.

A subscriber holds only the newest frame (a slow reader skips frames; memory stays bounded).
Sockets are capped per session and in all (close code 1013, try again later). A message that
is not a JSON command closes its socket with a code saying why: 1003 binary, 1007 not JSON
(or nested or numbered absurdly), 1008 too many commands a second, 1009 too large. Closing
or expiring a session closes its sockets (1001) and stops its loop; a session whose last
socket closed is freed a while later (the server's ``orphan_s``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from .config import (COMMANDS_PER_SECOND, MAX_COMMAND_BYTES, MAX_STREAMS,
                     MAX_STREAMS_PER_SESSION)

log = logging.getLogger("mlplab.playground")
COMMANDS = ("play", "pause", "step", "reset")
YIELD_MAX_S = 0.25  # a play loop waits at most this long for interactive requests to finish
SEND_TIMEOUT_S = 30.0  # a socket that takes no frame for this long is closed
MAX_QUEUED = 4  # commands waiting per session
GOING_AWAY, UNSUPPORTED, INVALID, POLICY, TOO_BIG, TRY_LATER = 1001, 1003, 1007, 1008, 1009, 1013


class Subscriber:
    """One socket's outbox: in order, but only the newest of consecutive frames waits."""

    def __init__(self):
        self.queue: deque[tuple[str, str]] = deque()
        self.ready = asyncio.Event()
        self.closing: tuple[int, str] | None = None
        self.tokens, self.stamp = 2.0 * COMMANDS_PER_SECOND, time.monotonic()

    def offer(self, text: str, kind: str = "frame") -> None:
        if kind == "frame" and self.queue and self.queue[-1][0] == "frame":
            self.queue[-1] = (kind, text)  # a newer frame replaces one not yet sent
        elif len(self.queue) < 8:
            self.queue.append((kind, text))
        self.ready.set()

    def end(self, code: int, reason: str) -> None:
        self.closing = (code, reason)
        self.ready.set()

    def allow(self) -> bool:
        """A token bucket: ``COMMANDS_PER_SECOND``, bursts of twice that."""
        now = time.monotonic()
        self.tokens = min(2.0 * COMMANDS_PER_SECOND,
                          self.tokens + (now - self.stamp) * COMMANDS_PER_SECOND)
        self.stamp = now
        self.tokens -= 1
        return self.tokens >= 0


class Hub:
    """One session's subscribers and its queued commands."""

    def __init__(self, sid: str, session, touch, clock=time.monotonic):
        self.sid, self.session, self.touch, self.clock = sid, session, touch, clock
        self.subscribers: set[Subscriber] = set()
        self.left_at: float | None = None  # when its last subscriber left (None: one is here)
        self.commands: deque[str] = deque()
        self.closed = False

    def backlogged(self) -> bool:
        """Every subscriber still has an unsent frame (slow readers): a new one can wait."""
        return all(sub.queue and sub.queue[-1][0] == "frame" for sub in self.subscribers)

    def publish(self, text: str) -> None:
        for sub in self.subscribers:
            sub.offer(text)

    def close(self, reason: str) -> None:
        """The session is gone: stop its loop, close its sockets."""
        self.closed = True
        self.session.playing = False
        self.commands.clear()
        for sub in self.subscribers:
            sub.end(GOING_AWAY, reason)


class Player:
    """Every session's play loop and socket commands, served in turn on one worker thread."""

    def __init__(self, max_streams: int = MAX_STREAMS,
                 max_per_session: int = MAX_STREAMS_PER_SESSION):
        self.max_streams, self.max_per_session = max_streams, max_per_session
        self.hubs: list[Hub] = []  # hubs with at least one subscriber, in serving order
        self.n_streams = 0
        self.busy = 0  # interactive requests in flight (read by the worker thread) …
        self.busy_on: dict[str, int] = {}  # … and how many of them are on each session
        self.changed = threading.Condition()  # busy went down: held chunks look again
        self.held = 0.0  # seconds the current chunk has waited
        self.start()

    def start(self) -> None:
        """Fresh events and worker thread: for each run of the server (its lifespan)."""
        self.wake, self.idle = asyncio.Event(), asyncio.Event()
        self.idle.set()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="mlplab-play")

    def __repr__(self) -> str:
        return (f"Player(hubs={len(self.hubs)}, streams={self.n_streams}, "
                f"playing={sum(h.session.playing for h in self.hubs)})")

    @asynccontextmanager
    async def interactive(self, sid: str = ""):
        """While this block runs (a request on session ``sid``), play loops yield to it."""
        self.busy += 1
        self.busy_on[sid] = self.busy_on.get(sid, 0) + 1
        self.idle.clear()
        try:
            yield
        finally:
            self.busy -= 1
            self.busy_on[sid] -= 1
            if not self.busy_on[sid]:
                del self.busy_on[sid]
            if not self.busy:
                self.idle.set()
            with self.changed:
                self.changed.notify_all()

    def others_busy(self, sid: str) -> bool:
        """A request on another session than ``sid`` is in flight."""
        return self.busy > self.busy_on.get(sid, 0)

    def hold(self, sid: str) -> None:
        """On the worker thread, between batches of session ``sid``: wait (without the GIL)
        while another session's request runs, at most ``YIELD_MAX_S`` in all per chunk. A
        request on ``sid`` itself is not waited for: it waits for this chunk's lock."""
        if self.others_busy(sid) and self.held < YIELD_MAX_S:
            start = time.monotonic()
            with self.changed:  # a wait, not a poll: no GIL hand-offs while the request runs
                self.changed.wait_for(lambda: not self.others_busy(sid),
                                      YIELD_MAX_S - self.held)
            self.held += time.monotonic() - start

    def join(self, hub: Hub) -> Subscriber | tuple[int, str]:
        """A new subscriber of ``hub``, or the close code and reason refusing it."""
        if hub.closed:
            return GOING_AWAY, "this session has expired or was closed: reload the page"
        if len(hub.subscribers) >= self.max_per_session:
            return TRY_LATER, (f"this session already has {self.max_per_session} open streams; "
                               "close another tab of it")
        if self.n_streams >= self.max_streams:
            return TRY_LATER, (f"the playground serves {self.max_streams} streams at most; try "
                               "again later")
        sub = Subscriber()
        hub.subscribers.add(sub)
        hub.left_at = None
        self.n_streams += 1
        if hub not in self.hubs:
            self.hubs.append(hub)
        return sub

    def leave(self, hub: Hub, sub: Subscriber) -> None:
        if sub in hub.subscribers:
            hub.subscribers.discard(sub)
            self.n_streams -= 1
        if not hub.subscribers:  # nobody watches: stop playing
            hub.left_at = hub.clock()
            hub.session.playing = False
            hub.commands.clear()
            if hub in self.hubs:
                self.hubs.remove(hub)

    def command(self, hub: Hub, cmd: str) -> bool:
        """Queue ``cmd`` for ``hub``; False when its queue is full."""
        if cmd == "play":
            hub.session.playing = True
        elif cmd == "pause":
            hub.session.playing = False  # the running chunk ends at its budget
        if len(hub.commands) >= MAX_QUEUED:
            return False
        if cmd != "play":
            hub.commands.append(cmd)
        self.wake.set()
        return True

    def _next(self) -> tuple[Hub, str] | None:
        """The next job, round robin: a queued command first, else a playing session's chunk."""
        for has_job in (lambda h: h.commands, lambda h: h.session.playing):
            for _ in range(len(self.hubs)):
                hub = self.hubs.pop(0)
                self.hubs.append(hub)
                if not hub.closed and has_job(hub):
                    return hub, hub.commands.popleft() if hub.commands else "chunk"
        return None

    async def run(self) -> None:
        """The loop: forever, wait for work, yield to interactive requests, do one job."""
        loop = asyncio.get_running_loop()
        while True:
            job = self._next()
            if job is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            hub, cmd = job
            if self.others_busy(hub.sid):
                try:
                    await asyncio.wait_for(self.idle.wait(), YIELD_MAX_S)
                except asyncio.TimeoutError:
                    pass
            try:
                text = await loop.run_in_executor(self.executor, self._work, hub, cmd)
            except Exception as exc:  # an engine error: tell the tab, keep serving the others
                text = json.dumps({"type": "error", "error": " ".join(str(exc).split())[:300]})
                log.warning("playground %s failed: %s", cmd, str(exc)[:200])
            if text is not None and not hub.closed:
                hub.publish(text)

    def _work(self, hub: Hub, cmd: str) -> str | None:
        """One job, on the worker thread: the frame to publish as JSON text, or None."""
        s = hub.session
        if cmd == "chunk":
            if not s.playing:
                return None
            self.held = 0.0
            s.advance(hold=lambda: self.hold(hub.sid))
            hub.touch()
            if self.others_busy(hub.sid) or hub.backlogged():
                return None  # draw it on a later turn: a request waits, or nobody reads yet
        elif cmd == "step":
            s.playing = False
            s.advance(1)
        elif cmd == "reset":
            s.reset()
        elif cmd == "pause":
            s.pause()
        frame = s.frame()
        if cmd == "chunk" and not frame["playing"] and frame["status_key"] in (
                "training", "paused"):
            return None  # paused meanwhile: the pause command sends its own frame
        return json.dumps(frame)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _bounded_int(text: str) -> int:
    if len(text) > 30:
        raise ValueError("an absurd integer")
    return int(text)


def parse_command(message: dict) -> str | tuple[int, str] | None:
    """The command in a received WebSocket message; a close (code, reason) for a malformed
    one (not an object with a string ``cmd``); None for an unknown command name (answered,
    not closed)."""
    text = message.get("text")
    if text is None:
        return UNSUPPORTED, 'binary frames are not part of this protocol; send {"cmd": ...}'
    if len(text.encode()) > MAX_COMMAND_BYTES:
        return TOO_BIG, f"a command is at most {MAX_COMMAND_BYTES} bytes"
    try:
        msg = json.loads(text, parse_int=_bounded_int)
    except (ValueError, RecursionError):
        msg = None
    if not isinstance(msg, dict) or not isinstance(msg.get("cmd"), str):
        return INVALID, 'not a JSON command; send {"cmd": "play" | "pause" | "step" | "reset"}'
    return msg["cmd"] if msg["cmd"] in COMMANDS else None


UNKNOWN = json.dumps({"type": "error", "error": 'unknown command: send {"cmd": "play" | '
                      '"pause" | "step" | "reset"}'})


async def _read(ws, hub: Hub, sub: Subscriber, player: Player) -> tuple[int, str] | None:
    """Commands in, until the client leaves (None) or breaks the protocol (close code)."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        if not sub.allow():
            return POLICY, f"more than {COMMANDS_PER_SECOND} commands a second"
        cmd = parse_command(message)
        if isinstance(cmd, tuple):
            return cmd
        hub.touch()
        if cmd is None:
            sub.offer(UNKNOWN, "note")
        elif not player.command(hub, cmd):
            sub.offer(json.dumps({"type": "error", "error": "busy: wait for the frames of "
                                  "your last commands"}), "note")


async def _write(ws, sub: Subscriber) -> tuple[int, str] | None:
    """Frames out, newest first, until the session ends or the socket fails."""
    while True:
        await sub.ready.wait()
        sub.ready.clear()
        while sub.queue:
            _, text = sub.queue.popleft()
            await asyncio.wait_for(ws.send_text(text), SEND_TIMEOUT_S)
        if sub.closing:
            return sub.closing


async def serve_stream(ws, hub: Hub | None, player: Player) -> None:
    """One WebSocket's life: join the hub (or be refused), read and write until the end."""
    await ws.accept()
    if hub is None:
        await ws.send_json({"type": "error", "error": "this session has expired or never "
                            "existed: reload the page"})
        return await ws.close(code=4404)
    sub = player.join(hub)
    if isinstance(sub, tuple):
        return await ws.close(code=sub[0], reason=sub[1])
    player.command(hub, "frame")
    tasks = [asyncio.create_task(_read(ws, hub, sub, player)),
             asyncio.create_task(_write(ws, sub))]
    for task in tasks:  # a cancelled task may still end in a send's error: take it quietly
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finished = done.pop()
        error = finished.exception()
        if error is not None:  # a send failed or timed out: the client went away
            log.info("stream closed early by its client (%s)", type(error).__name__)
        elif finished.result() is not None:
            code, reason = finished.result()
            await ws.close(code=code, reason=reason)
    except Exception as exc:  # closing a socket the client already dropped
        log.info("stream closed early by its client (%s)", type(exc).__name__)
    finally:  # also when the server cancels this handler
        for task in tasks:
            task.cancel()
        player.leave(hub, sub)
