"""``mlplab train --csv`` / ``mlplab predict --csv``: inferred encoding saved with the model,
and one-line errors that name the column or line."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mlplab
from mlplab.cli import app
from mlplab.datasets import load_heart_cleveland
from mlplab.preprocessing import TabularEncoder


pytestmark = pytest.mark.usefixtures("one_blas_thread")

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def mixed(tmp_path):
    """Numbers with '?' and empty cells, a text column, a text target."""
    rng = np.random.default_rng(0)
    n = 120
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    label = np.where((x > 0) ^ (colour == "red"), "yes", "no")
    frame = pd.DataFrame({"x": x.round(3).astype(object), "colour": colour.astype(object),
                          "label": label})
    frame.loc[3, "x"], frame.loc[5, "x"], frame.loc[7, "colour"] = "?", "", ""
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    return path


def test_encoder_infers_kinds_imputes_and_round_trips_as_json(mixed):
    frame = pd.read_csv(mixed, na_values=["?"]).drop(columns="label")
    enc = TabularEncoder().fit(frame)
    assert [c["kind"] for c in enc.columns] == ["numeric", "categorical"]
    assert enc.feature_names == ["x", "colour=blue", "colour=green", "colour=red"]
    X = enc.transform(frame)
    assert np.isfinite(X).all() and X.shape == (120, 4)
    assert abs(X[:, 0].mean()) < 0.02  # standardized (imputed medians pull it a hair)
    assert X[:, 1:].sum(axis=1).tolist() == [1.0] * 120  # the empty colour → most frequent
    back = TabularEncoder.from_dict(enc.to_dict())
    unseen = pd.DataFrame({"x": [0.5], "colour": ["purple"]})
    np.testing.assert_array_equal(back.transform(unseen)[0, 1:], [0, 0, 0])  # unknown → zeros


def test_train_then_predict_applies_the_saved_encoding(mixed, tmp_path):
    out = tmp_path / "model"
    result = invoke("train", "--csv", mixed, "--target", "label", "--hidden", "8",
                    "--lr", "0.01", "--max-epochs", "300", "--out", out)
    assert result.exit_code == 0, result.output
    assert "1 numeric and 1 categorical columns → 4 inputs" in result.output
    assert "precision" in result.output and "held-out 24 rows" in result.output
    net = mlplab.load(out / "model.safetensors")
    tab = net.extra["tabular"]
    assert tab["target"]["classes"] == ["no", "yes"] and tab["metrics"]["accuracy"] > 0.8

    new = write(tmp_path / "new.csv", "colour,x,label\npurple,1.5,yes\nred,?,no\nred,1.0,no\n")
    pred_file = tmp_path / "pred.csv"
    result = invoke("predict", out / "model.safetensors", "--csv", new, "--output", pred_file)
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(pred_file)["predicted_label"].tolist()
    assert set(predicted) <= {"yes", "no"} and len(predicted) == 3
    assert predicted[2] == "no"  # x > 0 and red: the XOR-like rule says no
    assert "against the 'label' column" in result.output


def test_lbfgs_trains_the_csv_estimator(mixed, tmp_path):
    # scikit-learn's solver for small data: full-batch L-BFGS-B, no learning rate
    result = invoke("train", "--csv", mixed, "--target", "label", "--hidden", "8",
                    "--optimizer", "lbfgs", "--max-epochs", "200", "--out", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "L-BFGS iterations: L-BFGS-B: CONVERGENCE" in result.output
    net = mlplab.load(tmp_path / "m" / "model.safetensors")
    assert net.extra["tabular"]["metrics"]["accuracy"] > 0.9  # Adam's 300 epochs: 0.83


def test_regression_target_prints_metrics(tmp_path):
    frame = load_heart_cleveland(as_frame=True).frame
    path = tmp_path / "heart.csv"
    frame.to_csv(path, index=False, na_rep="?")
    result = invoke("train", "--csv", path, "--target", "thalach", "--max-epochs", "50",
                    "--lr", "0.01")
    assert result.exit_code == 0, result.output
    assert "target 'thalach': regression" in " ".join(result.output.split())
    assert "R²" in result.output and "RMSE" in result.output


@pytest.mark.parametrize("name, text, target, expected", [
    ("small.csv", "a,b,c\n1,x,0\n2,y,1\n", "nope", "has no column 'nope'; its columns are: a, b, c"),
    ("prose.txt", "hello world\nno table here\n", "c", "does not look like a CSV table"),
    ("ragged.csv", "a,b,c\n1,x,0\n2,y,1,5,6\n", "c", "Expected 3 fields in line 3"),
    ("allmiss.csv", "a,b,c\n1,,0\n2,?,1\n3,,0\n", "c", "column 'b' has no values at all"),
    ("oneclass.csv", "a,b,c\n1,x,0\n2,y,0\n3,x,0\n", "c", "target column 'c' has only one class"),
    ("notarget.csv", "a,b,c\n1,x,0\n2,y,\n3,x,1\n", "c", "target column 'c' is missing on line 3"),
])
def test_csv_errors_are_one_line_and_name_the_problem(tmp_path, name, text, target, expected):
    result = invoke("train", "--csv", write(tmp_path / name, text), "--target", target)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0]


def test_binary_file_and_mismatched_columns_at_predict(tmp_path):
    binary = tmp_path / "image.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    result = invoke("train", "--csv", binary, "--target", "c")
    assert result.exit_code == 2 and "could not be read as CSV" in result.output

    train = write(tmp_path / "t.csv", "a,b,c\n" + "".join(
        f"{i},{'xy'[i % 2]},{i % 2}\n" for i in range(20)))
    assert invoke("train", "--csv", train, "--target", "c", "--max-epochs", "5",
                  "--out", tmp_path / "m").exit_code == 0
    model = tmp_path / "m" / "model.safetensors"
    lacks = write(tmp_path / "lacks.csv", "a,c\n1,0\n")
    result = invoke("predict", model, "--csv", lacks)
    assert result.exit_code == 2 and "lacks column 'b' that the model was trained on" in result.output
    text_in_number = write(tmp_path / "bad.csv", "a,b\n1,x\nfoo,y\n")
    result = invoke("predict", model, "--csv", text_in_number)
    assert result.exit_code == 2
    assert "column 'a' is numeric in training but line 3 holds 'foo'" in result.output
