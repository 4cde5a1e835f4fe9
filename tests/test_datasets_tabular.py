"""The bundled UCI data sets, loaded like scikit-learn's loaders."""

from importlib import resources

import numpy as np
import pandas as pd

from mlplab.datasets import load_heart_cleveland, load_mushrooms


def test_mushrooms_bunch_arrays_and_frames():
    b = load_mushrooms()
    assert b.data.shape == (8124, 22) and b.target.shape == (8124,)
    assert b.feature_names[0] == "cap-shape" and b.target_names == ["e", "p"]
    assert (b.target == "e").sum() == 4208 and b.frame is None and "Schlimmer" in b.DESCR
    X, y = load_mushrooms(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and y.name == "class" and y.iloc[0] == "p"
    assert (X["stalk-root"] == "?").sum() == 2480  # the file's missing marker, kept as a category
    assert pd.get_dummies(X).shape[1] == 117


def test_heart_cleveland_missing_values_and_binary_target():
    b = load_heart_cleveland(as_frame=True)
    assert b.data.shape == (303, 13) and list(b.frame.columns)[-1] == "num"
    assert b.data.isna().sum().to_dict()["ca"] == 4 and b.data["thal"].isna().sum() == 2
    assert sorted(b.target.unique()) == [0, 1, 2, 3, 4]
    X, y = load_heart_cleveland(return_X_y=True, binary=True)
    assert X.dtype == np.float64 and np.isnan(X).sum() == 6
    assert y.sum() == 139 and set(np.unique(y)) == {0, 1}


def test_attribution_travels_with_the_data():
    notice = (resources.files("mlplab.datasets") / "data" / "README.md").read_text()
    assert "CC BY 4.0" in notice and "Schlimmer" in notice and "Janosi" in notice
