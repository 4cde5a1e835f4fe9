"""A sweep's score against each swept parameter (one panel per parameter)."""

from __future__ import annotations

import numbers
from typing import Mapping

import numpy as np

from .style import PALETTE, figure, save


def _label(value) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value)) if value else "()"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _axis(values: list) -> tuple[list, np.ndarray, bool]:
    """The distinct values in plotting order, each candidate's x position, and whether the
    axis is a numeric log scale (positive numbers spanning a factor of 10 or more)."""
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    distinct = sorted(set(values)) if numeric else list(dict.fromkeys(map(_label, values)))
    if numeric:
        log = min(distinct) > 0 and max(distinct) >= 10 * min(distinct)
        return distinct, np.asarray(values, float), log
    position = {v: i for i, v in enumerate(distinct)}
    return distinct, np.array([position[_label(v)] for v in values], float), False


def scores_by_parameter(cv_results: Mapping, path, *, score_name: str = "score"):
    """Mean cross-validated score of every candidate against each swept parameter.

    Each panel shows every candidate as a dot (its mean score over the folds) and, for each
    value of the panel's parameter, the best candidate having it (line, with ± one standard
    deviation over the folds as an error bar): how far that value alone can take the score.

    Parameters
    ----------
    cv_results : dict
        scikit-learn's ``cv_results_`` (``param_*``, ``mean_test_score``, ``std_test_score``).
    path : str or path-like
        The PNG to write.
    score_name : str
        The y axis label (e.g. ``"accuracy"``).
    """
    names = [key[len("param_"):] for key in cv_results if key.startswith("param_")]
    mean = np.asarray(cv_results["mean_test_score"], float)
    std = np.asarray(cv_results["std_test_score"], float)
    fig, axes = figure(1, len(names), figsize=(4.2 * len(names) + 0.6, 3.8), squeeze=False,
                       sharey=True)
    for ax, name in zip(axes[0], names):
        values = list(cv_results[f"param_{name}"])
        distinct, x, log = _axis(values)
        ax.scatter(x, mean, s=22, color=PALETTE[0], alpha=0.45, label="candidate", zorder=2)
        ranked = np.nan_to_num(mean, nan=-np.inf)  # a failed fit's NaN is never the best
        best = [idx[np.argmax(ranked[idx])] for idx in (np.flatnonzero(x == xv)
                                                        for xv in np.unique(x))]
        ax.errorbar(x[best], mean[best], yerr=std[best], color=PALETTE[5], lw=2, marker="o",
                    capsize=4, label="best with this value", zorder=3)
        if log:
            ax.set_xscale("log")
        if log or not all(isinstance(v, numbers.Real) for v in distinct):
            ax.set_xticks(np.unique(x), [_label(v) for v in distinct])
            ax.minorticks_off()
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(f"mean CV {score_name}")
    fig.suptitle(f"{score_name} against each swept parameter ({len(mean)} candidates)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=2,
               frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))  # room for the legend below the panels
    return save(fig, path)
