"""A tab's ``/step`` latency, idle and while 60 hostile WebSockets play (15 sessions × 4).

The scenario of tests/test_playground_load.py, printed round by round, against the server in
this checkout or in another (``--root``, e.g. a checkout of the code before the fix):

    python bench/playground_hostile.py [--rounds 3] [--root PATH]

Each round: 1 s of back-to-back ``/step`` calls with the hostile sockets paused, then 1 s with
them playing; prints both medians and their ratio, then the epochs the hostile sessions
trained. Run nothing else meanwhile: a busy machine moves both numbers.
"""

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_playground_load import HOSTILE, Client, _tell, one_round  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server to run")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(args.root)}
    server = subprocess.Popen([sys.executable, "-m", "mlplab", "serve", "--port", str(port),
                               "--max-sessions", "20"], cwd=args.root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    hostile = None
    try:
        server.stdout.readline()
        time.sleep(1.0)  # it listens just after printing its URL
        client = Client(port)
        client.step_latency(0.5)
        hostile = subprocess.Popen([sys.executable, str(HOSTILE), str(port), "15", "4"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        print(hostile.stdout.readline().strip(), "hostile sockets open")
        before = int(_tell(hostile, "epochs", "epochs"))
        for r in range(args.rounds):
            idle, loaded = one_round(client, hostile)
            print(f"round {r + 1}: /step median {idle * 1e3:.1f} ms idle, {loaded * 1e3:.1f} ms "
                  f"under load: {loaded / idle:.2f}×", flush=True)
        print(f"hostile sessions trained {int(_tell(hostile, 'epochs', 'epochs')) - before} "
              "epochs meanwhile")
    finally:
        if hostile is not None:
            _tell(hostile, "quit")
            hostile.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
