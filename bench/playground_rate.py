"""Frames per second the playground streams while training a 6×8 network on 500 2-D points.

Starts ``mlplab serve`` on a free port, opens a session over HTTP, presses play on the
WebSocket and counts the frames for a few seconds. Prints the rate; the issue asks ≥ 10/s.

    python bench/playground_rate.py [seconds]
"""

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import websockets

from mlplab.playground.launch import serving

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"dataset": "spiral", "n_points": 500, "hidden": [8] * 6, "activations": ["tanh"] * 6,
          "features": ["x1", "x2"], "batch_size": 10}


async def count_frames(url: str, sid: str, seconds: float) -> tuple[int, int, float]:
    async with websockets.connect(f"{url.replace('http', 'ws', 1)}api/sessions/{sid}/stream",
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
    with serving(cwd=ROOT) as url:
        r = httpx.post(f"{url}api/sessions", json=CONFIG)
        n, epochs, size = asyncio.run(count_frames(url, r.json()["id"], seconds))
        print(f"6×8 tanh network, 500 points (250 train), batch 10: {n / seconds:.1f} frames/s "
              f"over {seconds:g} s, {epochs} epochs trained, {size / 1000:.0f} kB per frame")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
