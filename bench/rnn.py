"""One training step of a recurrent network: mlplab against PyTorch CPU and the GEMM-only bound.

    python bench/rnn.py                       # LSTM, RNN, GRU; 5 rounds; 2 threads
    python bench/rnn.py --kinds lstm --rounds 9 --threads 1 --json out.json

The step (the issue's anchor): input 32, hidden 128, T = 50, batch 32, float32, a dense head
on the last state, MSE, plain SGD. Contenders, each in its own process, alternating within
every round so that a slow phase of a shared machine hits all of them alike:

- ``mlplab``: ``mlplab.fit``'s own step (the accelerator, :mod:`mlplab.accel.recurrent`):
  with MKL installed (``mlplab[mkl]``), its time
  loops compiled with MKL's packed products;
- ``mlplab-openblas``: the same step without MKL (NumPy's steps on OpenBLAS, numba's cells);
- ``mlplab-numpy``: the same with the gate arithmetic in NumPy (as without numba);
- ``core``: the core's plain BPTT (``accelerate=False``), for reference;
- ``torch``: ``nn.LSTM`` / ``nn.RNN`` / ``nn.GRU`` + ``nn.Linear``, ``torch.optim.SGD``;
- ``gemm``: only the matrix products the accelerator's step makes, with NumPy (the input
  projection, one ``hₜ₋₁ @ W_h`` and one ``δₜ @ W_h`` per step, ∂C/∂W_x and ∂C/∂W_h);
- ``gemm-mkl``: the same products as the step with MKL makes them: the per-step ones on
  ``W_h`` packed by MKL (packing included) in one compiled loop on one thread, the others in
  MKL on its threads.

Quoted: each contender's best step over all rounds (``best``), the median of the per-process
bests, and ``paired``: the median over rounds of torch's best / mlplab's best in that round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from outputs import check_json  # bench/outputs.py, beside this script

N, H, F, T = 32, 128, 32, 50
GATES = {"lstm": 4, "rnn": 1, "gru": 3}
CONTENDERS = ["mlplab", "mlplab-openblas", "mlplab-numpy", "torch", "gemm", "gemm-mkl"]


def _timed(step, reps: int, clock: str) -> list[float]:
    # "cpu": the process's CPU time, which a crowded machine's waiting for a core does not
    # inflate; meaningful with one thread (with more it sums the threads' times)
    now = time.process_time if clock == "cpu" else time.perf_counter
    for _ in range(3):
        step()
    times = []
    for _ in range(reps):
        t = now()
        step()
        times.append(now() - t)
    return times


def mlplab_step(kind: str, accelerate: bool, numba: bool, mkl: bool = True):
    import numpy as np

    import mlplab
    from mlplab.accel import rnn_cells
    from mlplab.layers import GRU, LSTM, Dense, Input, SimpleRNN
    from mlplab.train.setup import prepare

    rnn_cells.ENABLED = numba
    rnn_cells.MKL = mkl
    cls = {"lstm": LSTM, "rnn": SimpleRNN, "gru": GRU}[kind]
    rng = np.random.default_rng(0)
    net = mlplab.Network.from_layers(
        [Input((T, F)), cls(F, H, rng=rng, dtype=np.float32),
         Dense(H, 1, "identity", "xavier_normal", rng=rng, dtype=np.float32)], loss="mse")
    X = rng.normal(size=(N, T, F)).astype(np.float32)
    Y = rng.normal(size=(N, 1)).astype(np.float32)
    run = prepare(net, X, Y, optimizer="sgd", learning_rate=0.01, max_epochs=1,
                  accelerate=accelerate)
    step = run.step()
    return lambda: step(run.X, run.Y), step.name


def torch_step(kind: str, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rnn = {"lstm": torch.nn.LSTM, "rnn": torch.nn.RNN, "gru": torch.nn.GRU}[kind](
        F, H, batch_first=True)
    head = torch.nn.Linear(H, 1)
    opt = torch.optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.01)
    X, Y = torch.randn(N, T, F), torch.randn(N, 1)

    def step():
        opt.zero_grad()
        out, _ = rnn(X)
        a = head(out[:, -1])
        cost = 0.5 * ((a - Y) ** 2).sum() / N
        cost.backward()
        opt.step()

    return step, f"torch {torch.__version__}"


def gemm_step(kind: str):
    import numpy as np

    rng = np.random.default_rng(0)
    GH = GATES[kind] * H
    f32 = lambda *shape: rng.normal(size=shape).astype(np.float32)  # noqa: E731
    X2, Wx, Wh, Wh_rows = f32(T * N, F), f32(F, GH), f32(H, GH), f32(GH, H)
    Z, dZ, Hs = f32(T, N, GH), f32(T, N, GH), f32(T + 1, N, H)
    dh = f32(N, H)

    def step():
        np.matmul(X2, Wx, out=Z.reshape(T * N, GH))
        for t in range(T):
            np.matmul(Hs[t], Wh, out=Z[t])
        for t in range(T - 1, -1, -1):
            np.matmul(dZ[t], Wh_rows, out=dh)
        dZ2 = dZ.reshape(T * N, GH)
        np.matmul(dZ2.T, X2)
        np.matmul(dZ2.T, Hs[:T].reshape(T * N, H))

    return step, "numpy products only"


def gemm_mkl_step(kind: str):
    import numba
    import numpy as np

    from mlplab.accel import _rnnloops, mkl, products

    lib = products.mkl_library()  # the products over all steps: MKL's threads, as mlplab's
    rng = np.random.default_rng(0)
    GH = GATES[kind] * H
    f32 = lambda *shape: rng.normal(size=shape).astype(np.float32)  # noqa: E731
    X2, Wx, Wh, Wh_rows = f32(T * N, F), f32(F, GH), f32(H, GH), f32(GH, H)
    Z, dZ, Hs, dh = f32(T, N, GH), f32(T, N, GH), f32(T + 1, N, H), f32(N, H)
    packed, packed_rows = mkl.Packed(mkl.binding(), Wh, N), mkl.Packed(mkl.binding(), Wh_rows, N)

    @numba.njit(nogil=True)
    def loops(Z, dZ, Hs, dh, P, Pr):
        for t in range(T):
            _rnnloops._product(True, Hs[t], P, Z[t], 1.0)
        for t in range(T - 1, -1, -1):
            _rnnloops._product(True, dZ[t], Pr, dh, 0.0)

    dWx, dWh = np.empty((GH, F), np.float32), np.empty((GH, H), np.float32)

    def step():
        with mkl.binding().one_thread():  # as mlplab's loops: the small products on one thread
            packed.pack(Wh)
            packed_rows.pack(Wh_rows)
        products.matmul(X2, Wx, Z.reshape(T * N, GH), lib)
        with mkl.binding().one_thread():
            loops(Z, dZ, Hs, dh, packed.buffer, packed_rows.buffer)
        dZ2 = dZ.reshape(T * N, GH)
        products.matmul(dZ2.T, X2, dWx, lib)
        products.matmul(dZ2.T, Hs[:T].reshape(T * N, H), dWh, lib)

    return step, "MKL's packed step products on one thread, the others on MKL's threads"


def child(name: str, kind: str, reps: int, threads: int, clock: str) -> dict:
    if name == "torch":
        step, label = torch_step(kind, threads)
    elif name == "gemm":
        step, label = gemm_step(kind)
    elif name == "gemm-mkl":
        step, label = gemm_mkl_step(kind)
    else:
        step, label = mlplab_step(kind, name != "core", name != "mlplab-numpy",
                                  mkl=name != "mlplab-openblas")
    return {"times": _timed(step, reps, clock), "label": label}


def run_child(name: str, kind: str, reps: int, threads: int, clock: str) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "OPENBLAS_THREAD_TIMEOUT": "4"}
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, kind, str(reps),
           str(threads), clock]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kinds", default="lstm,rnn,gru")
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=20, help="timed steps per process")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time, or the process's CPU time (robust on a crowded machine, "
                        "with --threads 1)")
    p.add_argument("--json", help="write every time measured to this file")
    p.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    check_json(p, args.json)  # before any measuring
    if args.child:
        name, kind, reps, threads, clock = args.child
        print(json.dumps(child(name, kind, int(reps), int(threads), clock)))
        return
    names = args.contenders.split(",")
    results = {kind: {n: [] for n in names} for kind in args.kinds.split(",")}
    for r in range(args.rounds):
        for kind, by_name in results.items():
            for name in (names if r % 2 == 0 else names[::-1]):  # alternate the order too
                by_name[name].append(run_child(name, kind, args.reps, args.threads, args.clock))
    report(results, args.threads, args.clock)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def report(results: dict, threads: int, clock: str) -> None:
    print(f"one training step, batch {N}, input {F}, hidden {H}, T = {T}, float32, SGD; "
          f"{threads} thread(s); {clock} time, ms")
    for kind, by_name in results.items():
        print(f"\n{kind.upper()}")
        bests = {n: [min(r["times"]) for r in runs if "times" in r] for n, runs in by_name.items()}
        ref = bests.get("mlplab") or []
        for name, values in bests.items():
            if not values:
                print(f"  {name:<13} error: {by_name[name][-1].get('error')}")
                continue
            line = (f"  {name:<13} best {min(values) * 1e3:7.2f}  median "
                    f"{statistics.median(values) * 1e3:7.2f}")
            if ref and name != "mlplab":
                pairs = [v / m for v, m in zip(values, ref)]
                line += (f"   {name}/mlplab: best {min(values) / min(ref):.2f}×, paired "
                         f"{statistics.median(pairs):.2f}×")
            print(line + f"   ({by_name[name][0].get('label', '')})")


if __name__ == "__main__":
    main()
