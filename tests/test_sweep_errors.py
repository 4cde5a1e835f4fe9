"""Sweeps given bad input: refused before the cluster starts, with an mlplab error (one line
and exit code 2 in the CLI); fits that fail score NaN as in scikit-learn, also when a whole
group of the grouped search fails."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import GridSearchCV
from typer.testing import CliRunner

import mlplab.sklearn.sweep as sweep_module
from mlplab import ConfigError, DataError, MLPClassifier
from mlplab.cli import app
from mlplab.sklearn.sweep import ranked, sweep

pytest.importorskip("dask.distributed")
runner = CliRunner()
# early stopping holds out validation_fraction of the 100 training rows of a fold: 0.001
# holds out one row, fewer than the 2 classes, so that candidate's fits fail (in fit, not in
# the parameter check: the rule depends on the data)
EARLY = {"max_iter": 5, "random_state": 0, "early_stopping": True}
FRACTIONS = {"validation_fraction": [0.1, 0.15, 0.2, 0.25, 0.001]}


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=200, n_features=5, random_state=0)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_group_whose_fits_all_fail_scores_nan_as_in_scikit_learn(data, n_jobs):
    # serially each candidate is a group; on 2 workers (2 folds) a group is 4 candidates, so
    # the failing candidate is a group of its own either way
    est = MLPClassifier(**EARLY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = GridSearchCV(est, FRACTIONS, cv=2).fit(*data)
    with pytest.warns(FitFailedWarning, match="2 of 10 fits failed; .*test_size = 1"), \
            pytest.warns(UserWarning, match="test scores are non-finite"):
        ours = quiet(sweep, est, FRACTIONS, *data, cv=2, n_jobs=n_jobs)
    np.testing.assert_array_equal(ours.cv_results_["mean_test_score"],
                                  theirs.cv_results_["mean_test_score"])
    assert np.isnan(ours.cv_results_["mean_test_score"][-1])
    assert list(ours.cv_results_["rank_test_score"]) == list(theirs.cv_results_["rank_test_score"])
    assert ours.best_params_ == theirs.best_params_


def test_a_sweep_whose_fits_all_fail_is_one_config_error(data):
    with pytest.raises(ConfigError, match=r"all 4 fits of the sweep failed, e\.g\. with "
                                          r"ValueError: The test_size = 1"):
        quiet(sweep, MLPClassifier(**EARLY), {"validation_fraction": [0.001, 0.002]}, *data,
              cv=2, n_jobs=1)


def test_other_searches_keep_scikit_learns_own_check(data):
    from sklearn.model_selection import _search

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sweep(MLPClassifier(**EARLY), FRACTIONS, *data, cv=2, n_jobs=1)
    assert _search._warn_or_raise_about_fit_failures is sweep_module._collect_fit_errors
    with warnings.catch_warnings(), pytest.raises(ValueError, match="All the 2 fits failed"):
        warnings.simplefilter("ignore")
        GridSearchCV(MLPClassifier(**EARLY), {"validation_fraction": [0.001]}, cv=2).fit(*data)


def test_a_combination_that_cannot_go_together_scores_nan(data):
    """solver='lbfgs' with dropout: each value is good, the pair is not; scikit-learn's one
    call scores it NaN, and so does the sweep (it refused the whole grid before)."""
    with pytest.warns(UserWarning, match=r"1 of the grid's 4 combinations cannot be used"):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            warnings.filterwarnings("ignore", message=".*fits failed")
            search = sweep(MLPClassifier(max_iter=5, random_state=0),
                           {"solver": ["adam", "lbfgs"], "dropout": [0.0, 0.1]}, *data, cv=2,
                           n_jobs=1)
    scores = {(p["solver"], p["dropout"]): m for p, m in
              zip(search.cv_results_["params"], search.cv_results_["mean_test_score"])}
    assert np.isnan(scores[("lbfgs", 0.1)])
    assert all(np.isfinite(v) for k, v in scores.items() if k != ("lbfgs", 0.1))


def test_a_search_nested_in_a_sweep_keeps_its_own_check(data):
    """A search run inside the sweep's thread (here from its progress callback) keeps
    scikit-learn's check, and its failures are not counted as the sweep's."""
    raised = []

    def progress(_):
        try:
            GridSearchCV(MLPClassifier(**EARLY), {"validation_fraction": [0.001]},
                         cv=2).fit(*data)
        except ValueError as exc:
            raised.append(str(exc))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = sweep(MLPClassifier(max_iter=5, random_state=0), {"alpha": [1e-4, 1e-3]},
                       *data, cv=2, n_jobs=1, progress=progress)
    assert raised and all("All the 2 fits failed" in r for r in raised)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


class NoFit(Exception):
    pass


@pytest.mark.parametrize("grid, options, error, message", [
    ({"hidden_layer_sizes": [(8,), (16,), (0,)]}, {}, ConfigError,
     r"grid value hidden_layer_sizes=\(0,\) cannot be used: MLPClassifier: hidden_layer_sizes "
     r"must be a sequence of positive ints.*; remove it from the grid"),
    ({"activation": ["relu", "banana"]}, {"n_iter": 2}, ConfigError,
     "grid value activation='banana' cannot be used"),
    ({"solver": ["lbfgs"], "dropout": [0.1]}, {}, ConfigError,
     r"no combination of the grid can be used, e.g. \{'dropout': 0.1, 'solver': 'lbfgs'\}"),
    ({"alpha": [0.1]}, {"estimator": MLPClassifier(max_iter=0)}, ConfigError,
     r"^MLPClassifier: max_iter must be an integer ≥ 1, got 0$"),
    ({"alpha": 0.1}, {}, ConfigError, r"grid\['alpha'\] must be a list .* write \[0.1\]"),
    ({"alpha": []}, {}, ConfigError, r"grid\['alpha'\] lists no value"),
    ({"alpha": [0.1]}, {"cv": 500}, DataError, "cannot split these 200 rows into cv=500 folds"),
    ({"alpha": [0.1]}, {"cv": 1}, ConfigError, "cv must be at least 2 folds"),
    ({"alpha": [0.1]}, {"cv": "three"}, ConfigError, "cv must be a number of folds"),
    ({"alpha": [0.1]}, {"scoring": "acuracy"}, ConfigError,
     "unknown scoring 'acuracy'; did you mean 'accuracy'"),
    ({"alpha": [0.1]}, {"scoring": ["accuracy", "f1"]}, ConfigError,
     "scoring must be one scorer name or a callable"),
    ({"alpha": [0.1]}, {"n_iter": 0}, ConfigError, "n_iter must be a whole number ≥ 1"),
    ({"alpha": [0.1]}, {"seed": -1}, ConfigError, r"seed must be a whole number from 0 to 4294967295, got -1"),
    ({"alpha": [0.1]}, {"y": "short"}, DataError,
     r"X and y must have one row per sample: .*\[200, 197\]"),
])
def test_bad_input_is_refused_before_the_cluster_starts(data, monkeypatch, grid, options,
                                                        error, message):
    def no_cluster(*args, **kwargs):
        raise NoFit("a cluster was started")

    monkeypatch.setattr(sweep_module, "dask_client", no_cluster)
    monkeypatch.setattr(MLPClassifier, "fit", no_cluster)  # nor any fit
    X, y = data
    options = dict(options)
    if options.pop("y", None):
        y = y[:-3]
    est = options.pop("estimator", MLPClassifier(max_iter=5))
    with pytest.raises(error, match=message):
        sweep(est, grid, X, y, **{"cv": 2, "n_jobs": 2, **options})


def test_ranked_refuses_a_top_below_one(data):
    search = quiet(sweep, MLPClassifier(max_iter=5), {"alpha": [0.1, 0.2]}, *data, cv=2,
                   n_jobs=1)
    assert [r["params"] for r in ranked(search, 1)] == [search.best_params_]
    for top in (0, -1):
        with pytest.raises(ConfigError, match=f"top must be a number of rows ≥ 1, got {top}"):
            ranked(search, top)


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"
    rows = [f"{rng.normal():.3f},{rng.normal():.3f},{'yes' if i % 2 else 'no'}"
            for i in range(30)]
    path.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("args, message", [
    (["--cv", "1000"], "cannot split these 30 rows into cv=1000 folds"),
    (["--scoring", "banana"], "unknown scoring 'banana'"),
    (["--n-iter", "0"], "--n-iter must be at least 1 candidate, got 0"),
    (["--n-iter", "-2"], "--n-iter must be at least 1 candidate, got -2"),
    (["--max-epochs", "0"], "--max-epochs must be at least 1 epoch, got 0"),
    (["--seed", "-1"], "--seed must be a whole number from 0 to 4294967295, got -1"),
    (["--seed", str(2**32)], "--seed must be a whole number from 0 to 4294967295"),
    (["--top", "0"], "--top must be at least 1 row, got 0"),
    (["--top", "-1"], "--top must be at least 1 row, got -1"),
    (["--grid", "activation=relu,banana"], "grid value activation='banana' cannot be used"),
    (["--grid", "activation=banana,apple"], "grid value activation='banana' cannot be used"),
    (["--activation", "banana"], "MLPClassifier: activation must be one of"),
])
def test_cli_sweep_user_errors_are_one_line_before_any_fit(csv, tmp_path, monkeypatch, args,
                                                           message):
    monkeypatch.setattr(MLPClassifier, "fit", lambda *a, **k: pytest.fail("a fit ran"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", "--csv", str(csv), "--target", "c", "--cv", "2",
                                 "--n-jobs", "1", "--grid", "hidden=4,8", *args,
                                 "--out", str(out)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), \
        result.output
    assert message in lines[0], lines[0]
    assert not out.exists()


def test_cli_sweep_with_a_class_of_too_few_rows_is_one_line(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("a,b,y\n1,2,x\n2,3,y\n3,4,x\n4,5,y\n5,1,z\n")
    result = runner.invoke(app, ["sweep", "--csv", str(path), "--target", "y", "--cv", "3",
                                 "--n-jobs", "1", "--grid", "hidden=4,8"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "cannot split these 5 rows into cv=3 folds" in lines[0]


def test_cli_sweep_with_a_failing_candidate_saves_its_nan_row(tmp_path):
    import pandas as pd

    X, y = make_classification(n_samples=200, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2],
                  "label": np.where(y, "yes", "no")}).to_csv(path, index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", "--csv", str(path), "--target", "label", "--cv", "2",
                                 "--n-jobs", "1", "--max-epochs", "5", "--grid",
                                 "early_stopping=true", "--grid",
                                 "validation_fraction=0.2,0.001", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: 2 of 4 fits failed; their scores are NaN" in result.output
    assert result.output.count("warning: One or more of the test scores are non-finite") == 1
    results = pd.read_csv(out / "cv_results.csv")
    assert results["mean_test_score"].isna().tolist() == [False, True]
    shown = runner.invoke(app, ["show", str(out / "model.safetensors")])  # the sweep's settings
    assert "training: made by mlplab sweep, candidates 2, folds 2, scoring accuracy, " \
           "early_stopping True, validation_fraction 0.2" in shown.output, shown.output
