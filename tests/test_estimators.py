"""MLPClassifier / MLPRegressor: scikit-learn's semantics, checked against scikit-learn."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import (load_iris, make_classification, make_multilabel_classification,
                              make_regression)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

import mlplab
from mlplab import MLPClassifier, MLPRegressor


pytestmark = pytest.mark.usefixtures("one_blas_thread", "no_convergence_warnings")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_binary_multiclass_attributes(iris):
    X, y = iris
    clf = MLPClassifier((8, 5), activation="tanh", learning_rate_init=0.01, max_iter=300,
                        random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    assert [c.shape for c in clf.coefs_] == [(4, 8), (8, 5), (5, 3)]  # (n_in, n_out)
    assert [b.shape for b in clf.intercepts_] == [(8,), (5,), (3,)]
    np.testing.assert_array_equal(clf.coefs_[0], clf.net_.layers[1].W.T)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3 and clf.n_layers_ == 4
    assert list(clf.classes_) == [0, 1, 2] and clf.n_features_in_ == 4
    assert len(clf.loss_curve_) == clf.n_iter_ and clf.best_loss_ == min(clf.loss_curve_)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    # coefs_ are views of the network's W: writing them changes the predictions
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = [0, 0, 5]
    assert set(clf.predict(X)) == {2}

    names = np.array(["setosa", "versicolor", "virginica"])[y]
    binary = names != "setosa"
    bin_clf = MLPClassifier((5,), max_iter=200, learning_rate_init=0.01, random_state=0)
    bin_clf.fit(X, binary)
    assert bin_clf.out_activation_ == "logistic" and bin_clf.coefs_[-1].shape == (5, 1)
    assert bin_clf.predict_proba(X).shape == (150, 2) and bin_clf.score(X, binary) > 0.95


def test_multilabel_and_multioutput_regression():
    X, Y = make_multilabel_classification(200, n_features=8, n_classes=4, random_state=0)
    clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=300, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == (200, 4) and clf.out_activation_ == "logistic"
    assert clf.predict_proba(X).shape == (200, 4) and clf.score(X, Y) > 0.6  # subset accuracy
    X, Y = make_regression(200, 5, n_targets=2, noise=1.0, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=500,
                       random_state=0).fit(X, Y / 100)
    assert reg.predict(X).shape == (200, 2) and reg.score(X, Y / 100) > 0.95
    assert reg.out_activation_ == "identity"
    single = clone(reg).fit(X, Y[:, 0] / 100)
    assert single.predict(X).shape == (200,)


def test_one_epoch_matches_sklearn_including_alpha(iris):
    """Same weights, one full-batch SGD epoch: the same update as scikit-learn, L2 alpha and all."""
    X, y = iris
    kw = dict(hidden_layer_sizes=(6,), activation="logistic", solver="sgd", momentum=0.0,
              alpha=0.5, batch_size=150, learning_rate_init=0.1, shuffle=False, max_iter=1,
              warm_start=True, random_state=0)
    sk = SkMLPClassifier(**kw).fit(X, y)
    ours = MLPClassifier(**kw).fit(X, y)
    for mine, theirs in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        mine[...] = theirs
    sk.fit(X, y)
    ours.fit(X, y)
    for mine, theirs in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    # scikit-learn's loss of that epoch: data loss + ½·alpha·Σ‖W‖²/m (before the update)
    assert ours.loss_curve_[-1] == pytest.approx(sk.loss_curve_[-1], rel=1e-9)


def test_partial_fit_and_warm_start(iris):
    X, y = iris
    clf = MLPClassifier((10,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    first = clf.loss_curve_[-1]
    for _ in range(30):
        clf.partial_fit(X, y)
    assert len(clf.loss_curve_) == 31 and clf.loss_curve_[-1] < 0.5 * first
    assert clf._optimizer.t == 31  # one Adam state carried across the calls (1 batch each)

    warm = MLPClassifier((10,), learning_rate_init=0.01, max_iter=5, warm_start=True,
                         random_state=0).fit(X, y)
    W = warm.coefs_[0].copy()
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 10 and warm.loss_curve_[5] < warm.loss_curve_[4] + 0.05
    cold = clone(warm).set_params(warm_start=False).fit(X, y)
    cold.fit(X, y)
    assert len(cold.loss_curve_) == 5
    assert not np.allclose(W, warm.coefs_[0])


def test_early_stopping(iris):
    X, y = iris
    clf = MLPClassifier((10,), learning_rate_init=0.01, max_iter=500, early_stopping=True,
                        n_iter_no_change=5, random_state=0).fit(X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_ < 500
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    with pytest.raises(ValueError, match="early_stopping"):
        clone(clf).partial_fit(X, y, classes=[0, 1, 2])


def test_pickle_clone_params_and_feature_names(tmp_path, iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = MLPClassifier((7,), activation="sigmoid", solver="gd", learning_rate_init=0.5,
                        max_iter=50, random_state=1).fit(frame, y)
    assert list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    joblib.dump(clf, tmp_path / "clf.joblib")
    back = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(back.predict_proba(frame), clf.predict_proba(frame))
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (7,) and params["solver"] == "gd"
    assert clone(clf).set_params(alpha=0.1).alpha == 0.1 and not hasattr(clone(clf), "net_")
    again = clone(clf).fit(frame, y)  # same random_state: bit-identical
    np.testing.assert_array_equal(again.coefs_[0], clf.coefs_[0])


@pytest.mark.parametrize("bad, message", [
    (dict(activation="softplus"), "activation"),
    (dict(solver="newton"), "solver"),
    (dict(solver="lbfgs", dropout=0.2), "dropout"),
    (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(hidden_layer_sizes=(3, 0)), "hidden_layer_sizes"),
    (dict(batch_size=0), "batch_size"),
    (dict(loss="hinge"), "loss"),
])
def test_bad_parameters_name_themselves(bad, message, iris):
    X, y = iris
    with pytest.raises(mlplab.ConfigError, match=message):
        MLPClassifier(max_iter=2, **bad).fit(X, y)


def test_dropout_and_l1(iris, tmp_path):
    X, y = iris
    clf = MLPClassifier((16,), dropout=0.3, learning_rate_init=0.01, max_iter=200,
                        random_state=0).fit(X, y)
    kinds = [type(layer).__name__ for layer in clf.net_.layers]
    assert kinds == ["Input", "Dense", "Dropout", "Dense"] and clf.n_layers_ == 3
    assert [c.shape for c in clf.coefs_] == [(4, 16), (16, 3)]
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))  # off at predict
    assert clf.score(X, y) > 0.9
    joblib.dump(clf, tmp_path / "d.joblib")
    assert (joblib.load(tmp_path / "d.joblib").predict(X) == clf.predict(X)).all()
    mlplab.save(clf.net_, tmp_path / "d.safetensors")
    np.testing.assert_allclose(mlplab.load(tmp_path / "d.safetensors").forward(X),
                               clf.predict_proba(X))

    dense = MLPClassifier((16,), learning_rate_init=0.01, max_iter=200, random_state=0)
    sparse = clone(dense).set_params(l1=0.01)
    small = [np.mean(np.abs(est.fit(X, y).coefs_[0]) < 1e-2) for est in (dense, sparse)]
    assert small[1] > small[0] + 0.2  # L1 drives many input weights to (nearly) zero


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor(), mlplab.Perceptron()])
def test_unfitted_use_raises_mlplabs_not_fitted_error(estimator):
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    with pytest.raises(mlplab.NotFittedError, match="not fitted yet.*fit") as info:
        estimator.predict([[0.0, 1.0]])
    assert isinstance(info.value, SklearnNotFittedError)  # scikit-learn code still catches it


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor(), mlplab.Perceptron()])
def test_bad_data_raises_mlplabs_data_error_with_sklearns_message(estimator):
    with pytest.raises(mlplab.DataError, match="Input X contains NaN") as info:
        estimator.fit([[np.nan, 1.0], [1.0, 2.0]], [0, 1])
    assert isinstance(info.value, ValueError)


def test_verbose_prints_the_loss_of_every_epoch_as_scikit_learn_does(capsys):
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=7, random_state=0, verbose=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == clf.n_iter_ == 7
    for i, (line, loss) in enumerate(zip(lines, clf.loss_curve_), start=1):
        assert line == f"Iteration {i}, loss = {loss:.8f}"
    MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""  # silent by default


def test_a_diverging_regressor_raises_sklearns_error_and_keeps_finite_weights():
    # mlplab's guard stops at the first NaN/inf and keeps the last finite weights; then, as
    # scikit-learn, fit raises its ValueError (which names mlplab's diagnosis and remedy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)) * 30
    y = X @ np.array([1.0, 2.0, 3.0])
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0,
                       learning_rate_init=1.0, alpha=0.0, max_iter=50, random_state=0)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights.*"
                                         "training diverged at epoch") as info:
        reg.fit(X, y)
    assert isinstance(info.value, mlplab.DivergenceError)
    assert all(np.isfinite(w).all() for w in reg.coefs_ + reg.intercepts_)
    assert np.isfinite(reg.predict(X)).all()
    assert np.isnan(reg.loss_curve_[-1])  # the diverged epoch's loss, as scikit-learn's


def test_a_diverging_fit_with_early_stopping_keeps_the_best_weights():
    X, y = load_iris(return_X_y=True)
    reg = MLPRegressor(hidden_layer_sizes=(20,), activation="identity", solver="sgd",
                       learning_rate_init=1.0, max_iter=20, early_stopping=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged.*best validation score are kept"):
        reg.fit(X, y)
    assert np.isnan(reg.validation_scores_[-1])  # as scikit-learn records it
    assert reg.best_validation_score_ == reg.validation_scores_[0]  # then it only got worse
    assert all(np.isfinite(w).all() for w in reg.coefs_ + reg.intercepts_)
    assert np.isfinite(reg.predict(X)).all()


# ---------------------------------------------------------------- scikit-learn's numbers
def assert_same_weights(ours, theirs, **tol):
    for mine, sk in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, sk, **tol)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_reaches_sklearns_loss_from_the_same_start(kind):
    """Same start weights (assigned to both), same data: L-BFGS-B over mlplab's gradients
    follows scikit-learn's run: its loss to 1e-6, its weights, its iteration count."""
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    if kind == "classifier":
        X, y = load_iris(return_X_y=True)
        ours, sk = MLPClassifier, SkMLPClassifier
    else:
        X, y = make_regression(120, 5, n_targets=2, noise=5.0, random_state=0)
        y = y / 100
        ours, sk = MLPRegressor, SkMLPRegressor
    kw = dict(hidden_layer_sizes=(6, 4), activation="tanh", solver="lbfgs", alpha=1e-3,
              max_iter=1, warm_start=True, random_state=0)
    theirs = sk(**kw).fit(X, y)                  # scikit-learn's start, one iteration in
    ours = ours(**kw).fit(X, y)
    rng = np.random.default_rng(1)
    start = [rng.normal(size=c.shape) for c in theirs.coefs_ + theirs.intercepts_]
    n = len(theirs.coefs_)
    for est in (ours, theirs):
        est.coefs_ = [a.copy() for a in start[:n]]
        est.intercepts_ = [a.copy() for a in start[n:]]
        # 20 iterations: the two runs differ in the last bits of their sums, and L-BFGS
        # amplifies that (classifier: 1e-15 after 15 iterations, 7e-13 after 20, 2e-5 after 40)
        est.set_params(max_iter=20).fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    assert ours.n_iter_ == theirs.n_iter_ == 20
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-8)
    # mlplab also records f after each L-BFGS iteration (scikit-learn keeps no curve for it)
    assert len(ours.loss_curve_) == 1 + 20 and ours.loss_curve_[-1] == pytest.approx(ours.loss_)


