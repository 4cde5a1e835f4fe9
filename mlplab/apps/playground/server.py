"""The playground's web server (FastAPI): sessions, validation, and the frame stream.

Routes (JSON unless noted; every refusal is a 4xx with ``{"error": "..."}``):

- ``GET /``: the page; ``GET /static/*``: its scripts and styles; ``GET /fonts/mlplab-cjk.otf``:
  the CJK characters of its Chinese words (:mod:`mlplab.lab.fonts`); ``GET /api/meta``: limits;
- ``POST /api/sessions`` (a :class:`PlaygroundConfig`): a new session, ``{"id", "frame"}``;
- ``PUT /api/sessions/{id}/config``, ``POST .../step``, ``.../reset``, ``.../points``,
  ``.../csv`` (text/csv body), ``.../weight``, ``.../view``: change it, answer a frame;
- ``POST .../trace``: one point's forward values and backward deltas (:func:`mlplab.trace`);
- ``GET .../model``: the model file (safetensors) for :func:`mlplab.load`;
- ``POST .../close``: free it now (sessions are also freed ``orphan_s`` after their last
  stream closed, or ``timeout_s`` idle when they never had one); either way its streams
  close and its play loop stops;
- ``WS .../stream``: commands ``{"cmd": "play" | "pause" | "step" | "reset"}`` in, frames out
  (:mod:`.stream`: one play loop per session, all on one worker thread).

Every request first passes the guards (:mod:`.guards`): a ``Host`` this server answers to,
no cross-origin WebSocket or change, a body of at most ``MAX_BODY_BYTES``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ...errors import MlplabError
from ...lab.fonts import CJK_FONT
from .config import (DATASETS, FEATURES, MAX_BODY_BYTES, MAX_HIDDEN_LAYERS, MAX_NEURONS,
                     MAX_POINTS, MAX_STREAMS, MAX_STREAMS_PER_SESSION, PlaygroundConfig,
                     PointEdit, TraceRequest, ViewOptions, WeightEdit)
from .data import parse_csv
from .guards import BodyLimit, HostGuard, Interactive
from .session import Session
from .stream import Hub, Player, serve_stream

STATIC = Path(__file__).parent / "static"


class Refused(Exception):
    """A request the server refuses: HTTP ``status`` with a message for the user."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Sessions:
    """At most ``limit`` sessions; one is freed, its streams closed, ``orphan_s`` after its
    last stream closed (the tab is gone: closed, crashed, or offline that long), or when
    it was idle for ``timeout_s`` without ever opening a stream. A session with a live
    stream does not expire: its tab is open.

    Creating one reserves its place under the lock before the session is built (in a worker
    thread), so concurrent creates never pass the limit. Every other method runs on the
    event loop's thread.
    """

    def __init__(self, limit: int, timeout_s: float, orphan_s: float = 60.0):
        self.limit, self.timeout_s, self.orphan_s = limit, timeout_s, orphan_s
        self.items: dict[str, Session] = {}
        self.hubs: dict[str, Hub] = {}
        self.pending = 0  # places reserved by creates still building their session
        self.lock = threading.Lock()
        self.clock = time.monotonic  # replaceable in tests

    def touch(self, session: Session) -> None:
        session.last_seen = self.clock()

    def purge(self) -> None:
        now = self.clock()
        for sid, session in list(self.items.items()):
            hub = self.hubs[sid]
            if hub.subscribers:  # a tab is watching it
                self.touch(session)
            elif hub.left_at is not None and now - max(hub.left_at, session.last_seen) > self.orphan_s:
                self.close(sid, f"this session was freed {self.orphan_s:.0f} s after its "
                           "page went away: reload the page")
            elif now - session.last_seen > self.timeout_s:
                self.close(sid, "this session expired after "
                           f"{self.timeout_s:.0f} s idle: reload the page")

    async def create(self, cfg: PlaygroundConfig) -> tuple[str, Session]:
        self.purge()
        with self.lock:
            if len(self.items) + self.pending >= self.limit:
                raise Refused(503, f"the playground already holds {self.limit} sessions (one "
                              f"per tab); close a tab (its session is freed {self.orphan_s:.0f} s "
                              "later), then reload")
            self.pending += 1
        try:
            session = await asyncio.to_thread(Session, cfg)  # may raise: nothing registered
        finally:
            with self.lock:
                self.pending -= 1
        sid = secrets.token_urlsafe(12)
        self.touch(session)
        with self.lock:
            self.items[sid] = session
            self.hubs[sid] = Hub(sid, session, lambda: self.touch(session),
                                 clock=lambda: self.clock())
        return sid, session

    def get(self, sid: str) -> Session:
        session = self.items.get(sid)
        if session is None:
            raise Refused(404, "this session has expired or never existed: reload the page")
        self.touch(session)
        return session

    def close(self, sid: str, reason: str = "this session was closed: reload the page") -> None:
        with self.lock:
            self.items.pop(sid, None)
            hub = self.hubs.pop(sid, None)
        if hub is not None:
            hub.close(reason)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        if err.get("type") == "json_invalid":
            why = err.get("ctx", {}).get("error", "a syntax error")
            return (f"invalid request: the body is not valid JSON ({why} at character "
                    f"{err['loc'][-1]}): send one JSON object")
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "invalid request: " + "; ".join(parts)


