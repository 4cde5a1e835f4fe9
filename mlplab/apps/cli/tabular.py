"""The ``--csv`` paths of ``mlplab train`` and ``mlplab predict``: thin, the work is in
:mod:`mlplab.datasets.csv` and :mod:`mlplab.preprocessing`."""

from __future__ import annotations

import warnings
from pathlib import Path

from ...errors import ConfigError
from .app import console, parse_ints

# the CLI's optimizer names → the estimators' solver arguments
SOLVERS = {"gd": {"solver": "gd"}, "sgd": {"solver": "sgd", "momentum": 0.0},
           "momentum": {"solver": "sgd", "nesterovs_momentum": False},
           "nesterov": {"solver": "sgd", "nesterovs_momentum": True}, "adam": {"solver": "adam"}}


def train_csv_command(csv: Path, target: str | None, hidden: str, activation: str,
                      optimizer: str, lr: float, max_epochs: int, epsilon: float,
                      batch_size: int | None, test_size: float, task: str, seed: int,
                      out: Path | None) -> None:
    from sklearn.exceptions import ConvergenceWarning

    from ...datasets.csv import train_csv
    from ...io.model import save

    if target is None:
        raise ConfigError(f"--csv {csv}: name the column to predict with --target COLUMN")
    if optimizer not in SOLVERS:
        raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(SOLVERS)}")
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        run = train_csv(csv, target, hidden=parse_ints(hidden, "--hidden"), task=task,
                        test_size=test_size, seed=seed, activation=activation,
                        learning_rate_init=lr, max_iter=max_epochs, change_tol=epsilon,
                        batch_size=batch_size or "auto", **SOLVERS[optimizer])
    est = run.estimator
    kinds = [c["kind"] for c in run.encoder.columns]
    console.print(f"{csv}: {run.n_train + run.n_test} rows; {kinds.count('numeric')} numeric "
                  f"and {kinds.count('categorical')} categorical columns → "
                  f"{len(run.encoder.feature_names)} inputs; target {target!r}: {run.target.task}",
                  highlight=False)
    console.print(f"network {run.net.sizes}, {est.n_iter_} epochs: {est.stop_reason_}"
                  + (" (not converged)" if caught else ""), highlight=False)
    console.print(f"held-out {run.n_test} rows ({test_size:.0%}):", highlight=False)
    console.print(run.report, highlight=False, markup=False)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = save(run.net, out / "model.safetensors", extra=run.extra())
        console.print(f"saved {path} (with its column encoding)", highlight=False)


def predict_csv_command(model: Path, csv: Path, output: Path | None) -> None:
    import pandas as pd

    from ...datasets.csv import predict_csv, read_frame
    from ...io import atomic_write, load

    run = predict_csv(load(model), csv)
    if output is not None:
        frame = read_frame(csv)
        frame[f"predicted_{run.target.name}"] = run.predictions
        atomic_write(output, frame.to_csv(index=False), "--output")
        console.print(f"wrote {len(frame)} predictions to {output}", highlight=False)
    else:
        shown = pd.Series(run.predictions, name=f"predicted {run.target.name}")
        shown.index = shown.index + 2  # CSV line numbers: the header is line 1
        console.print(shown.head(20).to_string(), highlight=False, markup=False)
        if len(shown) > 20:
            console.print(f"… {len(shown) - 20} more rows (--output FILE writes all)",
                          highlight=False)
    if run.report:
        console.print(f"against the {run.target.name!r} column of {csv}:", highlight=False)
        console.print(run.report, highlight=False, markup=False)
