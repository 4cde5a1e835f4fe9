"""mlplab: the lecture's neural networks, executable, exact and fast.

>>> import mlplab
>>> net = mlplab.Network([2, 2, 1], activation="sigmoid", loss="mse", seed=1)
>>> X, Y = mlplab.datasets.xor()
>>> history = net.fit(X, Y, optimizer="gd", learning_rate=1.0, epsilon=1e-4, max_epochs=50_000)
>>> net.score(X, Y)
1.0

The package is layered; each layer imports only those before it:

- ``mlplab.core``: the lecture's equations (activations, losses, layers, network, optimizers,
  gradcheck, trace), written against the array API;
- ``mlplab.accel``: what makes the core fast, behind one boundary, tested equal to the core;
- ``mlplab.train``: the training loop (the lecture's 7 steps) and what watches it;
- ``mlplab.io``: model files and checkpoints;
- ``mlplab.datasets``, ``mlplab.sklearn``, ``mlplab.lab``: data, scikit-learn estimators, the
  lecture's experiments; ``mlplab.apps``: the command line and the playground.

Names are imported on first use, so that ``import mlplab`` (and the command line) stays fast.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.2.0"

# public name -> the module that defines it
_EXPORTS = {
    "Network": "mlplab.core.network", "gradcheck": "mlplab.core.gradcheck",
    "trace": "mlplab.core.trace",
    "fit": "mlplab.train.loop", "History": "mlplab.train.loop",
    "Callback": "mlplab.train.callbacks", "EarlyStopping": "mlplab.train.callbacks",
    "EpochHook": "mlplab.train.callbacks", "TerminateOnNaN": "mlplab.train.callbacks",
    "save": "mlplab.io.model", "load": "mlplab.io.model",
    "load_checkpoint": "mlplab.io.checkpoint",
    "MLPClassifier": "mlplab.sklearn", "MLPRegressor": "mlplab.sklearn",
    "Perceptron": "mlplab.sklearn.perceptron",
    "MlplabError": "mlplab.errors", "ConfigError": "mlplab.errors", "DataError": "mlplab.errors",
    "ModelFileError": "mlplab.errors", "DivergenceError": "mlplab.errors",
    "NotFittedError": "mlplab.errors", "sweep": "mlplab.sklearn.sweep",
}
# short module names users write (and mlplab's earlier, flat layout) -> where they live now
ALIASES = {
    "mlplab.activations": "mlplab.core.activations", "mlplab.losses": "mlplab.core.losses",
    "mlplab.initializers": "mlplab.core.initializers", "mlplab.layers": "mlplab.core.layers",
    "mlplab.network": "mlplab.core.network", "mlplab.optimizers": "mlplab.core.optimizers",
    "mlplab.validation": "mlplab.core.validation",
    "mlplab.training": "mlplab.train.loop", "mlplab.callbacks": "mlplab.train.callbacks",
    "mlplab.regularizers": "mlplab.train.regularizers", "mlplab.clipping": "mlplab.train.clipping",
    "mlplab.monitor": "mlplab.train.monitor", "mlplab.divergence": "mlplab.train.divergence",
    "mlplab.checkpoint": "mlplab.io.checkpoint", "mlplab.export": "mlplab.io.export",
    "mlplab.experiments": "mlplab.lab.experiments", "mlplab.plots": "mlplab.lab.plots",
    "mlplab.tour": "mlplab.lab.tour", "mlplab.estimators": "mlplab.sklearn",
    "mlplab.perceptron": "mlplab.sklearn.perceptron", "mlplab.metrics": "mlplab.sklearn.metrics",
    "mlplab.preprocessing": "mlplab.datasets.preprocessing",
    "mlplab.cli": "mlplab.apps.cli", "mlplab.playground": "mlplab.apps.playground",
}
_SUBMODULES = {name.split(".")[1] for name in ALIASES} | {
    "core", "accel", "train", "io", "datasets", "sklearn", "lab", "apps", "errors"}


def _target(fullname: str) -> str | None:
    for alias, target in ALIASES.items():
        if fullname == alias or fullname.startswith(alias + "."):
            return target + fullname[len(alias):]
    return None


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``mlplab.layers`` (say) as the very module ``mlplab.core.layers``."""

    def find_spec(self, fullname, path=None, target=None):
        real = _target(fullname)
        if real is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        module = importlib.import_module(_target(spec.name))
        spec.loader_state = module.__spec__  # the import system sets __spec__ to the alias's
        return module

    def exec_module(self, module):  # already executed under its own name: keep its spec
        module.__spec__ = module.__spec__.loader_state


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())

# the layers above the core plug into it (mlplab.core.plugins): the training loop, checkpoints,
# accelerators. Each imports NumPy and little else.
from . import accel, io, train  # noqa: E402,F401


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"mlplab.{name}")
    else:
        raise AttributeError(f"module 'mlplab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)


__all__ = [*_EXPORTS, "datasets", "callbacks", "metrics", "regularizers", "__version__"]
