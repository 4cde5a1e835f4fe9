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
"""

from __future__ import annotations

import warnings

import numpy as np

from ._training import squared_weights

Array = np.ndarray


def pack(coefs: list[Array], intercepts: list[Array]) -> Array:
    """scikit-learn's ``_pack``: the coefficient matrices row by row, then the intercepts."""
    return np.hstack([a.ravel() for a in coefs + intercepts])


def unpack(theta: Array, layers) -> None:
    """Write θ into the layers' ``W`` and ``b`` (in place: the network keeps its arrays)."""
    start = 0
    for layer in layers:  # coefs_[l − 1] = W⁽ˡ⁾ᵀ, (n_in, n_out)
        end = start + layer.W.size
        layer.W[...] = theta[start:end].reshape(layer.n_in, layer.n_out).T
        start = end
    for layer in layers:
        layer.b[...] = theta[start:start + layer.n_out]
        start += layer.n_out


def loss_and_gradient(est, theta: Array, X: Array, Y: Array, sample_weight) -> tuple[float, Array]:
    """``f(θ)`` and ``∇f(θ)`` (see the module docstring); the network keeps θ's weights."""
    net, layers = est.net_, est._dense()
    unpack(theta, layers)
    est._loss.use_weights(sample_weight)
    total = len(X) if sample_weight is None else float(sample_weight.sum())  # Σs
    A = net.forward(X, training=True)
    f = net.loss.value(A, Y) + 0.5 * est.alpha * squared_weights(net) / total
    net.backward(Y)  # δ⁽ᴸ⁾ = a − y (weighted), then the δ recursion down to ∂C/∂W⁽¹⁾
    coef_grads = [layer.dW.T + (est.alpha / total) * layer.W.T for layer in layers]
    if est.l1:
        f += est.l1 * sum(float(np.abs(layer.W).sum()) for layer in layers)
        coef_grads = [g + est.l1 * np.sign(layer.W.T) for g, layer in zip(coef_grads, layers)]
    return f, pack(coef_grads, [layer.db for layer in layers])


def _iprint_option(verbose) -> dict:
    """SciPy < 1.15 prints L-BFGS-B's progress through ``iprint``; newer SciPy has no such
    option (scikit-learn passes it only where it exists)."""
    import scipy

    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    if (major, minor) >= (1, 15):
        return {}
    return {"iprint": 1 if verbose is True or verbose >= 1 else -1}


def fit_lbfgs(est, X: Array, Y: Array, sample_weight) -> None:
    """Minimize ``f`` from the network's current weights; sets ``n_iter_``, ``loss_``,
    ``loss_curve_`` and ``stop_reason_`` on ``est``."""
    from scipy.optimize import minimize

    layers = est._dense()
    theta0 = pack([layer.W.T for layer in layers], [layer.b for layer in layers])
    curve = []

    def objective(theta):
        f, g = loss_and_gradient(est, theta, X, Y, sample_weight)
        objective.f = f
        return f, g

    result = minimize(objective, theta0, method="L-BFGS-B", jac=True,
                      callback=lambda theta: curve.append(objective.f),  # f at that iterate
                      options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol,
                               **_iprint_option(est.verbose)})
    est.n_iter_ = min(result.nit, est.max_iter)
    est.loss_ = float(result.fun)
    est.loss_curve_ = getattr(est, "loss_curve_", None) or []
    est.loss_curve_.extend(curve)
    est.stop_reason_ = f"L-BFGS-B: {result.message}"
    unpack(result.x if np.isfinite(result.x).all() else theta0, layers)
    if not np.isfinite(result.x).all():
        est._diverged("L-BFGS-B reached non-finite weights; the weights are those it started "
                      "from", recoverable=False)
    if result.status != 0:
        _warn_not_converged(est.n_iter_, result, est.max_iter)


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
