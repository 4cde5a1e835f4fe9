"""The ``mlplab`` command line: parses, calls the library, prints. No logic lives only here.

One module per group of commands; importing it registers its commands on :data:`app`.
"""

from . import engine, lab, tour  # noqa: F401  (register the commands)
from . import export, serve, sweep  # noqa: F401
from .app import app, main

__all__ = ["app", "main"]
