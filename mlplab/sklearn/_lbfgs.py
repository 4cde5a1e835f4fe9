"""``solver="lbfgs"``: SciPy's L-BFGS-B over every weight and bias at once, as scikit-learn runs it.

The parameters travel as one vector θ in scikit-learn's packing: every ``coefs_[l − 1]``
(``W⁽ˡ⁾ᵀ``, shape ``(n_in, n_out)``) flattened row by row, then every ``intercepts_[l − 1]``
(``b⁽ˡ⁾``). For a θ, the network takes those weights and

- ``f(θ)`` is scikit-learn's loss of the whole training set (:mod:`._losses`, sample weights
  included) plus ``½·alpha·Σ‖W⁽ˡ⁾‖² / Σs`` (``Σs``: the sum of the sample weights, else the
  number of samples);
- ``∇f(θ)`` is mlplab's own backpropagation (``net.forward(X, training=True)``,
  ``net.backward(Y)``: the δ recursion and ``∂C/∂W⁽ˡ⁾``, ``∂C/∂b⁽ˡ⁾``) plus
  ``(alpha / Σs)·W⁽ˡ⁾``, packed the same way.

``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` gets scikit-learn's options
(``maxfun=max_fun``, ``maxiter=max_iter``, ``gtol=tol``, and ``iprint`` from ``verbose`` where
SciPy still takes it); ``n_iter_`` is ``min(nit, max_iter)``, ``loss_`` the final ``f``, and a
run that ends on a limit warns with scikit-learn's ``ConvergenceWarning``. mlplab also keeps
``loss_curve_``: ``f`` after each L-BFGS iteration (scikit-learn records none for lbfgs).
mlplab's ``l1`` adds ``l1·Σ|W|`` to ``f`` and ``l1·sign(W)`` to ``∇f``.

On another ``device`` the data moves there once per fit and ``f``, ``∇f`` are computed there;
θ stays SciPy's NumPy vector on the host: each evaluation copies θ to the device and ``∇f``
back, one array each way.

The same runner (:func:`minimize_lbfgs`) trains a plain network on its own cost, the
lecture's, for ``mlplab train --optimizer lbfgs`` (:func:`fit_network`).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.xp import place, to_numpy
from ..errors import ConfigError
from ._device import array_module, to_device
from ._training import squared_weights

Array = np.ndarray


def pack(coefs: list[Array], intercepts: list[Array]) -> Array:
    """scikit-learn's ``_pack``: the coefficient matrices row by row, then the intercepts; a
    NumPy vector (from another device: joined there, copied back once)."""
    arrays = coefs + intercepts
    if isinstance(arrays[0], np.ndarray):
        return np.hstack([a.ravel() for a in arrays])
    xp = array_module(arrays[0])
    return to_numpy(xp.concat([xp.reshape(a, (-1,)) for a in arrays]))


def unpack(theta: Array, layers) -> None:
    """Write θ into the layers' ``W`` and ``b`` (in place: the network keeps its arrays; on
    another device θ is copied there once)."""
    theta = to_device(theta, place(layers[0].W))
    xp, start = array_module(theta), 0
    for layer in layers:  # coefs_[l − 1] = W⁽ˡ⁾ᵀ, (n_in, n_out)
        end = start + layer.n_in * layer.n_out
        layer.W[...] = xp.reshape(theta[start:end], (layer.n_in, layer.n_out)).T
        start = end
    for layer in layers:
        layer.b[...] = theta[start:start + layer.n_out]
        start += layer.n_out


def loss_and_gradient(est, theta: Array, X: Array, Y: Array, sample_weight) -> tuple[float, Array]:
    """``f(θ)`` and ``∇f(θ)`` (see the module docstring); the network keeps θ's weights."""
    net, layers = est.net_, est._dense()
    xp = array_module(X)
    unpack(theta, layers)
    est._loss.use_weights(sample_weight)
    total = X.shape[0] if sample_weight is None else float(xp.sum(sample_weight))  # Σs
    A = net.forward(X, training=True)
    f = float(net.loss.value(A, Y) + 0.5 * est.alpha * squared_weights(net) / total)
    net.backward(Y)  # δ⁽ᴸ⁾ = a − y (weighted), then the δ recursion down to ∂C/∂W⁽¹⁾
    coef_grads = [layer.dW.T + (est.alpha / total) * layer.W.T for layer in layers]
    if est.l1:
        f += est.l1 * sum(float(xp.sum(xp.abs(layer.W))) for layer in layers)
        coef_grads = [g + est.l1 * xp.sign(layer.W.T) for g, layer in zip(coef_grads, layers)]
    return f, pack(coef_grads, [layer.db for layer in layers])


def _iprint_option(verbose) -> dict:
    """SciPy < 1.15 prints L-BFGS-B's progress through ``iprint``; newer SciPy has no such
    option (scikit-learn passes it only where it exists)."""
    import scipy

    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    if (major, minor) >= (1, 15):
        return {}
    return {"iprint": 1 if verbose is True or verbose >= 1 else -1}


