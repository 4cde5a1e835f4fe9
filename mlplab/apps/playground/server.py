"""The playground's web server (FastAPI): sessions, validation, and the frame stream.

Routes (JSON unless noted; every refusal is a 4xx with ``{"error": "..."}``):

- ``GET /``: the page; ``GET /static/*``: its scripts and styles; ``GET /api/meta``: limits;
- ``POST /api/sessions`` (a :class:`PlaygroundConfig`): a new session, ``{"id", "frame"}``;
- ``PUT /api/sessions/{id}/config``, ``POST .../step``, ``.../reset``, ``.../points``,
  ``.../csv`` (text/csv body), ``.../weight``, ``.../view``: change it, answer a frame;
- ``POST .../trace``: one point's forward values and backward deltas (:func:`mlplab.trace`);
- ``GET .../model``: the model file (safetensors) for :func:`mlplab.load`;
- ``POST .../close``: free it now (sessions also expire after ``timeout_s`` idle);
- ``WS .../stream``: commands ``{"cmd": "play" | "pause" | "step" | "reset"}`` in, frames out.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from ...errors import MlplabError
from .config import (DATASETS, FEATURES, MAX_BODY_BYTES, MAX_HIDDEN_LAYERS, MAX_NEURONS,
                     MAX_POINTS, PlaygroundConfig, PointEdit, TraceRequest, ViewOptions,
                     WeightEdit)
from .data import parse_csv
from .session import Session

STATIC = Path(__file__).parent / "static"


class Refused(Exception):
    """A request the server refuses: HTTP ``status`` with a message for the user."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Sessions:
    """At most ``limit`` sessions; one idle for ``timeout_s`` is freed."""

    def __init__(self, limit: int, timeout_s: float):
        self.limit, self.timeout_s = limit, timeout_s
        self.items: dict[str, Session] = {}
        self.lock = threading.Lock()
        self.clock = time.monotonic  # replaceable in tests

    def touch(self, session: Session) -> None:
        session.last_seen = self.clock()

    def purge(self) -> None:
        now = self.clock()
        with self.lock:
            for sid in [k for k, s in self.items.items() if now - s.last_seen > self.timeout_s]:
                del self.items[sid]

    def create(self, cfg: PlaygroundConfig) -> tuple[str, Session]:
        self.purge()
        with self.lock:
            if len(self.items) >= self.limit:
                raise Refused(503, f"the playground already holds {self.limit} sessions (one "
                              f"per tab); close a tab, or wait {self.timeout_s:.0f} s for idle "
                              "ones to expire")
        session = Session(cfg)  # may raise MlplabError: nothing registered yet
        sid = secrets.token_urlsafe(12)
        self.touch(session)
        with self.lock:
            self.items[sid] = session
        return sid, session

    def get(self, sid: str) -> Session:
        session = self.items.get(sid)
        if session is None:
            raise Refused(404, "this session has expired or never existed: reload the page")
        self.touch(session)
        return session

    def close(self, sid: str) -> None:
        with self.lock:
            self.items.pop(sid, None)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is refused with 413."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _too_large(self.limit)(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(self.limit)(scope, receive, send)


class _TooLarge(Exception):
    pass


def _too_large(limit: int):
    return JSONResponse({"error": f"request body too large: at most {limit} bytes"}, 413)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "invalid request: " + "; ".join(parts)


def create_app(max_sessions: int = 16, timeout_s: float = 900.0) -> FastAPI:
    """The playground app: ``uvicorn.run(create_app(), host="127.0.0.1", port=8000)``."""
    sessions = Sessions(max_sessions, timeout_s)

    @asynccontextmanager
    async def lifespan(app):
        async def purge_forever():  # idle sessions free their memory even when no tab opens
            while True:
                await asyncio.sleep(min(60.0, timeout_s))
                sessions.purge()

        task = asyncio.create_task(purge_forever())
        yield
        task.cancel()

    app = FastAPI(title="mlplab playground", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.sessions = sessions
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_message(exc)}, 422)

    @app.exception_handler(MlplabError)
    async def refused_by_engine(request: Request, exc: MlplabError):
        return JSONResponse({"error": " ".join(str(exc).split())}, 400)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        return JSONResponse({"error": str(exc)}, exc.status)

    def run(fn, *args):
        return asyncio.to_thread(fn, *args)

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/meta")
    async def meta():
        return {"datasets": {k: {"kind": v[0], "classes": v[1]} for k, v in DATASETS.items()},
                "features": FEATURES, "max_hidden_layers": MAX_HIDDEN_LAYERS,
                "max_neurons": MAX_NEURONS, "max_points": MAX_POINTS,
                "defaults": PlaygroundConfig().model_dump()}

    @app.post("/api/sessions")
    async def create(cfg: PlaygroundConfig):
        sid, session = await run(sessions.create, cfg)
        return {"id": sid, "frame": await run(session.frame)}

    async def then_frame(sid: str, fn, *args):
        session = sessions.get(sid)
        await run(fn(session), *args)
        return await run(session.frame)

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
        await ws.accept()
        try:
            session = sessions.get(sid)
        except Refused as exc:
            await ws.send_json({"type": "error", "error": str(exc)})
            return await ws.close(code=4404)
        await _stream(ws, session, run, lambda: sessions.touch(session))

    return app


async def _stream(ws: WebSocket, session: Session, run, touch) -> None:
    """Frames while playing (train ≈ 30 ms, send, repeat); commands answered as they come."""
    send_lock = asyncio.Lock()

    async def send(message: dict) -> None:
        async with send_lock:
            await ws.send_json(message)

    async def read_commands():
        while True:
            try:
                msg = json.loads(await ws.receive_text())
                cmd = msg["cmd"] if isinstance(msg, dict) else None
            except (json.JSONDecodeError, KeyError, TypeError):
                cmd = None
            touch()
            if cmd == "play":
                session.playing = True
            elif cmd == "pause":
                session.playing = False
                session.status = f"paused at epoch {session.epoch}"
                await send(await run(session.frame))
            elif cmd == "step":
                session.playing = False
                await run(session.advance, 1)
                await send(await run(session.frame))
            elif cmd == "reset":
                await run(session.reset)
                await send(await run(session.frame))
            else:
                await send({"type": "error", "error": "unknown command: send "
                            '{"cmd": "play" | "pause" | "step" | "reset"}'})

    await send(await run(session.frame))
    reader = asyncio.create_task(read_commands())
    try:
        while not reader.done():
            if session.playing:
                await run(session.advance)
                touch()
                frame = await run(session.frame)
                if frame["playing"] or not frame["status"].startswith(("training", "paused")):
                    await send(frame)
            else:
                await asyncio.wait([reader], timeout=0.05)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        session.playing = False
        reader.cancel()
