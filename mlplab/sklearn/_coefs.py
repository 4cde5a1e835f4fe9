"""scikit-learn's ``coefs_`` and ``intercepts_`` over an estimator's network (``net_``).

mlplab's ``W⁽ˡ⁾`` is ``(n_out, n_in)`` as in the lecture; scikit-learn's ``coefs_[i]`` is
``(n_in, n_out)``, so ``coefs_[l − 1]`` is ``W⁽ˡ⁾ᵀ`` and ``intercepts_[l − 1]`` is ``b⁽ˡ⁾``. On
NumPy they are views: writing into one writes into the network. On another device they are
NumPy copies. Assigning ``coefs_`` or one of its items copies into ``W`` on either (the shapes
checked).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core.layers import Dense
from ..errors import ConfigError, DataError
from ._device import host_copy, put
from ._validation import check_fitted


class LayerArrays(list):
    """``coefs_`` or ``intercepts_`` of a fitted estimator: views of the network's arrays.

    Writing into an item writes into the network; assigning an item (``coefs_[0] = A``)
    copies ``A`` in, which must have the item's shape. On another device the items are NumPy
    copies and ``targets`` the network's arrays, which an assigned item is copied into.
    """

    def __init__(self, items, targets=None):
        super().__init__(items)
        self.targets = targets

    def __setitem__(self, i, value):
        if not isinstance(i, numbers.Integral):
            raise ConfigError("assign coefs_/intercepts_ items one at a time (coefs_[0] = A) "
                              "or the whole list (coefs_ = [A1, A2, ...])")
        value = np.asarray(value)
        if value.shape != self[i].shape:
            raise DataError(f"item {i} must have shape {self[i].shape} (the network's), "
                            f"got {value.shape}")
        self[i][...] = value
        if self.targets is not None:
            put(self.targets[i], value)


class LayerAttributes:
    """``coefs_``, ``intercepts_`` and the dense layers of ``self.net_``, for the estimators."""

    @property
    def coefs_(self) -> list[np.ndarray]:
        """``coefs_[i]`` of shape ``(n_in, n_out)``: the transpose of mlplab's ``W⁽ⁱ⁺¹⁾``."""
        return self._layer_arrays("coefs", lambda layer: layer.W.T)

    @coefs_.setter
    def coefs_(self, value) -> None:
        self.__dict__["_assigned_coefs"] = value  # copied in when the network is next used

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """``intercepts_[i]`` of shape ``(n_out,)``: mlplab's ``b⁽ⁱ⁺¹⁾``."""
        return self._layer_arrays("intercepts", lambda layer: layer.b)

    @intercepts_.setter
    def intercepts_(self, value) -> None:
        self.__dict__["_assigned_intercepts"] = value

    def _layer_arrays(self, name: str, view) -> list[np.ndarray]:
        # a list assigned by hand stays what the attribute reads until the network takes it,
        # so that scikit-learn's idiom `est.coefs_ = [0] * 2; est.coefs_[0] = A` works
        assigned = self.__dict__.get(f"_assigned_{name}")
        if assigned is not None:
            return assigned
        check_fitted(self, "net_")
        arrays = [view(layer) for layer in self._dense()]
        if self.net_.place.is_numpy:
            return LayerArrays(arrays)
        return LayerArrays([host_copy(a) for a in arrays], targets=arrays)

    def _take_assigned(self) -> None:
        """Copy hand-assigned ``coefs_``/``intercepts_`` into the network (shapes checked)."""
        for name, param in (("coefs", lambda layer: layer.W.T), ("intercepts", lambda l: l.b)):
            assigned = self.__dict__.pop(f"_assigned_{name}", None)
            if assigned is None:
                continue
            targets = [param(layer) for layer in self._dense()]
            shapes = [tuple(t.shape) for t in targets]
            arrays = [np.asarray(a) for a in assigned] if len(assigned) == len(targets) else []
            if [a.shape for a in arrays] != shapes:
                raise DataError(f"{name}_ must be a list of arrays of shapes {shapes} for this "
                                f"network, got {[np.shape(a) for a in assigned]}")
            for target, array in zip(targets, arrays):
                put(target, array)

    def _dense(self) -> list[Dense]:
        return [layer for layer in self.net_.layers if isinstance(layer, Dense)]
