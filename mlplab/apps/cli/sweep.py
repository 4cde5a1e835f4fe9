"""``mlplab sweep``: a hyperparameter sweep over a CSV on Dask (the work is in
:mod:`mlplab.sklearn.sweep`: :func:`~mlplab.sklearn.sweep.sweep_csv`)."""

from __future__ import annotations

import logging
import signal
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer

from ...core.validation import check_seed
from ...errors import ConfigError
from .app import (check_output, command, console, err_console, output_folder, print_error,
                  user_errors)

# the command line's short names → the estimators' parameters
GRID_NAMES = {"hidden": "hidden_layer_sizes", "lr": "learning_rate_init", "epochs": "max_iter",
              "batch": "batch_size"}


def _value(text: str, name: str):
    """A grid value: ``16x8`` a tuple of layer sizes, else an int, a float or a word."""
    text = text.strip()
    if name == "hidden_layer_sizes":
        try:
            sizes = tuple(int(n) for n in text.split("x"))
        except ValueError:
            raise ConfigError(f"--grid hidden: {text!r} is not layer sizes like 16 or 32x16") from None
        return sizes
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_grid(items: list[str]) -> dict:
    """``["hidden=8,16", "lr=0.001,0.01"]`` → ``{"hidden_layer_sizes": [(8,), (16,)], …}``."""
    grid = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = GRID_NAMES.get(name.strip(), name.strip())
        if not sep or not name or not values.strip():
            raise ConfigError(f"--grid {item!r} must look like NAME=V1,V2 (e.g. hidden=8,16,32 "
                              "or lr=0.001,0.01)")
        _check_name(name)
        if name in grid:
            raise ConfigError(f"--grid names {name!r} twice; list all its values once")
        grid[name] = [_value(v, name) for v in values.split(",") if v.strip()]
    if not grid:
        raise ConfigError("give at least one --grid NAME=V1,V2 (e.g. --grid hidden=8,16,32)")
    return grid


def _check_name(name: str) -> None:
    """An unknown --grid name: the short names first, a close match if there is one."""
    from ...sklearn import MLPClassifier, MLPRegressor

    known = set(MLPClassifier().get_params()) | set(MLPRegressor().get_params())
    if name in known:
        return
    import difflib

    short = ", ".join(GRID_NAMES)
    close = difflib.get_close_matches(name, [*GRID_NAMES, *known], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"--grid: unknown name {name!r}; {hint}use {short} (short names), or any "
                      f"estimator parameter: {', '.join(sorted(known - set(GRID_NAMES.values())))}")


def _short(params: dict) -> dict:
    """Parameters under the command line's names, values as typed: ``hidden`` → ``16x8``."""
    names = {v: k for k, v in GRID_NAMES.items()}
    return {names.get(k, k): "x".join(map(str, v)) if isinstance(v, tuple) else str(v)
            for k, v in params.items()}


def _described(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in _short(params).items())


def _show_progress(p) -> None:
    err_console.print(f"fits {p.done}/{p.total}  best so far {p.best_score:.4f} "
                      f"({_described(p.best_params)})",
                      highlight=False, markup=False)


def _show_cluster(info) -> None:
    where = "embedded LocalCluster" if info.embedded else "cluster"
    dashboard = info.dashboard or "none (the scheduler needs pip install 'bokeh>=3.1')"
    err_console.print(f"{where} {info.address}: {info.workers} workers, {info.threads} threads; "
                      f"dashboard: {dashboard}", highlight=False, markup=False)


def _table(result, top: int):
    """The ``top`` candidates, best first, as a rich Table."""
    from rich.table import Table

    from ...sklearn.sweep import ranked

    rows = ranked(result.search, top)
    table = Table(title=f"{len(result.search.cv_results_['params'])} candidates, best first "
                  f"(mean CV {result.scoring} ± std over {result.search.n_splits_} folds)")
    for column in ["rank", *_short(rows[0]["params"]), result.scoring, "fit s"]:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(str(row["rank"]), *_short(row["params"]).values(),
                      f"{row['mean']:.4f} ± {row['std']:.4f}", f"{row['fit_time']:.2f}")
    return table


