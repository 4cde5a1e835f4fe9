"""Accelerators: the same numbers as :mod:`mlplab.core`, faster. Chosen automatically, tested
equal to the core, switched off with ``MLPLAB_ACCEL=off``."""
