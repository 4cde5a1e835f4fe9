"""Hostile playground clients for tests/test_playground_load.py and
bench/playground_hostile.py, run as their own process.

``python bench/hostile_clients.py PORT SESSIONS SOCKETS`` creates SESSIONS sessions, opens
SOCKETS WebSockets on each (all in one asyncio loop) and then obeys lines on stdin:

- ``play``: every socket sends ``play``, then ``play`` again every 100 ms; no socket ever
  reads a frame (slow readers: the server's sends back up);
- ``pause``: one socket per session sends ``pause``, the others go quiet;
- ``epochs``: prints ``epochs N``, the epochs all sessions have trained so far;
- ``quit``: closes everything.

It prints ``ready OPEN`` once connected, OPEN being the sockets the server kept open.
"""

import asyncio
import http.client
import json
import sys

import websockets


def call(port: int, method: str, path: str, body: dict | None = None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, json.dumps(body or {}), {"Content-Type": "application/json"})
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


async def spam(ws, state: dict) -> None:
    while True:
        if state["playing"]:
            await ws.send('{"cmd": "play"}')
        await asyncio.sleep(0.1)


async def main(port: int, n_sessions: int, per_session: int) -> None:
    loop = asyncio.get_running_loop()
    sids = [call(port, "POST", "/api/sessions")["id"] for _ in range(n_sessions)]
    sockets = {sid: [await websockets.connect(f"ws://127.0.0.1:{port}/api/sessions/{sid}/stream",
                                              max_size=None)
                     for _ in range(per_session)] for sid in sids}
    await asyncio.sleep(0.5)  # refused sockets are closed by now
    open_ = [ws for group in sockets.values() for ws in group if ws.close_code is None]
    state = {"playing": False}
    tasks = [asyncio.create_task(spam(ws, state)) for ws in open_]
    print(f"ready {len(open_)}", flush=True)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "play":
            state["playing"] = True
            for ws in open_:
                await ws.send('{"cmd": "play"}')
        elif line == "pause":
            state["playing"] = False
            await asyncio.sleep(0.15)  # no "play" in flight overtakes the pause
            for group in sockets.values():
                await group[0].send('{"cmd": "pause"}')
        elif line == "epochs":
            total = sum(call(port, "POST", f"/api/sessions/{sid}/view", {"warp_layer": 1})
                        ["epoch"] for sid in sids)
            print(f"epochs {total}", flush=True)
        else:
            break
    for task in tasks:
        task.cancel()
    for ws in open_:
        ws.transport.abort()


if __name__ == "__main__":
    asyncio.run(main(*map(int, sys.argv[1:4])))
