"""What the browser draws, computed on the server: one JSON frame per update.

Heat maps travel as base64 uint8 (0…255 is a position on the colour scale the frame names),
so the page only maps bytes to colours. Every number comes from the engine: the network's
forward pass over a grid of the plane, its W and b, its gradients, its losses.
"""

from __future__ import annotations

import base64
import math

import numpy as np

from .data import features

GRID = 60  # output heat map: GRID × GRID forward passes
NEURON_STRIDE = 3  # each neuron's small map samples every 3rd grid point (20 × 20)
WARP_LINES, WARP_STEPS = 11, 41
CURVE_POINTS = 300


def _bytes(t: np.ndarray) -> str:
    """Positions t ∈ [0, 1] on a colour scale as base64 uint8."""
    q = np.rint(np.clip(np.nan_to_num(t, nan=0.5), 0, 1) * 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _signed(v: np.ndarray) -> dict:
    """A diverging map: 0 at the middle of the scale, ±max|v| at the ends."""
    m = float(np.max(np.abs(v))) if v.size else 0.0
    m = m if math.isfinite(m) and m > 1e-12 else 1.0
    return {"mode": "signed", "range": [-m, m], "q": _bytes((v / m + 1) / 2)}


def domain(session) -> tuple[float, float, float, float]:
    """A square window around every point, 15 % margin: (x₁ low, x₁ high, x₂ low, x₂ high)."""
    d = session.data
    P = np.vstack([d.P_train, d.P_test])
    lo, hi = P.min(0), P.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.15, 1e-3)
    return (float(centre[0] - half), float(centre[0] + half),
            float(centre[1] - half), float(centre[1] + half))


def _output_map(session, A: np.ndarray) -> dict:
    d = session.data
    if d.classes == 0:
        m = float(max(np.abs(d.y_train).max(initial=0), np.abs(d.y_test).max(initial=0), 1e-9))
        return {"mode": "signed", "range": [-m, m], "q": _bytes((A[:, 0] / m + 1) / 2)}
    if A.shape[1] == 1:  # p(class 1), or the step's 0/1
        return {"mode": "binary", "range": [0, 1], "q": _bytes(A[:, 0])}
    k = A.shape[1]
    conf = A.max(1)  # the winning class's output, from 1/k (undecided) to 1 (sure)
    return {"mode": "classes", "classes": k, "q": _bytes(A.argmax(1) / 255),
            "confidence": _bytes((conf - 1 / k) / (1 - 1 / k))}


def _accuracy(session, X, Y) -> float | None:
    if session.data.classes == 0 or not len(X):
        return None
    A = session.net.forward(X)
    if A.shape[1] > 1:
        return float(np.mean(A.argmax(1) == Y.argmax(1)))
    return float(np.mean((A[:, 0] > 0.5) == (Y[:, 0] > 0.5)))  # sigmoid, or step's 0/1


def _curve(values: list[float]) -> list:
    n = len(values)
    idx = np.unique(np.linspace(0, n - 1, min(n, CURVE_POINTS)).round().astype(int)) if n else []
    return [[int(i), _num(values[i])] for i in idx]


def _num(v) -> float | None:
    v = float(v)
    return round(v, 6) if math.isfinite(v) else None


