"""Figures (matplotlib, saved as PNG). One module per kind of picture; import from it directly.

:mod:`mlplab.plots.style` holds the shared look: a colour-blind-safe palette (Okabe–Ito),
readable font sizes, and :func:`~mlplab.plots.style.save` that writes a PNG and closes it.
"""
