"""Frames per second the playground streams while training a 6×8 network on 500 2-D points.

Starts ``mlplab serve`` on a free port, opens a session over HTTP, presses play on the
WebSocket and counts the frames for a few seconds. Prints the rate; the issue asks ≥ 10/s.

    python bench/playground_rate.py [seconds]
"""

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"dataset": "spiral", "n_points": 500, "hidden": [8] * 6, "activations": ["tanh"] * 6,
          "features": ["x1", "x2"], "batch_size": 10}


async def count_frames(port: int, sid: str, seconds: float) -> tuple[int, int, float]:
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/sessions/{sid}/stream",
                                  max_size=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"cmd": "play"}))
        start, n, size = time.perf_counter(), 0, 0
        while time.perf_counter() - start < seconds:
            message = await ws.recv()
            frame = json.loads(message)
            n, size = n + 1, size + len(message)
        return n, frame["epoch"], size / max(n, 1)


def main(seconds: float = 5.0) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "serve", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        for _ in range(100):
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/api/sessions", json=CONFIG)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        n, epochs, size = asyncio.run(count_frames(port, r.json()["id"], seconds))
        print(f"6×8 tanh network, 500 points (250 train), batch 10: {n / seconds:.1f} frames/s "
              f"over {seconds:g} s, {epochs} epochs trained, {size / 1000:.0f} kB per frame")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