def _http_message(request: Request, exc: HTTPException) -> str:
    """FastAPI's and Starlette's own refusals, in the app's words."""
    where = f"{request.method} {request.url.path[:100]}"
    if exc.status_code == 404:
        return f"no such page or API route: {where}"
    if exc.status_code == 405:
        return f"{where} is not allowed: this route takes {exc.headers.get('Allow', 'another method')}" \
            if exc.headers else f"{where} is not allowed on this route"
    if exc.detail == "There was an error parsing the body":
        return ("invalid request: the body could not be read as JSON (nested too deeply, or a number "
                "with too many digits?): send one flat JSON object of the documented fields")
    return str(exc.detail)


def create_app(max_sessions: int = 16, timeout_s: float = 900.0, host: str = "127.0.0.1",
               allow_hosts=(), max_streams: int = MAX_STREAMS,
               max_streams_per_session: int = MAX_STREAMS_PER_SESSION,
               orphan_s: float = 60.0) -> FastAPI:
    """The playground app: ``uvicorn.run(create_app(), host="127.0.0.1", port=8000)``.

    ``host`` is the address it listens on and, with ``allow_hosts``, the names its ``Host``
    header may carry besides 127.0.0.1, localhost and [::1] (:mod:`.guards`); the stream caps
    are per session and in all (:mod:`.stream`); a session is freed ``orphan_s`` after its
    last stream closed (:class:`Sessions`).
    """
    sessions = Sessions(max_sessions, timeout_s, orphan_s)
    player = Player(max_streams, max_streams_per_session)

    @asynccontextmanager
    async def lifespan(app):
        async def purge_forever():  # idle sessions free their memory even when no tab opens
            while True:
                await asyncio.sleep(min(10.0, timeout_s, orphan_s))
                sessions.purge()

        player.start()
        tasks = [asyncio.create_task(purge_forever()), asyncio.create_task(player.run())]
        yield
        for task in tasks:
            task.cancel()
        player.close()

    app = FastAPI(title="mlplab playground", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.sessions, app.state.player = sessions, player
    app.add_middleware(Interactive, player=player)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(HostGuard, host=host, allow_hosts=tuple(allow_hosts))  # outermost
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_message(exc)}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):  # FastAPI's own refusals
        return JSONResponse({"error": _http_message(request, exc)}, exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(MlplabError)
    async def refused_by_engine(request: Request, exc: MlplabError):
        return JSONResponse({"error": " ".join(str(exc).split())}, 400)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        return JSONResponse({"error": str(exc)}, exc.status)

    _add_routes(app, sessions, player)
    return app


def run(fn, *args):
    """``fn(*args)`` in a worker thread: the event loop keeps serving meanwhile."""
    return asyncio.to_thread(fn, *args)


def _answer(session: Session, fn=None, *args) -> Response:
    """``fn(*args)`` then the frame, JSON-encoded here in the worker thread: FastAPI's own
    encoder would take longer, on the event loop's thread."""
    with session.lock:  # the frame shows this change, not a later one
        if fn is not None:
            fn(*args)
        return Response(json.dumps(session.frame()), media_type="application/json")


def _add_routes(app: FastAPI, sessions: Sessions, player: Player) -> None:
    """The page, session life and the stream (see the module docstring)."""
    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/fonts/mlplab-cjk.otf", include_in_schema=False)
    async def cjk_font():  # the Chinese page's, where the system has no CJK font (style.css)
        return FileResponse(CJK_FONT, media_type="font/otf")  # ETag: a new subset is fetched

    @app.get("/api/meta")
    async def meta():
        return {"datasets": {k: {"kind": v[0], "classes": v[1]} for k, v in DATASETS.items()},
                "features": FEATURES, "max_hidden_layers": MAX_HIDDEN_LAYERS,
                "max_neurons": MAX_NEURONS, "max_points": MAX_POINTS,
                "defaults": PlaygroundConfig().model_dump()}

    @app.post("/api/sessions")
    async def create(cfg: PlaygroundConfig):
        sid, session = await sessions.create(cfg)
        return {"id": sid, "frame": await run(session.frame)}

    @app.post("/api/sessions/{sid}/trace")
    async def trace(sid: str, req: TraceRequest):
        return await run(sessions.get(sid).trace_point, req.subset, req.index)

    @app.get("/api/sessions/{sid}/model")
    async def model(sid: str):
        data = await run(sessions.get(sid).export)
        return Response(data, media_type="application/octet-stream", headers={
            "Content-Disposition": 'attachment; filename="mlplab-playground.safetensors"'})

    @app.post("/api/sessions/{sid}/close", status_code=204)
    async def close(sid: str):
        sessions.close(sid)

    @app.websocket("/api/sessions/{sid}/stream")
    async def stream(ws: WebSocket, sid: str):
        await serve_stream(ws, sessions.hubs.get(sid), player)

    _add_edit_routes(app, sessions)


def _add_edit_routes(app: FastAPI, sessions: Sessions) -> None:
    """The changes to a session; each answers the new frame."""
    async def then_frame(sid: str, fn, *args):
        session = sessions.get(sid)
        return await run(_answer, session, fn(session), *args)

    @app.put("/api/sessions/{sid}/config")
    async def configure(sid: str, cfg: PlaygroundConfig):
        return await then_frame(sid, lambda s: s.configure, cfg)

    @app.post("/api/sessions/{sid}/step")
    async def step(sid: str):
        return await then_frame(sid, lambda s: s.advance, 1)

    @app.post("/api/sessions/{sid}/reset")
    async def reset(sid: str):
        return await then_frame(sid, lambda s: s.reset)

    @app.post("/api/sessions/{sid}/points")
    async def points(sid: str, edit: PointEdit):
        return await then_frame(sid, lambda s: s.edit_points, edit)

    @app.post("/api/sessions/{sid}/csv")
    async def csv(sid: str, request: Request):
        session = sessions.get(sid)
        try:
            text = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "the CSV must be UTF-8 text") from None
        data = await run(parse_csv, text, session.cfg)
        return await then_frame(sid, lambda s: s.set_data, data)

    @app.post("/api/sessions/{sid}/weight")
    async def weight(sid: str, edit: WeightEdit):
        return await then_frame(sid, lambda s: s.edit_weight, edit)

    @app.post("/api/sessions/{sid}/view")
    async def view(sid: str, options: ViewOptions):
        return await then_frame(sid, lambda s: s.view.update, options.model_dump())
