"""Where the layers above plug into the core, which never imports them.

The core computes everything itself, plainly. Two things come from above:

- the training loop: :mod:`mlplab.train` sets :data:`TRAINER` to its ``fit``, so that
  ``net.fit(...)`` works as a method of the core's network;
- checkpoints: :mod:`mlplab.io` sets :data:`CHECKPOINTER`, the loop hook that
  ``fit(checkpoint=PATH)`` builds (crash-safe files are io's business, not training's);
- accelerators: :mod:`mlplab.accel` adds itself to :data:`ACCELERATORS`. Before the core
  predicts, it offers the work to each one (``accelerator.predict(net, X)``, which returns None
  when it does not apply); the training loop asks them for a faster training step in the same
  way. Each is tested equal to the core. ``MLPLAB_ACCEL=off`` in the environment, or
  ``accelerate=False`` where a function takes it, leaves the core alone.

``import mlplab`` (which every import of an ``mlplab`` module runs first) imports all three.
"""

from __future__ import annotations

import os

TRAINER = None  # mlplab.train.loop.fit, once mlplab.train is imported
CHECKPOINTER = None  # mlplab.io.checkpoint.Checkpointer: fit(checkpoint=PATH) builds one
ACCELERATORS: list = []  # objects with predict(net, X) and step(net, optimizer, ...) methods


def accelerators(accelerate: bool | None = None) -> list:
    """The accelerators to try: none when switched off by argument or by ``MLPLAB_ACCEL=off``."""
    if accelerate is False or (accelerate is None and
                               os.environ.get("MLPLAB_ACCEL", "").lower() in ("off", "0", "no")):
        return []
    return ACCELERATORS