def test_same_random_state_gives_sklearns_weights_for_every_stochastic_setting():
    """Initial weights, batch order, early-stopping split, sample weights, Adam: drawn and
    computed as scikit-learn does, so a few epochs end on its weights."""
    X, y = load_iris(return_X_y=True)
    sw = np.random.default_rng(0).uniform(0.2, 2.0, len(y))
    for kw in [dict(solver="sgd", batch_size=32, learning_rate="invscaling"),
               dict(solver="adam", batch_size=16, shuffle=True),
               dict(solver="sgd", batch_size=40, early_stopping=True, nesterovs_momentum=False),
               dict(solver="adam", activation="logistic", alpha=0.1)]:
        ours = MLPClassifier((7,), max_iter=6, random_state=3, **kw).fit(X, y, sample_weight=sw)
        theirs = SkMLPClassifier((7,), max_iter=6, random_state=3, **kw).fit(X, y,
                                                                              sample_weight=sw)
        assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_partial_fit_with_lbfgs_is_as_in_sklearn():
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")  # AttributeError, as sklearn
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")
    # scikit-learn's regressor keeps partial_fit for lbfgs: a whole L-BFGS run each call
    X, y = make_regression(80, 3, noise=1.0, random_state=0)
    ours = MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0)
    theirs = SkMLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0)
    for _ in range(2):
        ours.partial_fit(X, y / 100)
        theirs.partial_fit(X, y / 100)
    assert ours.n_iter_ == theirs.n_iter_ == 15
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)


