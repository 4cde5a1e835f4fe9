"""How do you prevent overfitting? Measure it: a big network on 40 noisy points, then each cure.

Protocol (every number averaged over ``seeds`` draws of the data and of the initial weights):

- data: ``n_train`` noisy moons (noise 0.4) for training, 2000 fresh points from the same
  distribution for testing;
- baseline: a 2-100-100-1 ReLU network (He init, cross-entropy) trained full-batch with Adam
  for 2000 epochs: it memorizes the noise;
- the same network and budget with one regularizer each (L2, L1, dropout, early stopping on
  a 25 % stratified validation split, Gaussian input noise, max-norm) and with 25× more data;
- a learning curve (error vs training-set size) and a capacity curve (error vs hidden width).

"Train accuracy" is measured on the points the network was fitted to (the 30 non-validation
points for early stopping, the 1000 points for more data); the gap is train − test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...train.callbacks import Callback, EarlyStopping
from ...datasets import moons, validation_split
from ...core.layers import Dense, with_dropout
from ...core.network import Network
from ...train.regularizers import L1, L2, InputNoise, MaxNorm

NAME = "overfitting"
ORDER = 60
TITLE = "Overfitting and how to prevent it"
TITLE_ZH = "过拟合与正则化"
CLAIM = ("Learning is not just optimization: a network that drives its training loss to zero "
         "can do worse on new data, and regularization (weight penalties, dropout, early "
         "stopping, noise, more data) trades a little training accuracy for generalization.")

NOISE = 0.4
N_TEST = 2000
SMALL = 0.01  # a weight counts as "near zero" below this magnitude (for the L1 sparsity)
# The strength of each regularizer (one value each, chosen by hand for this data set).
L2_LAMBDA, L1_LAMBDA, DROPOUT_P, NOISE_STD, MAX_NORM_C = 0.01, 0.01, 0.7, 0.25, 1.0
VAL_SIZE, PATIENCE = 0.25, 100


@dataclass(frozen=True)
class Setup:
    """The sizes of one run; ``quick`` shrinks the curves and the seeds, not the protocol."""

    seeds: int = 5
    n_train: int = 40
    width: int = 100
    epochs: int = 2000
    learning_rate: float = 0.01
    more_data: int = 1000
    sizes: tuple = (10, 20, 40, 100, 250, 1000)
    widths: tuple = (1, 2, 4, 8, 16, 32, 100)


QUICK = Setup(seeds=3, more_data=400, sizes=(10, 40, 400), widths=(1, 4, 100))

# method → (label, the one-sentence reason it works, strength shown in the table)
METHODS = {
    "baseline": ("no regularization", "Nothing stops the network from bending its boundary "
                 "around every noisy point.", ""),
    "l2": ("L2 weight decay", "Penalizing ½λ‖W‖² keeps weights small, so the function stays "
           "smooth and cannot bend sharply around single points.", f"λ = {L2_LAMBDA:g}"),
    "l1": ("L1 penalty", "Penalizing λΣ|W| pulls every weight toward zero at a constant rate, "
           "so only the few weights the data strongly needs survive: too few to memorize noise.",
           f"λ = {L1_LAMBDA:g}"),
    "dropout": ("dropout", "Randomly silencing hidden units stops them co-adapting to fit "
                "particular points; training averages many thinned networks.",
                f"p = {DROPOUT_P:g}"),
    "early_stopping": ("early stopping", "Training stops when the loss on held-out data "
                       "starts rising, before the network has time to fit the noise.",
                       f"patience {PATIENCE}, {VAL_SIZE:.0%} validation"),
    "noise": ("input-noise augmentation", "Every epoch sees each point jittered, so the "
              "boundary must be right in a neighbourhood, not just at the point.",
              f"σ = {NOISE_STD:g}"),
    "max_norm": ("max-norm constraint", "Capping each neuron's incoming weight norm bounds "
                 "how steeply its output can change, limiting sharp wiggles.",
                 f"c = {MAX_NORM_C:g}"),
    "more_data": ("more data", "With many points the noise averages out: memorizing it no "
                  "longer pays, so the boundary follows the true shape.", "{more}× the points"),
}


def data(n: int, seed: int):
    """``n`` noisy training moons and the fixed test set of the same distribution."""
    X, y = moons(n, NOISE, seed=seed)
    X_test, y_test = moons(N_TEST, NOISE, seed=10_000 + seed)
    return X, y, X_test, y_test


def network(width: int, seed: int) -> Network:
    """The over-sized model: two hidden ReLU layers of ``width`` units."""
    return Network([2, width, width, 1], activation="relu", loss="cross_entropy",
                   init="he_normal", seed=seed)


class Watch(Callback):
    """Watches the test set: train/test loss and accuracy every ``every`` epochs (for the curves)."""

    def __init__(self, X, y, X_test, y_test, every: int = 10):
        self.sets, self.every = ((X, y), (X_test, y_test)), every
        self.epochs, self.train_loss, self.test_loss = [], [], []
        self.train_acc, self.test_acc = [], []

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch > 100 and epoch % self.every:  # every epoch early: the x axis is logarithmic
            return
        net = trainer.net
        (X, y), (Xt, yt) = self.sets
        self.epochs.append(epoch)
        self.train_loss.append(logs["loss"])
        self.test_loss.append(net.cost(Xt, yt))
        self.train_acc.append(net.score(X, y))
        self.test_acc.append(net.score(Xt, yt))


def train(method: str, seed: int, setup: Setup, n: int | None = None, width: int | None = None,
          callbacks: tuple = (), cache: dict | None = None) -> dict:
    """Fit one network with ``method``; returns its accuracies, the net and its fitted data.

    ``cache`` (a dict) reuses identical runs: the baseline is also a point of both curves.
    """
    n = n or (setup.more_data if method == "more_data" else setup.n_train)
    width = width or setup.width
    method = "baseline" if method == "more_data" else method  # same recipe, more points
    key = (method, seed, n, width)
    if cache is not None and key in cache and not callbacks:
        return cache[key]
    X, y, X_test, y_test = data(n, seed)
    net = network(width, seed)
    cbs, val = list(callbacks), None
    if method == "l2":
        cbs.append(L2(L2_LAMBDA))
    elif method == "l1":
        cbs.append(L1(L1_LAMBDA))
    elif method == "dropout":
        net = with_dropout(net, p=DROPOUT_P, seed=seed)
    elif method == "noise":
        cbs.append(InputNoise(NOISE_STD, seed=seed))
    elif method == "max_norm":
        cbs.append(MaxNorm(MAX_NORM_C, include_output=True))
    elif method == "early_stopping":
        X, y, val = validation_split(X, y, VAL_SIZE, seed=seed)
        cbs.append(EarlyStopping("val_loss", patience=PATIENCE, restore_best_weights=True))
    history = net.fit(X, y, optimizer="adam", learning_rate=setup.learning_rate,
                      max_epochs=setup.epochs, epsilon=None, callbacks=cbs,
                      validation_data=val, seed=seed)
    train_acc, test_acc = net.score(X, y), net.score(X_test, y_test)
    W = np.concatenate([layer.W.ravel() for layer in net.layers if isinstance(layer, Dense)])
    result = {"train_acc": train_acc, "test_acc": test_acc, "gap": train_acc - test_acc,
              "small_weights": float(np.mean(np.abs(W) < SMALL)),
              "epochs": history.epochs, "best_epoch": history.best_epoch, "net": net,
              "X": X, "y": y, "history": history}
    if cache is not None:
        cache[key] = result
    return result


def _mean_std(values) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values))


def compare(setup: Setup, seed: int = 0, cache: dict | None = None) -> tuple[dict, dict]:
    """Every method over every seed: the table's numbers, and the first seed's runs (figures)."""
    numbers, first = {}, {}
    for method in METHODS:
        runs = [train(method, s, setup, cache=cache) for s in range(seed, seed + setup.seeds)]
        first[method] = runs[0]
        keys = ("train_acc", "test_acc", "gap", "small_weights")
        row = {key: [r[key] for r in runs] for key in keys}
        for key in keys:
            row[key + "_mean"], row[key + "_std"] = _mean_std(row[key])
        row["n_train"] = len(runs[0]["X"])
        if method == "early_stopping":
            row["stopped_epoch"] = [r["epochs"] for r in runs]
            row["best_epoch"] = [r["best_epoch"] for r in runs]
        numbers[method] = row
    base = numbers["baseline"]
    for row in numbers.values():
        row["gap_change"] = row["gap_mean"] - base["gap_mean"]
        row["test_change"] = row["test_acc_mean"] - base["test_acc_mean"]
    return numbers, first


def curve(setup: Setup, values, *, over: str, seed: int = 0, cache: dict | None = None) -> dict:
    """Train and test error (mean, std over seeds) as the data size or the width varies."""
    train_err, test_err = [], []
    for v in values:
        runs = [train("baseline", s, setup, cache=cache, **{over: v})
                for s in range(seed, seed + setup.seeds)]
        train_err.append(_mean_std([1 - r["train_acc"] for r in runs]))
        test_err.append(_mean_std([1 - r["test_acc"] for r in runs]))
    return {over: list(values), "train_error": [m for m, _ in train_err],
            "train_error_std": [s for _, s in train_err],
            "test_error": [m for m, _ in test_err], "test_error_std": [s for _, s in test_err]}


def run(out: Path, *, quick: bool = False, seed: int = 0):
    """Run the lab into ``out``: results.json's numbers, five figures, the interview table."""
    import time

    from threadpoolctl import threadpool_limits

    from ..plots import overfitting as plots
    from . import ExperimentResult, Table

    setup = QUICK if quick else Setup()
    start = time.perf_counter()
    # Small matrices: one BLAS thread is as fast and immune to oversubscription on busy cores.
    with threadpool_limits(1):
        cache: dict = {}
        X, y, X_test, y_test = data(setup.n_train, seed)
        watch = Watch(X, y, X_test, y_test)  # watching does not change the training
        train("baseline", seed, setup, callbacks=(watch,), cache=cache)
        curves = {"epoch": watch.epochs, "train_loss": watch.train_loss,
                  "test_loss": watch.test_loss, "train_acc": watch.train_acc,
                  "test_acc": watch.test_acc}
        curves["best_test_epoch"] = watch.epochs[int(np.argmin(watch.test_loss))]
        methods, first = compare(setup, seed, cache)
        learning = curve(setup, setup.sizes, over="n", seed=seed, cache=cache)
        capacity = curve(setup, setup.widths, over="width", seed=seed, cache=cache)
    out = Path(out)
    more = setup.more_data // setup.n_train
    figures = [
        (plots.loss_curves(curves, out / "overfitting_curves.png"),
         "The baseline (2-100-100-1, 40 points): training loss keeps falling while the test "
         "loss turns and rises; the dashed line marks the test-loss minimum."),
        (plots.boundaries(first, METHODS, X_test, y_test, out / "overfitting_boundaries.png"),
         "Decision boundaries (first seed): the baseline bends around single noisy points; "
         f"each regularizer alone smooths it. With {more}× more data the same network still "
         "carves small islands inside the overlap, but its boundary follows the moons."),
        (plots.gap_bars(methods, METHODS, out / "overfitting_gaps.png"),
         f"Train and test accuracy per method (mean ± std over {setup.seeds} seeds); the "
         "number above each pair is the train–test gap in points."),
        (plots.error_curve(learning, "n", out / "overfitting_learning_curve.png"),
         "Learning curve: test error falls and the train–test gap closes as the training "
         f"set grows (mean over {setup.seeds} seeds; bands ± one standard deviation)."),
        (plots.error_curve(capacity, "width", out / "overfitting_capacity_curve.png"),
         "Capacity curve (40 points): too few hidden units underfit, too many overfit; test "
         f"error is lowest in between (mean over {setup.seeds} seeds; bands ± one std)."),
    ]
    table = Table("How do you prevent overfitting? (measured, mean over "
                  f"{setup.seeds} seeds)", ["method", "setting", "why it works",
                                            "train acc", "test acc", "gap", "gap vs baseline"],
                  [[METHODS[m][0], METHODS[m][2].format(more=more), METHODS[m][1],
                    _pct(r["train_acc_mean"]), _pct(r["test_acc_mean"]),
                    f"{100 * r['gap_mean']:.1f} pts",
                    "—" if m == "baseline" else f"{100 * r['gap_change']:+.1f} pts"]
                   for m, r in methods.items()])
    numbers = {"setup": {**setup.__dict__, "noise": NOISE, "n_test": N_TEST},
               "methods": methods, "curves": curves, "learning_curve": learning,
               "capacity_curve": capacity, "time_s": time.perf_counter() - start}
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [table],
                            findings(numbers))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def findings(numbers: dict) -> list[str]:
    """Sentences computed from the numbers (no claim the run did not measure)."""
    m, c = numbers["methods"], numbers["curves"]
    base = m["baseline"]
    out = [f"Baseline: train accuracy {_pct(base['train_acc_mean'])}, test "
           f"{_pct(base['test_acc_mean'])}: a gap of {100 * base['gap_mean']:.1f} points.",
           f"Its test loss is lowest at epoch {c['best_test_epoch']} and rises from there to "
           f"{c['test_loss'][-1]:.2f} while the training loss keeps falling."]
    out.append(f"L1 leaves {_pct(m['l1']['small_weights_mean'])} of the weights below "
               f"{SMALL} in magnitude (L2 {_pct(m['l2']['small_weights_mean'])}, baseline "
               f"{_pct(base['small_weights_mean'])}).")
    narrowed = [k for k in m if k != "baseline" and m[k]["gap_change"] < 0]
    out.append(f"{len(narrowed)} of {len(m) - 1} methods narrow the gap; best test accuracy: "
               f"{METHODS[max(m, key=lambda k: m[k]['test_acc_mean'])][0]} "
               f"({_pct(max(r['test_acc_mean'] for r in m.values()))}).")
    cap = numbers["capacity_curve"]
    i = int(np.argmin(cap["test_error"]))
    out.append(f"Capacity curve: test error {_pct(cap['test_error'][0])} at width "
               f"{cap['width'][0]}, lowest {_pct(cap['test_error'][i])} at width "
               f"{cap['width'][i]}, {_pct(cap['test_error'][-1])} at width {cap['width'][-1]}.")
    return out
