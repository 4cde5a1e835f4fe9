"""mlplab's estimators inside scikit-learn's machinery: Pipeline, ColumnTransformer,
GridSearchCV and cross_val_score with two worker processes."""


import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlplab import MLPClassifier, MLPRegressor
from mlplab.datasets import load_heart_cleveland, load_mushrooms

CODED = ["cp", "restecg", "slope", "thal"]


pytestmark = pytest.mark.usefixtures("one_blas_thread", "no_convergence_warnings")


@pytest.fixture(scope="module")
def heart():
    return load_heart_cleveland(return_X_y=True, as_frame=True, binary=True)


def heart_pipeline(estimator):
    numeric = ["age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak", "ca"]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), CODED),
    ])
    return make_pipeline(prep, estimator)


def test_pipeline_with_column_transformer(heart):
    X, y = heart
    pipe = heart_pipeline(MLPClassifier((16,), alpha=1.0, learning_rate_init=0.01,
                                        max_iter=200, random_state=0))
    pipe.fit(X.iloc[:240], y.iloc[:240])
    # the last 63 rows are harder than average; a majority vote gets 0.51, sklearn 0.75
    assert pipe.score(X.iloc[240:], y.iloc[240:]) > 0.7
    clf = pipe[-1]
    manual = clf.predict(pipe[0].transform(X.iloc[240:]))
    assert (pipe.predict(X.iloc[240:]) == manual).all()
    assert clf.n_features_in_ == 9 + 4 + 3 + 3 + 3  # numeric + one-hot cp, restecg, slope, thal
    assert pipe.predict_proba(X.iloc[:5]).shape == (5, 2)

    # categorical strings straight from the mushroom file, one-hot encoded in the pipeline
    Xm, ym = load_mushrooms(return_X_y=True, as_frame=True)
    mush = make_pipeline(OneHotEncoder(handle_unknown="ignore"),
                         MLPClassifier((8,), learning_rate_init=0.01, max_iter=20,
                                       random_state=0))
    mush.fit(Xm.iloc[::4], ym.iloc[::4])
    assert mush.score(Xm.iloc[1::4], ym.iloc[1::4]) > 0.97
    assert set(mush.predict(Xm.iloc[:20])) <= {"e", "p"}


def test_grid_search_and_cross_val_score_with_two_jobs(heart):
    X, y = heart
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    pipe = heart_pipeline(MLPClassifier((8,), learning_rate_init=0.01, max_iter=100,
                                        random_state=0))
    scores = cross_val_score(pipe, X, y, cv=cv, n_jobs=2)
    assert scores.shape == (3,) and scores.mean() > 0.75
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0],
                               "mlpclassifier__hidden_layer_sizes": [(4,), (8,)]},
                        cv=cv, n_jobs=2).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_score_ == pytest.approx(np.max(grid.cv_results_["mean_test_score"]))
    assert grid.best_estimator_[-1].alpha in (1e-4, 1.0)

    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(150, 3))
    yr = Xr @ [1.0, -2.0, 0.5]
    r2 = cross_val_score(MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                                      max_iter=300, random_state=0), Xr, yr, cv=3, n_jobs=2)
    assert r2.min() > 0.9


def test_perceptron_in_pipeline_grid_search_and_cross_val_score():
    """mlplab.Perceptron (the sgn neuron and its learning rule) in the same machinery."""
    from mlplab import Perceptron

    Xm, ym = load_mushrooms(return_X_y=True, as_frame=True)
    X, y = Xm.iloc[::8], ym.iloc[::8]  # the one-hot mushroom data is linearly separable
    pipe = make_pipeline(OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                         Perceptron(max_iter=200, random_state=0))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, y, cv=cv, n_jobs=2)
    assert scores.mean() > 0.95
    grid = GridSearchCV(pipe, {"perceptron__eta0": [0.1, 1.0]}, cv=cv, n_jobs=2).fit(X, y)
    assert grid.best_score_ > 0.95 and set(grid.predict(Xm.iloc[1::97])) <= {"e", "p"}
