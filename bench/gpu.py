"""mlplab on a GPU against PyTorch (eager, and with the step captured as a CUDA graph) and the
GEMM-only bound, side by side, each contender in its own process.

    python bench/gpu.py                      # every case (~3 minutes on one H200)
    python bench/gpu.py --out DIR            # also DIR/gpu.json and DIR/gpu.txt
    python bench/gpu.py --device cpu --quick # the script's own check, on PyTorch CPU tensors

Cases (seconds per epoch, the data already on the device, float32, SGD, learning rate 0.1):
``mlp-32``, ``mlp-128``, ``mlp-1024``: 784-256-128-10 ReLU, softmax cross-entropy, 60,000 rows,
batch 32 / 128 / 1024; ``big-1024``: 784-4096-4096-10 at batch 1024. Contenders: ``mlplab``
(``Network(..., device="cuda")``: mlplab.accel.torch_step, a CUDA graph a step), ``mlplab-core``
(the same network on the core's own step, for reference), ``torch`` (eager: ``nn.Sequential``,
autograd, ``torch.optim.SGD``), ``torch-graph`` (the same step captured as a CUDA graph, the pattern
of PyTorch's documentation, full batches graphed), ``gemm`` (the 8 matrix products a step needs,
captured as a CUDA graph: the bound), and ``mlplab-cpu`` (mlplab's NumPy engine on the machine's
CPU cores). Quoted: the best epoch of each contender (after a warm-up epoch), and ratios to
mlplab's. ``check`` trains mlplab on the device and NumPy's core on the CPU from the same seed and
reports the largest weight difference (float32).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's mlplab

LR = 0.1
CASES = {"mlp-32": ([784, 256, 128, 10], 32), "mlp-128": ([784, 256, 128, 10], 128),
         "mlp-1024": ([784, 256, 128, 10], 1024), "big-1024": ([784, 4096, 4096, 10], 1024)}
CONTENDERS = {"mlp-32": ["mlplab", "torch", "torch-graph", "gemm"],
              "mlp-128": ["mlplab", "mlplab-core", "torch", "torch-graph", "gemm", "mlplab-cpu"],
              "mlp-1024": ["mlplab", "torch", "torch-graph", "gemm", "mlplab-cpu"],
              "big-1024": ["mlplab", "torch", "gemm"]}


def data(n: int, sizes, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]), dtype=np.float32)
    return X, rng.integers(0, sizes[-1], n)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _torch_device(device: str) -> str:
    return "cpu" if device in ("cpu", "torch") else device


# ------------------------------------------------------------------ contenders (one a process)
def run_mlplab(case: str, epochs: int, n: int, device: str, accelerate=None) -> dict:
    import mlplab

    sizes, bs = CASES[case]
    X, labels = data(n, sizes)
    Y = np.eye(sizes[-1], dtype=np.float32)[labels]
    net = mlplab.Network(sizes, activation="relu", loss="cross_entropy", init="he_normal",
                         seed=0, dtype="float32", device=device)
    times = []

    class Clock(mlplab.Callback):  # the loop reads the device once an epoch: a sync point
        def on_epoch_end(self, trainer, epoch, logs):
            times.append(time.perf_counter())

    start = time.perf_counter()
    h = net.fit(X, Y, optimizer="sgd", learning_rate=LR, batch_size=bs, max_epochs=epochs + 1,
                epsilon=None, callbacks=[Clock()], accelerate=accelerate)
    stamps = [start] + times
    assert np.isfinite(h.loss[-1])
    return {"times": list(np.diff(stamps))[1:], "backend": h.backend, "loss": h.loss[-1]}


def run_torch(case: str, epochs: int, n: int, device: str, graph: bool = False) -> dict:
    import torch
    from torch import nn

    sizes, bs = CASES[case]
    device = _torch_device(device)
    torch.manual_seed(0)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    lossf = nn.CrossEntropyLoss()
    X, labels = data(n, sizes)
    X, labels = torch.from_numpy(X).to(device), torch.from_numpy(labels).to(device)
    full = n // bs * bs
    static_x = torch.zeros((bs, sizes[0]), device=device)
    static_y = torch.zeros(bs, dtype=torch.int64, device=device)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        return loss

    replay = None
    if graph:  # PyTorch's documented pattern: warm up on a side stream, capture, replay
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                step(static_x, static_y)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(g):
            static_loss = step(static_x, static_y)
        replay = (g, static_loss)

    def epoch():
        perm = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            if replay is not None and i < full:
                torch.index_select(X, 0, idx, out=static_x)
                torch.index_select(labels, 0, idx, out=static_y)
                replay[0].replay()
                total += replay[1]
            else:
                total += step(X[idx], labels[idx]).detach()
        return float(total)  # one read an epoch, as mlplab's

    times = []
    for r in range(epochs + 1):
        _sync(device)
        t0 = time.perf_counter()
        epoch()
        _sync(device)
        if r:
            times.append(time.perf_counter() - t0)
    return {"times": times}


def run_gemm(case: str, epochs: int, n: int, device: str) -> dict:
    """The 8 matrix products of each step (3 forward, 3 weight-gradient, 2 delta), a CUDA graph
    a step: the lower bound of an epoch."""
    import torch

    sizes, bs = CASES[case]
    device = _torch_device(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    W = [torch.randn(b, a, generator=g).to(device) * 0.01 for a, b in zip(sizes, sizes[1:])]
    A = [torch.randn(bs, k, generator=g).to(device) for k in sizes]
    D = [torch.randn(bs, k, generator=g).to(device) for k in sizes[1:]]
    dW = [torch.empty_like(w) for w in W]
    dA = [torch.empty(bs, k, device=device) for k in sizes[:-1]]

    def step():
        for l in range(3):
            torch.mm(A[l], W[l].t(), out=A[l + 1])
        for l in (2, 1, 0):
            torch.mm(D[l].t(), A[l], out=dW[l])
        for l in (2, 1):
            torch.mm(D[l], W[l], out=dA[l])

    run = step
    if device.startswith("cuda"):
        step()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        run = graph.replay
    times = []
    for r in range(epochs + 1):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(0, n, bs):
            run()
        _sync(device)
        if r:
            times.append(time.perf_counter() - t0)
    return {"times": times}


def check(n: int, device: str) -> dict:
    """mlplab on the device against NumPy's core on the CPU: same seed, float32, 16 steps of
    each update rule (one epoch of 2,048 rows); the largest weight difference, and the weights'
    scale."""
    import mlplab
    from mlplab.core.xp import to_numpy

    sizes = [784, 256, 128, 10]
    X, labels = data(2048, sizes, seed=1)
    report = {}
    for optimizer, lr in (("sgd", 0.01), ("momentum", 0.01), ("adam", 1e-3)):
        out = {}
        for name, dev, acc in (("device", device, None), ("cpu-core", "cpu", False)):
            net = mlplab.Network(sizes, activation="relu", loss="cross_entropy",
                                 init="he_normal", seed=0, dtype="float32", device=dev)
            h = net.fit(X, labels, optimizer=optimizer, learning_rate=lr, batch_size=128,
                        max_epochs=1, epsilon=None, seed=2, accelerate=acc)
            out[name] = ([to_numpy(p) for p in net.params], h.backend, h.loss)
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(out["device"][0],
                                                                 out["cpu-core"][0]))
        report[optimizer] = {"max_abs_diff": diff, "backend": out["device"][1],
                             "max_abs_weight": max(float(np.max(np.abs(b)))
                                                   for b in out["cpu-core"][0]),
                             "loss_device": out["device"][2], "loss_cpu": out["cpu-core"][2]}
    return report


RUNNERS = {"mlplab": run_mlplab, "mlplab-core": lambda c, e, n, d: run_mlplab(c, e, n, d, False),
           "torch": run_torch, "torch-graph": lambda c, e, n, d: run_torch(c, e, n, d, True),
           "gemm": run_gemm, "mlplab-cpu": lambda c, e, n, d: run_mlplab(c, e, n, "cpu")}


# ------------------------------------------------------------------ the driver
def one(name: str, case: str, epochs: int, n: int, device: str, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--one", name, case, str(epochs), str(n),
           device]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="6,000 rows, 1 epoch: the script runs")
    ap.add_argument("--out", default=os.environ.get("OUT"))
    ap.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        name, case, epochs, n, device = args.one
        print(json.dumps(check(int(n), device) if name == "check" else
                         RUNNERS[name](case, int(epochs), int(n), device)))
        return 0
    n, epochs = (6_000, 1) if args.quick else (60_000, args.epochs)
    device = args.device
    results = {"machine": machine(device), "n": n, "epochs": epochs}
    lines = [f"machine: {results['machine']}"]
    for case in args.cases.split(","):
        results[case] = {}
        for name in CONTENDERS[case]:
            if not device.startswith("cuda") and name == "torch-graph":
                continue
            r = one(name, case, epochs, n, device, timeout=300)
            results[case][name] = r
        lines += table(case, results[case])
        print("\n".join(lines[-len(results[case]) - 1:]), flush=True)
    results["check"] = one("check", "-", 0, min(n, 20_000), device, timeout=300)
    lines.append(f"check (device vs NumPy core, 16 steps each): {results['check']}")
    print(lines[-1], flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "gpu.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(args.out, "gpu.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


def table(case: str, rows: dict) -> list[str]:
    base = min(rows.get("mlplab", {}).get("times") or [float("nan")])
    out = [f"{case}: contender, best s/epoch, ratio to mlplab (>1: slower than mlplab)"]
    for name, r in rows.items():
        if "times" not in r:
            out.append(f"  {name:12s} error: {r.get('error')}")
            continue
        best = min(r["times"])
        extra = f"  [{r['backend']}]" if "backend" in r else ""
        out.append(f"  {name:12s} {best:9.4f}  {best / base:6.2f}×{extra}")
    return out


def machine(device: str) -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "no GPU"
    return (f"{gpu}; {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}); "
            f"torch {torch.__version__}; numpy {np.__version__}; python {platform.python_version()}")


if __name__ == "__main__":
    sys.exit(main())
