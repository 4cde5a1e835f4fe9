"""One training step of the course's CIFAR-sized CNN: mlplab against PyTorch and the GEMM bound.

    python bench/cnn.py                      # 5 rounds, 2 threads (~2 min on 2 quiet cores)
    python bench/cnn.py --rounds 9 --steps 20 --threads 2 --json cnn.json
    python bench/cnn.py --with-core          # also mlplab's core (accelerate=False): slow

The network: conv3×3(32)-ReLU-maxpool2-conv3×3(64)-ReLU-maxpool2-dense128(ReLU)-dense10
(softmax, cross-entropy), "same" padding in both convolutions for both contenders (as
PyTorch's padding=1), batch 128, float32 inputs 3×32×32, plain SGD. One step is forward, cost,
backward and the update, on one batch already in memory (no data loading).

Contenders, each in its own process (``python bench/cnn.py --contender NAME``), alternating in
every round, so that a slow phase of a shared machine hits them alike:

- ``mlplab``: the step ``fit`` runs (``History.backend`` numpy-conv, ``+mkl`` where its products
  run in MKL: ``mlplab[mkl]``), called on the batch;
- ``torch``: ``nn.Sequential`` of ``Conv2d``, ``ReLU``, ``MaxPool2d``, ``Flatten``, ``Linear``;
  ``CrossEntropyLoss``, ``optim.SGD``, ``loss.item()`` every step (as mlplab reads its cost);
- ``gemm``: only the matrix products of a step, with the shapes the im2col formulation needs
  (3 forward, 4 weight-gradient, 2 input-gradient products; the first convolution needs no
  input gradient), into preallocated arrays: the bound for any im2col code on NumPy's BLAS;
- ``gemm-mkl``: the same products in MKL (where ``mlplab[mkl]`` has it), as mlplab calls it;
- ``mlplab-openblas``: mlplab's step with its products in NumPy's BLAS (``MLPLAB_MKL=off``);
- ``core`` (``--with-core``): mlplab's core reference, allocation per operation.

Quoted: the best step time over all rounds, the median of the per-process bests, the ratio of
the bests (> 1: mlplab faster) and the paired ratio (median over rounds of the ratio within a
round).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

from outputs import check_json  # bench/outputs.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M, LR = 128, 0.01


def batch(dtype=np.float32):
    rng = np.random.default_rng(0)
    return rng.standard_normal((M, 3, 32, 32), dtype=dtype), rng.integers(0, 10, M)


def gflop() -> float:
    """Multiply-adds ×2 of the step's products (the ``gemm`` contender's list)."""
    return sum(2 * a * b * c for a, b, c in _products()) / 1e9


def _products():
    """(rows, inner, columns) of every product of one step, im2col formulation, batch M."""
    n1, n2 = M * 32 * 32, M * 16 * 16
    return [(32, 27, n1), (64, 288, n2), (M, 4096, 128), (M, 128, 10),  # forward
            (32, n1, 27), (64, n2, 288), (128, M, 4096), (10, M, 128),  # ∂C/∂W
            (288, 64, n2), (M, 10, 128), (M, 128, 4096)]  # ∂C/∂a below (not the input's)


def time_steps(step, steps: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (all the process's threads) of each of ``steps`` steps."""
    step()  # warm up: threads, first allocations, compiled kernels
    step()
    wall, cpu = [], []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def mlplab_step(accelerate: bool):
    sys.path.insert(0, ROOT)
    import mlplab
    from mlplab.layers import Conv2D, Dense, Flatten, Input, MaxPool2D
    from mlplab.train.setup import prepare

    X, y = batch()
    net = mlplab.Network.from_layers(
        [Input((3, 32, 32)), Conv2D(3, 32, 3, "relu", padding="same"), MaxPool2D(2),
         Conv2D(32, 64, 3, "relu", padding="same"), MaxPool2D(2), Flatten(),
         Dense(4096, 128, "relu", "he_normal"), Dense(128, 10, "softmax", "xavier_normal")],
        loss="cross_entropy", seed=0)
    run = prepare(net, X, y, optimizer="sgd", learning_rate=LR, accelerate=accelerate)
    run.trainer.epoch = run.trainer.batch = 1
    step = run.step()
    Xb, Yb = run.X, run.Y
    return lambda: step(Xb, Yb), {"backend": step.name}


