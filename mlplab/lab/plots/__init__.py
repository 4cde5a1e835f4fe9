"""Figures (matplotlib, saved as PNG). One module per kind of picture; import from it directly.

- :mod:`~mlplab.plots.boundary`: decision boundary of any 2-D model (heat map, 0.5 contour, points);
- :mod:`~mlplab.plots.warp`: the hidden-space warp (input plane | hidden space);
- :mod:`~mlplab.plots.diagram`: the network diagram, connections coloured and thickened by weight;
- :mod:`~mlplab.plots.perceptron`: the perceptron's dancing line (GIF and still), mistakes per epoch;
- :mod:`~mlplab.plots.curves`: loss curves and the universal-approximation panel.

:mod:`mlplab.plots.style` holds the shared look: a colour-blind-safe palette (Okabe–Ito),
readable font sizes, and :func:`~mlplab.plots.style.save` that writes a PNG and closes it.
"""
