"""The ``mlplab`` command line: parses, calls the library, prints. No logic lives only here.

One module per group of commands; importing it registers its commands on :data:`app`.
"""

from . import train, predict, describe, engine, lab, tour, serve  # noqa: F401  (in --help order)
from . import export, sweep  # noqa: F401
from .app import app, main

__all__ = ["app", "main"]