def _warp(session, dom, layer: int) -> dict:
    """The grid of the plane and the training points, carried into hidden layer ``layer``."""
    x1lo, x1hi, x2lo, x2hi = dom
    t = np.linspace(0, 1, WARP_STEPS)
    lines = []
    for s in np.linspace(0, 1, WARP_LINES):
        lines.append(np.c_[x1lo + t * (x1hi - x1lo), np.full_like(t, x2lo + s * (x2hi - x2lo))])
        lines.append(np.c_[np.full_like(t, x1lo + s * (x1hi - x1lo)), x2lo + t * (x2hi - x2lo)])
    P = np.vstack(lines + [session.data.P_train])
    F = features(P, session.cfg.features)
    layer = min(layer, len(session.dense) - 1)
    if layer == 0:
        H, name = F, "the input features a⁽⁰⁾"
    else:
        session.net.forward(F)
        sup = str(layer).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        H, name = session.dense[layer - 1].A, f"hidden layer {layer}, a⁽{sup}⁾"
    width = H.shape[1]
    if width == 1:
        XY, note = np.c_[H[:, 0], np.zeros(len(H))], f"{name} has 1 neuron: shown on a line"
    elif width == 2:
        XY, note = H, f"{name}: the plane as this layer sees it"
    else:  # principal components of the carried points
        C = H - H.mean(0)
        _, sv, Vt = np.linalg.svd(C, full_matrices=False)
        XY = C @ Vt[:2].T
        share = float((sv[:2] ** 2).sum() / max((sv ** 2).sum(), 1e-300))
        note = (f"{name} is {width}-D: projected on its 2 principal components "
                f"({share:.0%} of the variance)")
    XY = np.nan_to_num(XY)
    n_line = len(lines) * WARP_STEPS
    return {"layer": layer, "note": note,
            "lines": XY[:n_line].reshape(len(lines), WARP_STEPS, 2).round(4).tolist(),
            "points": np.c_[XY[n_line:], session.data.y_train].round(4).tolist()}


def frame(session) -> dict:
    """Everything the page draws, for the session's current state."""
    s, d = session, session.data
    dom = domain(s)
    x1 = np.linspace(dom[0], dom[1], GRID)
    x2 = np.linspace(dom[3], dom[2], GRID)  # row 0 is the top of the picture
    G = np.stack(np.meshgrid(x1, x2), -1).reshape(-1, 2)
    F = features(G, s.cfg.features)
    A_out = s.net.forward(F)
    sub = np.zeros((GRID, GRID), bool)
    sub[::NEURON_STRIDE, ::NEURON_STRIDE] = True
    sub = sub.ravel()
    neurons = [[_signed(F[sub, j]) for j in range(F.shape[1])]]
    neurons += [[_signed(layer.A[sub, i]) for i in range(layer.n_out)] for layer in s.dense[:-1]]
    if A_out.shape[1] == 1:
        out_small = [_output_map(s, A_out[sub])]
    else:  # one map per output unit: its probability, 0 … 1
        out_small = [{"mode": "binary", "range": [0, 1], "q": _bytes(A_out[sub, k])}
                     for k in range(A_out.shape[1])]
    output = _output_map(s, A_out)
    return {
        "type": "frame",
        "epoch": s.epoch, "playing": s.playing, "status": s.status,
        "status_key": s.status_key, "status_params": dict(s.status_params),  # the page words it
        "config": s.cfg.model_dump(),
        "task": {"kind": d.kind, "classes": d.classes, "source": d.source, "sigma": d.sigma,
                 "n_train": len(d.P_train), "n_test": len(d.P_test), "loss": s.loss_name},
        "domain": dom, "grid": GRID, "small_grid": len(range(0, GRID, NEURON_STRIDE)),
        "output": output,
        "neurons": neurons + [out_small],
        "points": {"train": np.c_[d.P_train, d.y_train].round(4).tolist(),
                   "test": np.c_[d.P_test, d.y_test].round(4).tolist()},
        "layers": [{"W": layer.W.round(5).tolist(), "b": layer.b.round(5).tolist(),
                    "activation": layer.g.name} for layer in s.dense],
        "inputs": list(s.cfg.features),
        "grad_norms": [_num(g) for g in s.grad_norms],
        "loss": {"train": _curve(s.train_loss), "test": _curve(s.test_loss),
                 "last_train": _num(s.train_loss[-1]), "last_test": _num(s.test_loss[-1])},
        "accuracy": {"train": _accuracy(s, s.X_train, s.Y_train),
                     "test": _accuracy(s, s.X_test, s.Y_test)},
        "warp": _warp(s, dom, s.view["warp_layer"]),
    }