def torch_step(threads: int):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    X, y = batch()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4096, 128), nn.ReLU(), nn.Linear(128, 10))
    loss_fn, opt = nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step, {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def gemm_step(mkl: bool = False):
    lib = None
    if mkl:
        sys.path.insert(0, ROOT)
        from mlplab.accel import products

        lib = products.mkl_library()
        if lib is None:
            raise SystemExit("MKL with threads is not installed: pip install 'mlplab[mkl]'")
    rng = np.random.default_rng(0)
    triples = [(rng.standard_normal((a, b), dtype=np.float32),
                rng.standard_normal((b, c), dtype=np.float32), np.empty((a, c), np.float32))
               for a, b, c in _products()]

    def step():
        for A, B, C in triples:
            if lib is None:
                np.matmul(A, B, out=C)
            else:
                products.matmul(A, B, C, lib)

    return step, {}


def contender(name: str, steps: int, threads: int) -> dict:
    if name == "torch":
        step, extra = torch_step(threads)
    elif name in ("gemm", "gemm-mkl"):
        step, extra = gemm_step(mkl=name == "gemm-mkl")
    else:  # mlplab, mlplab-openblas (MLPLAB_MKL=off: run_one), core
        step, extra = mlplab_step(accelerate=name != "core")
    times, cpu = time_steps(step, steps)
    from threadpoolctl import threadpool_info

    blas = [f"{b['internal_api']} {b['version']} {b.get('architecture')} {b['num_threads']} "
            "threads" for b in threadpool_info() if b["user_api"] == "blas"]
    return {"times": times, "cpu": cpu, "blas": blas, **extra}


def run_one(name: str, steps: int, threads: int, timeout: float) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    if name == "mlplab-openblas":  # mlplab with its products in NumPy's BLAS
        env["MLPLAB_MKL"] = "off"
    cmd = [sys.executable, os.path.abspath(__file__), "--contender", name, "--steps", str(steps),
           "--threads", str(threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarize(results: dict) -> dict:
    rows = {}
    for name, runs in results.items():
        ok = [r for r in runs if "times" in r]
        if not ok:
            rows[name] = {"error": runs[-1].get("error", "no result") if runs else "not run"}
            continue
        bests = [min(r["times"]) for r in ok]
        rows[name] = {"best": min(bests), "median": statistics.median(bests), "bests": bests,
                      "cpu": min(min(r["cpu"]) for r in ok)}
    ref = rows.get("mlplab", {})
    for row in rows.values():
        if "best" in row and "best" in ref:
            row["ratio"] = row["best"] / ref["best"]
            row["paired"] = statistics.median(a / b for a, b in zip(row["bests"], ref["bests"]))
    return rows


def report(rows: dict, results: dict, args) -> str:
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    extra = next((r for runs in results.values() for r in runs if "blas" in r), {})
    torch = next((r for r in results.get("torch", []) if "torch" in r), {})
    lines = [f"machine: {cpu}, {os.cpu_count()} cores; numpy {np.__version__}; "
             f"{'; '.join(extra.get('blas', []))}; "
             f"torch {torch.get('torch', '—')} ({torch.get('torch_threads', '—')} threads)",
             f"{args.rounds} rounds × {args.steps} steps, {args.threads} threads, contenders "
             f"alternating, each in its own process; one step = {gflop():.2f} GFLOP of products",
             "", f"{'contender':<15} {'best ms':>9} {'median ms':>10} {'ratio':>7} {'paired':>7}"
             f" {'GFLOP/s':>8} {'CPU ms':>8}"]
    for name, row in rows.items():
        if "error" in row:
            lines.append(f"{name:<15} —  ({row['error']})")
            continue
        lines.append(f"{name:<15} {row['best'] * 1e3:>9.2f} {row['median'] * 1e3:>10.2f} "
                     f"{row.get('ratio', 0):>7.2f} {row.get('paired', 0):>7.2f} "
                     f"{gflop() / row['best']:>8.1f} {row['cpu'] * 1e3:>8.2f}")
    lines.append("")
    for name in ("gemm", "gemm-mkl"):
        if "best" in rows.get("mlplab", {}) and "best" in rows.get(name, {}):
            bound = rows["mlplab"]["best"] / rows[name]["best"]
            lines.append(f"mlplab / GEMM-only bound ({name}): {bound:.2f}")
    backend = next((r["backend"] for r in results.get("mlplab", []) if "backend" in r), "—")
    lines.append(f"mlplab ran: {backend}")
    if "best" in rows.get("torch", {}):
        torch = rows["torch"]
        lines.append(f"mlplab is {torch['ratio']:.2f}× (paired {torch['paired']:.2f}×) as fast as "
                     "PyTorch; target ≥ 1.5×")
    lines.append("CPU ms: the least CPU time of a step, all threads (with --threads 1 it does not "
                 "count the time another process held the core: the steadier figure on a busy "
                 "machine)")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=15, help="timed steps per process")
    ap.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/numba threads")
    ap.add_argument("--with-core", action="store_true", help="also time mlplab's core")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per process")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--contender", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    check_json(ap, args.json)  # before any measuring
    if args.contender:
        print(json.dumps(contender(args.contender, args.steps, args.threads)))
        return 0
    names = ["mlplab", "mlplab-openblas", "torch", "gemm", "gemm-mkl"] + (
        ["core"] if args.with_core else [])
    results = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate the order
            res = run_one(name, args.steps, args.threads, args.timeout)
            results[name].append(res)
            shown = f"{min(res['times']) * 1e3:.2f} ms" if "times" in res else res["error"]
            print(f"round {r + 1}/{args.rounds} {name:<15} {shown}", file=sys.stderr)
    rows = summarize(results)
    print(report(rows, results, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
