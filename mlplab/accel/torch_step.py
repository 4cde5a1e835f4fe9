"""Dense networks on PyTorch tensors: a training step in few kernels and, on a GPU, one launch.

The core runs on PyTorch tensors as it is (:mod:`mlplab.core.xp`), but a GPU executes a small
network's step as ~30 tiny kernels, each launched by Python and some followed by a host sync
(the divergence guard's float(cost)): launch-bound, slower than a CPU. :class:`TorchStep`
computes the same numbers as :class:`mlplab.core.step.Step` (tests/test_accel_torch.py compares
them on CPU tensors) with

- the bias inside the matrix product (``torch.addmm``), the activation's derivative from ``a``;
- plain gradient descent's ``W ← W − α ∂C/∂W`` inside the weight-gradient product
  (``W.addmm_(δᵀ, a, alpha=−α/m)``, the gradient never stored); momentum and Nesterov as
  multi-tensor (``torch._foreach_*``) updates of every parameter at once, Adam as PyTorch's fused
  Adam kernel (the same formula as :class:`mlplab.core.optimizers.Adam`);
- the minibatch gathered on the device from the epoch's order, copied there once an epoch;
- the cost summed on the device and read once an epoch: no host sync per step. The divergence
  guard therefore looks once an epoch: a NaN/inf cost or weight puts the weights of the epoch's
  start back and names the epoch and the layer (the batch is not known);
- on CUDA, the whole step (gather, forward, backward, update) captured once per batch size and
  learning rate as a CUDA graph (``torch.cuda.CUDAGraph``) and replayed: one launch a step.

It applies to stacks of :class:`~mlplab.core.layers.Dense` layers with the built-in update
rules when no callback acts per batch; anything else runs the core's step on the same tensors.
"""

from __future__ import annotations

from ..core.layers import Dense, Input
from ..core.optimizers import Adam, GradientDescent, Momentum
from ..core.step import Step

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")


def applies(run) -> bool:
    """True when ``run`` trains a dense stack on PyTorch tensors with a built-in rule and no
    callback that acts per batch."""
    net, callbacks = run.net, run.callbacks
    layers = net.layers
    return (not net.place.is_numpy and "torch" in type(run.X).__module__
            and isinstance(layers[0], Input) and len(layers[0].out_shape) == 1
            and all(type(layer) is Dense and layer.g.name in ACTIVATIONS for layer in layers[1:])
            and type(run.optimizer) in (GradientDescent, Momentum, Adam)
            and not (callbacks.batch_begin or callbacks.gradients or callbacks.batch_end))