def test_assigned_coefs_are_the_networks_weights():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    W1 = np.arange(20.0).reshape(4, 5) / 100
    clf.coefs_[0] = W1                        # one item: copied into W⁽¹⁾ = coefs_[0]ᵀ
    np.testing.assert_array_equal(clf.net_.layers[1].W, W1.T)
    clf.coefs_ = [np.zeros((4, 5)), np.ones((5, 3))]  # the whole list
    clf.intercepts_ = [np.zeros(5), np.array([0.0, 0.0, 1.0])]
    assert set(clf.predict(X)) == {2}
    with pytest.raises(mlplab.DataError, match=r"coefs_ must be a list of arrays of shapes "
                                               r"\[\(4, 5\), \(5, 3\)\]"):
        clf.coefs_ = [np.zeros((3, 5)), np.ones((5, 3))]
        clf.predict(X)
    with pytest.raises(mlplab.DataError, match=r"item 1 must have shape \(5, 3\)"):
        MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y).coefs_[1] = np.ones((5, 2))


def test_n_iter_no_change_inf_runs_every_epoch_and_warns():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((4,), solver="sgd", tol=1e9, n_iter_no_change=np.inf, max_iter=30,
                        random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(30\\)"):
        clf.fit(X, y)
    assert clf.n_iter_ == 30 and clf._no_improvement_count == 29


def test_poisson_regressor_matches_sklearn():
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(100, 2))
    y = rng.poisson(np.exp(X @ [1.0, -0.5] + 1))
    kw = dict(loss="poisson", hidden_layer_sizes=(3,), solver="lbfgs", max_iter=30,
              random_state=0)
    ours, theirs = MLPRegressor(**kw).fit(X, y), SkMLPRegressor(**kw).fit(X, y)
    assert ours.out_activation_ == "exp" and ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-5)
    # negative y: the deviance has no value there; named, instead of a divergence to come
    for y_bad in (y - 3.0, np.c_[y, -y]):
        with pytest.raises(mlplab.DataError, match=r"y holds negative values .* needs y ≥ 0"):
            MLPRegressor(**kw).fit(X, y_bad)
    MLPRegressor(**{**kw, "loss": "squared_error"}).fit(X, y - 3.0)  # the other loss takes it
