"""Which array library the numbers live in: the one place that knows.

The core is written against the Python array API (https://data-apis.org/array-api/): every
module asks :func:`namespace` for ``xp``, the array library of its inputs (NumPy by default;
PyTorch tensors on the CPU or a GPU, CuPy, or ``array_api_strict``, the standard's conformance
check), and calls only what the standard defines (``xp.exp``, ``xp.sum``, ``@``, ...). Random
numbers are always drawn by a seeded ``numpy.random.Generator`` and then moved to the device, so
that the same seed gives the same weights, batches and masks on every library.

A network's parameters live on one *device*: ``"cpu"`` (NumPy, the default), ``"torch"``
(PyTorch tensors on the CPU), ``"cuda"`` / ``"cuda:N"`` (PyTorch tensors on a GPU), ``"cupy"``,
or an array-API namespace module itself (e.g. ``array_api_strict``). Data given to ``fit`` or
``predict`` is moved to the network's device once.
"""

from __future__ import annotations

import types

import numpy as np

from ..errors import ConfigError

Array = object  # an array of any array-API library

__all__ = ["namespace", "Place", "place", "to_numpy", "float_dtype", "is_array_api_obj"]


# NumPy from 2.1 is an array-API namespace itself (the 2023.12 standard): for NumPy arrays
# the core calls it directly. ``array_api_compat.numpy``, NumPy's wrapper, copies all of
# NumPy's names, which imports ``numpy.f2py`` and ``numpy.testing``: 0.2 s and 12 MiB a process.
NUMPY_IS_XP = np.lib.NumpyVersion(np.__version__) >= "2.1.0"
_NUMPY_TYPES = (np.ndarray, np.generic, int, float, bool)


def namespace(*arrays):
    """``xp``: the array-API namespace of ``arrays`` (NumPy for NumPy arrays and scalars)."""
    if NUMPY_IS_XP and all(isinstance(a, _NUMPY_TYPES) for a in arrays):
        return np
    from array_api_compat import array_namespace  # imported on first use: 0.1 s

    return array_namespace(*arrays)


def is_array_api_obj(a) -> bool:
    """True for an array of any array-API library (NumPy, PyTorch, CuPy, ...)."""
    if isinstance(a, np.ndarray):
        return True
    if type(a).__module__.split(".")[0] in ("builtins", "pandas", "numpy"):
        return False
    from array_api_compat import is_array_api_obj as is_array

    return is_array(a)


def _is_numpy(xp) -> bool:
    return xp is np or getattr(xp, "__name__", "") in ("numpy", "array_api_compat.numpy")


class Place:
    """An array library and a device in it: where a network's numbers live.

    Attributes
    ----------
    xp : the array-API namespace (``numpy``, ``array_api_compat.torch``, ...)
    device : that library's device object (None for NumPy)
    name : str, what the user asked for ("cpu", "torch", "cuda:0", ...)
    """

    def __init__(self, xp, device, name: str):
        self._xp, self.device, self.name = xp, device, name

    @property
    def xp(self):
        if self._xp is None:  # NumPy's, made on first use
            self._xp = namespace(np.zeros(0))
        return self._xp

    @property
    def is_numpy(self) -> bool:
        return self._xp is None or _is_numpy(self._xp)

    def asarray(self, a, dtype=None):
        """``a`` (a NumPy array, a list, or an array of another library) as an array here."""
        if not self.is_numpy and not is_array_api_obj(a):
            a = np.asarray(a)
        elif self.is_numpy and is_array_api_obj(a) and not isinstance(a, np.ndarray):
            a = to_numpy(a)
        if dtype is not None:
            dtype = self.dtype(dtype)
        if self.is_numpy:
            return np.asarray(a, dtype=dtype)
        return self.xp.asarray(a, dtype=dtype, device=self.device)

    def dtype(self, name):
        """The library's float dtype for a NumPy dtype or its name ("float32", "float64")."""
        return getattr(self.xp, np.dtype(name).name)

    def __reduce__(self):  # networks are copied and pickled: a Place is remade from its name
        return (place, (self.name,))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Place):
            return False
        if self.is_numpy or other.is_numpy:
            return self.is_numpy and other.is_numpy
        return (self.xp, str(self.device)) == (other.xp, str(other.device))

    def __repr__(self) -> str:
        return f"Place({self.name!r})"


CPU = Place(None, None, "cpu")


def place(device=None) -> Place:
    """The :class:`Place` for a device name, a namespace module, or an array living there."""
    if device is None or isinstance(device, Place):
        return device or CPU
    if is_array_api_obj(device):  # an array: where it lives
        if isinstance(device, np.ndarray):
            return CPU
        xp = namespace(device)
        return CPU if _is_numpy(xp) else Place(xp, _device_of(device), _name_of(device))
    if isinstance(device, types.ModuleType):
        xp = namespace(device.asarray([0.0]))
        return CPU if _is_numpy(xp) else Place(xp, None, device.__name__)
    name = str(device).lower()
    if name in ("cpu", "numpy"):
        return CPU
    if name == "torch" or name.startswith(("cuda", "torch:")):
        torch = _require("torch", "torch", "PyTorch")
        dev = name.split(":", 1)[1] if name.startswith("torch:") else ("cpu" if name == "torch" else name)
        if dev.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: PyTorch sees no CUDA GPU on this machine; use "
                              "device='cpu' (or 'torch' for PyTorch on the CPU)")
        return Place(namespace(torch.zeros(0)), torch.device(dev), name)
    if name == "cupy":
        cupy = _require("cupy", "cupy", "CuPy")
        return Place(namespace(cupy.zeros(0)), None, name)
    if name == "array_api_strict":  # the standard's conformance library (tests)
        return place(_require("array_api_strict", "test", "array_api_strict"))
    raise ConfigError(f"unknown device {device!r}; use 'cpu' (NumPy), 'torch' (PyTorch on the "
                      "CPU), 'cuda' or 'cuda:N' (PyTorch on a GPU), or 'cupy'")


def _require(module: str, extra: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"this device needs {what}, which is not installed; install it with "
                          f"pip install 'mlplab[{extra}]'") from None


def _device_of(a):
    from array_api_compat import device

    return device(a)


def _name_of(a) -> str:
    dev = _device_of(a)
    kind = str(dev)
    if "torch" in type(a).__module__:
        return "torch" if kind == "cpu" else kind
    return type(a).__module__.split(".")[0]


def float_dtype(a) -> np.dtype:
    """The NumPy float dtype that ``a``'s dtype corresponds to: float32 for float32 data,
    float64 for everything else (mlplab's rule: follow the data)."""
    if isinstance(a, np.ndarray):
        return np.dtype(np.float32) if a.dtype == np.float32 else np.dtype(np.float64)
    return np.dtype(np.float32) if a.dtype == namespace(a).float32 else np.dtype(np.float64)


def to_numpy(a) -> np.ndarray:
    """A NumPy array with the values of ``a`` (copied from a GPU when it lives there)."""
    if isinstance(a, np.ndarray) or not is_array_api_obj(a):
        return np.asarray(a)
    if hasattr(a, "detach"):  # PyTorch
        return a.detach().cpu().numpy()
    if hasattr(a, "get"):  # CuPy
        return a.get()
    try:
        return np.asarray(a)
    except (TypeError, ValueError, RuntimeError):  # array_api_strict refuses __array__
        return np.from_dlpack(a)
