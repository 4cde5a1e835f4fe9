"""What a trace is made of: named steps (symbol, formula, value) and the cost.

:func:`mlplab.core.trace.trace` (a sample through dense layers) and
:func:`mlplab.core.image_trace.trace_image` (an image through a convolutional network) both
return a :class:`Trace`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass
class TraceStep:
    symbol: str
    formula: str
    value: Array

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "formula": self.formula, "value": self.value.tolist()}


@dataclass
class Trace:
    steps: list[TraceStep]
    cost: float

    def __getitem__(self, symbol: str) -> Array:
        for s in self.steps:
            if s.symbol == symbol:
                return s.value
        raise KeyError(symbol)

    def as_dict(self) -> dict:
        return {"cost": self.cost, "steps": [s.as_dict() for s in self.steps]}

    def __str__(self) -> str:
        out = []
        with np.printoptions(precision=6, suppress=True, linewidth=100):
            for s in self.steps:
                value = str(s.value)
                if "\n" in value:
                    value = "\n" + "\n".join("      " + row for row in value.splitlines())
                out.append(f"{s.symbol:<10} = {s.formula:<38} = {value}")
        out.append(f"C = {self.cost:.6g}")
        return "\n".join(out)


def _sup(l: int | str) -> str:
    return "⁽" + str(l).translate(str.maketrans("0123456789L", "⁰¹²³⁴⁵⁶⁷⁸⁹ᴸ")) + "⁾"