def minimize_lbfgs(layers, fg, *, max_iter: int, max_fun: int, tol: float, verbose=0,
                   after_iteration=None):
    """Run L-BFGS-B from the layers' current weights; they end at its result (or at the
    start, when it reached NaN/inf). ``fg(θ)`` gives ``(f, ∇f)``; ``after_iteration()`` runs
    after each iteration, the layers holding that iterate's weights.

    Returns ``(result, curve, finite)``: SciPy's result, ``f`` after each iteration, and
    whether the result's weights were finite.
    """
    from scipy.optimize import minimize

    theta0 = pack([layer.W.T for layer in layers], [layer.b for layer in layers])
    curve, last = [], {}

    def objective(theta):
        last["f"], g = fg(theta)
        return last["f"], g

    def iterated(theta):  # L-BFGS-B evaluates each new iterate last: f and the weights are its
        curve.append(last["f"])
        if after_iteration is not None:
            after_iteration()

    result = minimize(objective, theta0, method="L-BFGS-B", jac=True, callback=iterated,
                      options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol,
                               **_iprint_option(verbose)})
    finite = bool(np.isfinite(result.x).all())
    unpack(result.x if finite else theta0, layers)
    return result, curve, finite


def fit_lbfgs(est, X: Array, Y: Array, sample_weight) -> None:
    """Minimize ``f`` from the network's current weights; sets ``n_iter_``, ``loss_``,
    ``loss_curve_`` and ``stop_reason_`` on ``est``. The data moves to the network's device."""
    X, Y, sample_weight = (to_device(a, est.net_.place) for a in (X, Y, sample_weight))
    result, curve, finite = minimize_lbfgs(
        est._dense(), lambda theta: loss_and_gradient(est, theta, X, Y, sample_weight),
        max_iter=est.max_iter, max_fun=est.max_fun, tol=est.tol, verbose=est.verbose)
    est.n_iter_ = min(result.nit, est.max_iter)
    est.loss_ = float(result.fun)
    est.loss_curve_ = getattr(est, "loss_curve_", None) or []
    est.loss_curve_.extend(curve)
    est.stop_reason_ = f"L-BFGS-B: {result.message}"
    if not finite:
        est._diverged("L-BFGS-B reached non-finite weights; the weights are those it started "
                      "from", recoverable=False)
    if result.status != 0:
        _warn_not_converged(est.n_iter_, result, est.max_iter)


def fit_network(net, X: Array, Y: Array, *, max_iter: int, tol: float = 1e-4,
                max_fun: int = 15_000, validation_data=None):
    """L-BFGS-B on a network's own cost (the lecture's, no penalty): what
    ``mlplab train --optimizer lbfgs`` runs. Returns a :class:`~mlplab.train.history.History`
    whose epochs are L-BFGS iterations (``loss``, and ``val_loss`` with validation data)."""
    import time

    from ..core.layers import Dense
    from ..train.history import History

    layers = [layer for layer in net.layers if isinstance(layer, Dense)]
    if len(layers) != len(net.layers) - 1:
        raise ConfigError("--optimizer lbfgs trains networks of dense layers only")
    X, Y = np.asarray(X, dtype=net.dtype), np.asarray(Y, dtype=net.dtype).reshape(len(X), -1)
    history = History(backend="scipy-lbfgs")

    def fg(theta):
        unpack(theta, layers)
        A = net.forward(X, training=True)
        f = net.loss.value(A, Y, layers[-1].Z)
        net.backward(Y)  # the δ recursion: ∂C/∂W⁽ˡ⁾, ∂C/∂b⁽ˡ⁾
        return f, pack([layer.dW.T for layer in layers], [layer.db for layer in layers])

    def validate():
        history.val_loss.append(float(net.cost(*validation_data)))

    start = time.perf_counter()
    result, history.loss, finite = minimize_lbfgs(
        layers, fg, max_iter=max_iter, max_fun=max_fun, tol=tol,
        after_iteration=validate if validation_data is not None else None)
    history.time_s = time.perf_counter() - start
    history.epochs = len(history.loss)
    history.converged = result.status == 0
    history.stop_reason = f"L-BFGS-B: {result.message}"
    if not finite:
        history.diverged = {"epoch": history.epochs, "batch": 0, "what": "non-finite weights"}
        history.stop_reason += "; it reached NaN/inf weights: the starting weights are kept"
    net.history = history
    return history


def _warn_not_converged(n_iter: int, result, max_iter: int) -> None:
    """scikit-learn's ``ConvergenceWarning`` for an L-BFGS run that stopped on a limit."""
    from sklearn.exceptions import ConvergenceWarning

    message = (f"lbfgs failed to converge after {n_iter} iteration(s) "
               f"(status={result.status}):\n{result.message}\n")
    if n_iter == max_iter:
        message += (f"\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={max_iter}).")
    message += ("\nYou might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html")
    warnings.warn(message, ConvergenceWarning, stacklevel=4)
