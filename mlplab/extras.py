"""Optional dependencies: import one, or say which extra installs it.

The heavy packages behind a few features are extras of the ``mlplab`` distribution
(``pip install 'mlplab[dask]'``, ``'mlplab[onnx]'``, ``'mlplab[torch]'``); the base install
does not pull them. A feature imports its package with :func:`require` at the moment it is
used, so a missing one is one clear :class:`~mlplab.errors.ConfigError`, never an
``ImportError`` deep inside.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise a ConfigError naming the extra that installs it.

    Parameters
    ----------
    module : str
        The import name, e.g. ``"onnxruntime"`` or ``"dask.distributed"``.
    extra : str
        mlplab's extra that installs it, e.g. ``"onnx"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = (exc.name or module).split(".")[0]
        raise ConfigError(f"this needs the optional package {top!r}, which is not installed: "
                          f"pip install 'mlplab[{extra}]'") from None