@command()
def sweep(
    csv: Path = typer.Option(..., help="Any CSV table (encoded as 'train --csv' does)."),
    target: str = typer.Option(..., help="The column to predict."),
    grid: List[str] = typer.Option(..., help="NAME=V1,V2,… to try, repeatable: hidden=8,16,32x16 "
                                   "(layer sizes), lr=0.001,0.01, alpha=…, activation=relu,tanh, "
                                   "epochs=…, batch=…, or any estimator parameter."),
    cv: int = typer.Option(5, help="Cross-validation folds."),
    scoring: Optional[str] = typer.Option(None, help="scikit-learn scorer name (default "
                                          "accuracy, or r2 for regression)."),
    n_iter: Optional[int] = typer.Option(None, help="Try this many random candidates instead "
                                         "of the whole grid."),
    scheduler: Optional[str] = typer.Option(None, help="tcp://HOST:PORT of a running Dask "
                                            "scheduler (default: an embedded LocalCluster)."),
    n_jobs: Optional[int] = typer.Option(None, help="1: serial, no Dask; N: an embedded "
                                         "cluster of N workers (default: one per core)."),
    task: str = typer.Option("auto", help="auto, classification or regression."),
    activation: str = typer.Option("relu", help="Hidden activation when not swept."),
    max_epochs: int = typer.Option(200, help="Epochs per fit when not swept."),
    seed: int = typer.Option(0, help="Seed of every fit (and of --n-iter's draws)."),
    top: int = typer.Option(10, help="Rows of the ranked table."),
    out: Optional[Path] = typer.Option(None, help="Folder for the best model "
                                       "(model.safetensors, as 'train --out'), cv_results.csv "
                                       "and sweep.png."),
):
    """Cross-validate every combination of the --grid values, on Dask; save the best model."""
    from sklearn.exceptions import ConvergenceWarning

    from ...sklearn.sweep import sweep_csv

    with user_errors():
        check_output(out, "--out", "folder")
        _check_numbers(cv=cv, n_iter=n_iter, max_epochs=max_epochs, seed=seed, top=top)
        embedded = scheduler is None and n_jobs != 1
        with warnings.catch_warnings(), _workers_ignore_ctrl_c(embedded) as started:
            warnings.simplefilter("ignore", ConvergenceWarning)  # short fits stop at max_iter
            result = sweep_csv(csv, target, parse_grid(grid), task=task, scoring=scoring,
                               estimator_params={"activation": activation,
                                                 "max_iter": max_epochs},
                               cv=cv, n_iter=n_iter, seed=seed, scheduler=scheduler,
                               n_jobs=n_jobs, progress=_show_progress,
                               on_cluster=lambda info: (started(), _show_cluster(info)))
        console.print(_table(result, top))
        search = result.search
        console.print(f"best: {_described(search.best_params_)} (mean CV {result.scoring} "
                      f"{search.best_score_:.4f})", highlight=False, markup=False)
        if out is not None:
            _save(result, out)


@contextmanager
def _workers_ignore_ctrl_c(embedded: bool):
    """Ctrl-C in a terminal signals every process of the command: the embedded cluster's
    worker processes, started with it ignored, leave it to this one, which stops the sweep
    and shuts them down (each printed a traceback of its own). Yields the function to call
    once the cluster is up: this process takes Ctrl-C again from then on."""
    ignoring = embedded and threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def started() -> None:
        if ignoring:
            signal.signal(signal.SIGINT, _interrupt)

    if ignoring:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    level = logging.getLogger("distributed").level
    try:
        yield started
    except KeyboardInterrupt:
        print_error("interrupted (Ctrl-C): the sweep stopped; nothing was saved")
        raise typer.Exit(130) from None
    finally:
        logging.getLogger("distributed").setLevel(level)
        if ignoring:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupt(signum, frame):
    """Ctrl-C while the cluster runs. The cluster's shutdown may then log connections that
    its stopped workers closed as errors, with tracebacks (one from distributed's tcp.py was
    seen once on a busy machine): this process's are silenced until the sweep has ended."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    raise KeyboardInterrupt


def _check_numbers(**options) -> None:
    """The plain-number options, checked before the CSV is read or a cluster starts."""
    lowest = {"cv": (2, "2 folds"), "n_iter": (1, "1 candidate"), "max_epochs": (1, "1 epoch"),
              "top": (1, "1 row")}
    check_seed(options.pop("seed"), "--seed")
    for name, value in options.items():
        low, text = lowest[name]
        if value is not None and value < low:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least {text}, got {value}")


def _save(result, out: Path) -> None:
    import pandas as pd

    from ...io import atomic_write, save
    from ...lab.plots.sweep import scores_by_parameter

    output_folder(out)
    path = save(result.search.best_estimator_.net_, out / "model.safetensors",
                extra=result.extra())
    atomic_write(out / "cv_results.csv", pd.DataFrame(result.search.cv_results_).to_csv(
        index=False), "sweep results")
    figure = scores_by_parameter(result.search.cv_results_, out / "sweep.png",
                                 score_name=result.scoring)
    console.print(f"saved {path} (best model, with its column encoding), "
                  f"{out / 'cv_results.csv'} and {figure}", highlight=False)