class TorchStep(Step):
    """The training step for a dense stack on PyTorch tensors (see the module docstring)."""

    checks_every_step = False  # the cost stays on the device: the guard looks once an epoch

    def __init__(self, run):
        import torch

        super().__init__(run.net, run.optimizer, run.X, run.Y, run.batch_size)
        self.torch, self.dense = torch, run.net.layers[1:]
        self.device = run.X.device
        self.graphed = self.device.type == "cuda"
        self.name = "torch-cuda-graph" if self.graphed else "torch-fused"
        self._order = torch.arange(self.X.shape[0], device=self.device)  # the epoch's order
        self._cost = torch.zeros((), dtype=self.X.dtype, device=self.device)  # Σ cost·m
        self._graphs: dict[tuple, tuple] = {}  # (batch size, α): (graph, idx, cost)
        self._ones_by_size: dict = {}
        self._state = self._optimizer_state()

    # ------------------------------------------------------------------ step 1
    def batches(self, order=None):
        """Batches as (rows, None): the rows are gathered on the device inside the step."""
        m, bs = self.X.shape[0], self.batch_size
        if order is not None:  # one copy to the device an epoch
            self._order.copy_(self.torch.from_numpy(order), non_blocking=False)
        elif bs < m and not getattr(self, "_ordered", False):
            self._order.copy_(self.torch.arange(m, device=self.device))
        self._ordered = order is None
        for i in range(0, m, bs):
            yield _Rows(i, min(bs, m - i)), None

    # ------------------------------------------------------------------ steps 2–5
    def __call__(self, rows, _=None):
        m, lr = rows.n, self.optimizer.learning_rate
        self.optimizer.t += 1
        if not self.graphed:
            cost = self._compute(self._gather(rows.start, m), m, lr)
        else:
            graph, idx, cost = self._graph(m, lr)
            idx.copy_(self._order[rows.start:rows.start + m])
            graph.replay()
        self.seen += m
        return cost

    def _gather(self, start: int, m: int):
        if m == self.X.shape[0]:
            return self.X, self.Y
        idx = self._order[start:start + m]
        return self.X.index_select(0, idx), self.Y.index_select(0, idx)

    def _compute(self, XY, m: int, lr: float):
        """Steps 2–5 for one batch; returns its mean cost (a 0-d tensor, not read)."""
        torch = self.torch
        X, Y = XY
        A, cache = X, []  # per layer: (a⁽ˡ⁻¹⁾, z⁽ˡ⁾, a⁽ˡ⁾)
        for layer in self.dense:  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = g(z⁽ˡ⁾)
            if layer.g.name == "relu":  # bias and ReLU in the product's epilogue (cuBLASLt)
                Z, out = None, torch._addmm_activation(layer.b, A, layer.W.t(), use_gelu=False)
            else:
                Z = torch.addmm(layer.b, A, layer.W.t())
                out = _g(torch, layer.g.name, Z)
            cache.append((A, Z, out))
            A = out
        cost, delta = _cost_and_delta(torch, self.net.loss.name, self.dense[-1].g.name,
                                      cache[-1][1], A, Y)
        self._cost.add_(cost, alpha=m)
        grads = []
        for l in range(len(self.dense) - 1, -1, -1):  # the δ recursion, top down
            layer, A_prev = self.dense[l], cache[l][0]
            dA = delta @ layer.W if l > 0 else None  # (W⁽ˡ⁾)ᵀδ⁽ˡ⁾, before W changes
            grads[:0] = self._gradients(layer, delta, A_prev, m, lr)
            if l > 0:  # δ⁽ˡ⁻¹⁾ = (W⁽ˡ⁾)ᵀδ⁽ˡ⁾ ⊙ g'(z⁽ˡ⁻¹⁾)
                _, Z_below, A_below = cache[l - 1]
                delta = _delta(torch, self.dense[l - 1].g.name, dA, A_below, Z_below)
        if grads:
            self._update(grads, lr)
        return cost

    def _gradients(self, layer, delta, A_prev, m: int, lr: float) -> list:
        if type(self.optimizer) is GradientDescent:  # W ← W − (α/m)·δᵀa, b ← b − (α/m)·Σδ
            layer.W.addmm_(delta.t(), A_prev, alpha=-lr / m)
            layer.b.addmv_(delta.t(), self._ones(m), alpha=-lr / m)
            return []
        dW = self.torch.addmm(layer.W, delta.t(), A_prev, beta=0, alpha=1 / m)  # ∂C/∂W⁽ˡ⁾
        return [dW, delta.sum(0) / m]  # ∂C/∂b⁽ˡ⁾

    def _ones(self, m: int):
        ones = self._ones_by_size.get(m)
        if ones is None:
            ones = self._ones_by_size[m] = self.torch.ones(m, dtype=self.X.dtype,
                                                            device=self.device)
        return ones

    def _update(self, grads: list, lr: float) -> None:
        torch, opt, params, state = self.torch, self.optimizer, self.net.params, self._state
        if type(opt) is Adam:
            torch._foreach_add_(state["steps"], 1)
            torch._fused_adam_(params, grads, state["m"], state["v"], [], state["steps"], lr=lr,
                               beta1=opt.beta_1, beta2=opt.beta_2, weight_decay=0.0,
                               eps=opt.eps, amsgrad=False, maximize=False)
            return
        v = state["v"]  # momentum: v ← βv − αg; p ← p + v, or p + βv − αg (Nesterov)
        torch._foreach_mul_(v, opt.momentum)
        torch._foreach_add_(v, grads, alpha=-lr)
        if opt.nesterov:
            torch._foreach_add_(params, v, alpha=opt.momentum)
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            torch._foreach_add_(params, v)

    # ------------------------------------------------------------------ CUDA graphs
    def _graph(self, m: int, lr: float):
        key = (m, lr)
        if key not in self._graphs:
            if len(self._graphs) > 4:  # a schedule changing α every epoch: keep a few
                self._graphs.pop(next(iter(self._graphs)))
            self._graphs[key] = self._capture(m, lr)
        return self._graphs[key]

    def _capture(self, m: int, lr: float):
        """Record one step as a CUDA graph; the warm-up steps it needs are undone."""
        torch = self.torch
        idx = torch.zeros(m, dtype=torch.int64, device=self.device)
        idx.copy_(self._order[:m])
        saved = [t.clone() for t in self._mutable()]

        def step():
            XY = (self.X, self.Y) if m == self.X.shape[0] else (
                self.X.index_select(0, idx), self.Y.index_select(0, idx))
            return self._compute(XY, m, lr)

        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # cuBLAS and the allocator warm up outside the graph
            for _ in range(2):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            cost = step()
        for t, s in zip(self._mutable(), saved):  # the warm-up steps never happened
            t.copy_(s)
        return graph, idx, cost

    def _mutable(self) -> list:
        state = [t for ts in self._state.values() for t in ts]
        return [*self.net.params, *state, self._cost]

    # ------------------------------------------------------------------ state, epochs
    def _optimizer_state(self) -> dict:
        """The optimizer's state as tensors on the device, in ``optimizer.state`` too (so that
        checkpoints and a later core step see it)."""
        torch, opt, params = self.torch, self.optimizer, self.net.params
        if len(opt.state) != len(params):
            opt.state = [opt.init_state(p) for p in params]
        for s, p in zip(opt.state, params):
            for k, v in s.items():
                s[k] = torch.as_tensor(v, dtype=p.dtype, device=p.device)
        if type(opt) is Adam:
            steps = [torch.tensor(float(opt.t), dtype=torch.float32, device=p.device)
                     for p in params]
            return {"m": [s["m"] for s in opt.state], "v": [s["v"] for s in opt.state],
                    "steps": steps}
        if type(opt) is Momentum:
            return {"v": [s["v"] for s in opt.state]}
        return {}

    def epoch_cost(self) -> float:
        mean = float(self._cost) / self.seen if self.seen else float("nan")
        self._cost.zero_()
        self.seen = 0
        return mean

    def largest_change(self, start: list) -> float:
        """The epoch's largest change, read from the device once."""
        torch = self.torch
        return float(torch.stack([torch.max(torch.abs(p - s))
                                  for p, s in zip(self.net.params, start)]).max())

    def close(self) -> None:
        self._graphs.clear()


