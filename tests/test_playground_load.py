"""The playground under hostile load, on 127.0.0.1, bounded in time and connections.

A real ``mlplab serve`` process; 60 hostile WebSockets (15 sessions × 4, all playing, never
reading a frame, re-sending ``play`` ten times a second) in one other process; and one
well-behaved client in this process timing ``POST /step`` on its own session.

What could make this flaky on a shared 2-core machine, and what the test does about it:
- other work on the machine (the other pytest worker) slows both phases: idle and loaded
  windows alternate, 1 s each, and each loaded window is compared with the idle one just
  before it; the claim must hold in one of five rounds (the server before this test existed,
  one play loop per socket, failed every round by far: 15.8 → 1356 ms, 86×);
- the hostile clients' own CPU: one asyncio loop in one process, ten small messages a second
  per socket, no frames read;
- the training load itself: bounded by the server (one worker thread for all play loops,
  which yields to interactive requests); the test checks that the hostile sessions did
  train, so a server that merely refused them would not pass.

Takes 8 to 20 s (more rounds when the machine is busy).
"""

import http.client
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlplab.playground.launch import serving

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "bench" / "hostile_clients.py"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")


class Client:
    """A well-behaved tab: one keep-alive connection, one session."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.sid = self.call("POST", "/api/sessions", {})["id"]

    def call(self, method: str, path: str, body=None) -> dict:
        self.conn.request(method, path, json.dumps(body) if body is not None else None,
                          {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        assert response.status == 200, data[:200]
        return json.loads(data)

    def step_latency(self, seconds: float = 1.0) -> float:
        """The median time of ``/step`` calls made back to back for ``seconds``."""
        times, end = [], time.monotonic() + seconds
        while time.monotonic() < end or len(times) < 10:
            t = time.perf_counter()
            self.call("POST", f"/api/sessions/{self.sid}/step")
            times.append(time.perf_counter() - t)
        return statistics.median(times)


def _tell(proc, line: str, expect: str | None = None) -> str:
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    if expect is None:
        return ""
    reply = proc.stdout.readline().strip()
    assert reply.startswith(expect), reply
    return reply.split()[1]


def one_round(client: Client, hostile) -> tuple[float, float]:
    """``/step``'s median with the hostile sockets paused, then playing."""
    _tell(hostile, "pause")
    time.sleep(0.3)
    idle = client.step_latency()
    _tell(hostile, "play")
    time.sleep(0.3)
    return idle, client.step_latency()


def test_a_tabs_step_stays_within_2x_of_idle_while_60_hostile_sockets_play():
    with serving(args=["--max-sessions", "20"], cwd=ROOT) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        client = Client(port)
        client.step_latency(0.5)  # warm up
        hostile = subprocess.Popen([sys.executable, str(HOSTILE), str(port), "15", "4"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert hostile.stdout.readline().strip() == "ready 60"
            rounds, before = [], int(_tell(hostile, "epochs", "epochs"))
            for _ in range(8):  # rounds until one passed and the sessions trained meanwhile
                rounds.append(one_round(client, hostile))
                # epochs trained during the measured rounds: a first round that passed alone
                # (~2 s) saw 21–78 of them, so a round more is measured until 30 are
                trained = int(_tell(hostile, "epochs", "epochs")) - before
                if any(b < 2 * i for i, b in rounds) and trained >= 30:
                    break
        finally:
            _tell(hostile, "quit")
            hostile.wait(timeout=30)
    shown = ", ".join(f"{i * 1e3:.1f} → {b * 1e3:.1f} ms" for i, b in rounds)
    assert trained >= 30, f"the hostile sessions trained only {trained} epochs: no load"
    print(f"/step idle → under load: {shown}; hostile sessions trained {trained} epochs")
    assert any(b < 2 * i for i, b in rounds), f"/step idle → under load: {shown}"


def test_the_session_limit_holds_under_30_concurrent_creates():
    from concurrent.futures import ThreadPoolExecutor

    with serving(args=["--max-sessions", "4"], cwd=ROOT) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))

        def create(_) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", "/api/sessions", "{}", {"Content-Type": "application/json"})
            status = conn.getresponse().status
            conn.close()
            return status

        with ThreadPoolExecutor(30) as pool:
            statuses = list(pool.map(create, range(30)))
    assert statuses.count(200) == 4 and statuses.count(503) == 26, statuses


def _raw(port: int, head: bytes, chunks=()) -> bytes:
    """Send a raw HTTP request (headers, then body chunks); the reply, read to its end."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        try:
            for chunk in chunks:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered early and closed: its answer is still to be read
        reply = b""
        while data := s.recv(65536):
            reply += data
    return reply


def test_an_oversized_chunked_body_gets_413_and_early_hang_ups_log_no_traceback(tmp_path):
    import asyncio

    import websockets

    log = tmp_path / "server.log"
    with open(log, "w") as out, serving(cwd=ROOT, log=out) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        sid = Client(port).sid
        reply = _raw(port, b"POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                           b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                     [b" " * 10_000] * 150)  # 1.5 MB, no Content-Length
        assert reply.startswith(b"HTTP/1.1 413") and b"too large" in reply

        async def churn():
            for i in range(60):  # connect, maybe play, drop the TCP connection: no close frame
                ws = await websockets.connect(f"ws://127.0.0.1:{port}/api/sessions/{sid}/stream")
                if i % 2:
                    await ws.send('{"cmd": "play"}')
                    await asyncio.sleep(0.02)
                ws.transport.abort()

        asyncio.run(churn())
        for _ in range(20):  # and HTTP clients hanging up in the middle of a body
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(b"POST /api/sessions/" + sid.encode() + b"/csv HTTP/1.1\r\nHost: "
                          b"127.0.0.1\r\nContent-Length: 5000\r\n\r\n1,2,0\n")
        assert Client(port).call("POST", f"/api/sessions/{sid}/step")["epoch"] >= 1
        time.sleep(0.5)
    lines = log.read_text().splitlines()
    assert "Traceback" not in log.read_text() and len(lines) <= 80 + 20, lines[:20]
    assert all(line.startswith(("INFO: ", "WARNING: ")) for line in lines), lines[:5]