class _Rows:
    """A batch as the step sees it: rows ``start … start + n`` of the epoch's order."""

    __slots__ = ("start", "n")

    def __init__(self, start: int, n: int):
        self.start, self.n = start, n


def _g(torch, name: str, Z):
    if name == "relu":
        return torch.relu(Z)
    if name == "sigmoid":
        return torch.sigmoid(Z)
    if name == "tanh":
        return torch.tanh(Z)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(Z, 0.01)
    if name == "softmax":
        return torch.softmax(Z, dim=1)
    return Z


def _delta(torch, name: str, dA, A, Z):
    """δ = dA ⊙ g'(z), with g' from a = g(z) where it is a function of it."""
    if name == "relu":
        return torch.ops.aten.threshold_backward(dA, A, 0)  # dA where a > 0
    if name == "sigmoid":
        return dA * A * (1 - A)
    if name == "tanh":
        return dA * (1 - A * A)
    if name == "leaky_relu":
        return torch.where(Z > 0, dA, 0.01 * dA)
    return dA


def _cost_and_delta(torch, loss: str, output: str, Z, A, Y):
    """The batch's mean cost (a 0-d tensor) and δ⁽ᴸ⁾, as :mod:`mlplab.core.losses` defines them."""
    m = Z.shape[0]
    if loss == "mse":
        diff = A - Y
        return 0.5 * (diff * diff).sum() / m, _delta(torch, output, diff, A, Z)
    if loss == "binary_cross_entropy":  # log(1 + e^z) − y·z
        return (torch.logaddexp(torch.zeros_like(Z), Z) - Y * Z).sum() / m, A - Y
    # log Σⱼ e^(zⱼ) − Σ y·z = −Σ y·log softmax(z) for rows of y summing to 1 (one fused kernel)
    return -torch.vdot(Y.reshape(-1), torch.log_softmax(Z, dim=1).reshape(-1)) / m, A - Y
