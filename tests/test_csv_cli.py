"""``mlplab train FILE.csv`` (or ``--csv FILE``) and ``mlplab predict MODEL FILE.csv``: one
route, the inferred encoding saved with the model, every option honoured or refused, inputs
that would explode refused or cut down with a warning, and one-line errors that name the
column or line."""

import json
import os
import re
import stat

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mlplab
from mlplab.cli import app
from mlplab.datasets import load_heart_cleveland
from mlplab.datasets.csv_model import prepare_csv, train_csv
from mlplab.preprocessing import TabularEncoder


pytestmark = pytest.mark.usefixtures("one_blas_thread")

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def write(path, text):
    path.write_text(text)
    return path


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


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


@pytest.fixture(scope="module")
def heart(tmp_path_factory):
    frame = load_heart_cleveland(as_frame=True, binary=True).frame
    path = tmp_path_factory.mktemp("heart") / "heart.csv"
    frame.to_csv(path, index=False, na_rep="?")
    return path


def test_encoder_infers_kinds_imputes_and_round_trips_as_json(mixed):
    frame = pd.read_csv(mixed, na_values=["?"]).drop(columns="label")
    enc = TabularEncoder().fit(frame)
    assert [c["kind"] for c in enc.columns] == ["numeric", "categorical"]
    # the empty colour is the category '?', an input of its own (UCI's marker for missing)
    assert enc.feature_names == ["x", "colour=?", "colour=blue", "colour=green", "colour=red"]
    assert [c["missing"] for c in enc.columns] == [2, 1]  # x: '?' and empty; colour: empty
    X = enc.transform(frame)
    assert np.isfinite(X).all() and X.shape == (120, 5)
    assert abs(X[:, 0].mean()) < 0.02  # standardized (imputed medians pull it a hair)
    assert X[:, 1:].sum(axis=1).tolist() == [1.0] * 120
    assert np.flatnonzero(X[:, 1]).tolist() == [7]  # the row whose colour is empty
    back = TabularEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    unseen = pd.DataFrame({"x": [0.5], "colour": ["purple"]})
    np.testing.assert_array_equal(back.transform(unseen)[0, 1:], [0, 0, 0, 0])  # unknown → zeros


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
    history = json.loads((out / "history.json").read_text())  # --out promised it
    assert history["epochs"] == len(history["loss"]) == len(history["val_loss"])

    new = write(tmp_path / "new.csv", "colour,x,label\npurple,1.5,yes\nred,?,no\nred,1.0,no\n")
    pred_file = tmp_path / "pred.csv"
    result = invoke("predict", out / "model.safetensors", "--csv", new, "--output", pred_file)
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(pred_file)["predicted_label"].tolist()
    assert set(predicted) <= {"yes", "no"} and len(predicted) == 3
    assert predicted[2] == "no"  # x > 0 and red: the XOR-like rule says no
    assert "against the 'label' column" in result.output


def test_the_two_spellings_are_one_route(heart, tmp_path):
    """FILE.csv as DATA and --csv FILE standardize, encode, hold out and train alike (DATA
    used to train on raw columns with the lecture's defaults and reach 54.5 %)."""
    a, b = tmp_path / "a", tmp_path / "b"
    first = invoke("train", heart, "--target", "disease", "--out", a, "--no-progress")
    second = invoke("train", "--csv", heart, "--target", "disease", "--out", b, "--no-progress")
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    untimed = [re.sub(r"\(\d+\.\d+ s\)", "", r.output.replace(str(d), "DIR"))
               for r, d in ((first, a), (second, b))]
    assert untimed[0] == untimed[1]
    net_a, net_b = mlplab.load(a / "model.safetensors"), mlplab.load(b / "model.safetensors")
    for p, q in zip(net_a.params, net_b.params):
        np.testing.assert_array_equal(p, q)
    assert net_a.extra["tabular"]["metrics"]["accuracy"] > 0.75


def test_every_option_is_honoured(heart, tmp_path):
    result = invoke("train", heart, "--target", "disease", "--layers", "13,5,4,1",
                    "--activation", "tanh,relu", "--optimizer", "momentum", "--lr", "0.05",
                    "--max-epochs", "7", "--batch-size", "50", "--init", "he_normal",
                    "--seed", "3", "--loss", "mse", "--output", "sigmoid", "--test-size",
                    "0.3", "--out", tmp_path, "--no-progress")
    assert result.exit_code == 0, result.output
    net = mlplab.load(tmp_path / "model.safetensors")
    assert net.sizes == [13, 5, 4, 1] and net.loss.name == "mse"
    assert [layer.g.name for layer in net.layers[1:]] == ["tanh", "relu", "sigmoid"]
    assert net.saved_history["epochs"] == 7
    assert net.extra["training"] == {
        "data": str(heart), "optimizer": "momentum", "learning_rate": 0.05, "batch_size": 50,
        "max_epochs": 7, "epsilon": 1e-4, "init": "he_normal", "seed": 3, "test_size": 0.3}
    assert "held-out 91 rows (30%)" in result.output


def test_checkpoint_and_resume_on_a_csv(heart, tmp_path):
    """A resumed CSV run ends with the weights of an uninterrupted one."""
    ck = tmp_path / "run.ckpt"
    common = ["train", heart, "--target", "disease", "--no-progress", "--checkpoint", ck]
    assert invoke(*common, "--max-epochs", "4").exit_code == 0
    resumed = invoke(*common, "--max-epochs", "9", "--resume", "--out", tmp_path / "r")
    assert resumed.exit_code == 0, resumed.output
    straight = invoke("train", heart, "--target", "disease", "--no-progress", "--max-epochs",
                      "9", "--out", tmp_path / "s")
    assert straight.exit_code == 0
    a = mlplab.load(tmp_path / "r" / "model.safetensors")
    b = mlplab.load(tmp_path / "s" / "model.safetensors")
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)


def test_summary_then_keras_style_progress(heart):
    result = invoke("train", heart, "--target", "disease", "--max-epochs", "40")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("parameters") < out.index("epoch 4/40")  # the summary comes first
    assert "(16, 13), (16,)" in out and "241 parameters" in out
    last = [line for line in out.splitlines() if line.startswith("epoch 40/40")][0]
    for field in ("loss ", "val_loss ", "val_accuracy "):
        assert field in last
    assert "ETA" in [line for line in out.splitlines() if line.startswith("epoch 20/40")][0]


def test_predict_prints_a_table_and_writes_the_same_csv(heart, tmp_path):
    assert invoke("train", heart, "--target", "disease", "--out", tmp_path,
                  "--no-progress").exit_code == 0
    model = tmp_path / "model.safetensors"
    shown = invoke("predict", model, heart, "--rows", "5")  # DATA works as --csv does
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].split() == ["row", "predicted_disease", "P(0)", "P(1)"]
    assert lines[1].split()[0] == "1" and "… 298 more rows" in shown.output
    out = tmp_path / "pred.csv"
    old = os.umask(0o022)
    try:
        assert invoke("predict", model, "--csv", heart, "--output", out).exit_code == 0
    finally:
        os.umask(old)
    table = pd.read_csv(out)
    assert list(table.columns) == ["row", "predicted_disease", "P(0)", "P(1)"]
    assert len(table) == 303 and table["row"].tolist() == list(range(1, 304))
    np.testing.assert_allclose(table["P(0)"] + table["P(1)"], 1, atol=2e-4)
    assert (table["predicted_disease"] == (table["P(1)"] > 0.5)).all()
    for line, row in zip(lines[1:6], table.itertuples(index=False)):
        assert line.split() == [str(row.row), str(row.predicted_disease), f"{row[2]:.4f}",
                                f"{row[3]:.4f}"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_show_lists_columns_classes_and_training(mixed, tmp_path):
    assert invoke("train", mixed, "--target", "label", "--max-epochs", "5", "--out",
                  tmp_path, "--no-progress").exit_code == 0
    shown = invoke("show", tmp_path / "model.safetensors")
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "data: 2 columns → 4 inputs" in out
    assert "x: number, standardized with mean" in out
    assert "colour: text, one-hot over blue, green, red" in out
    assert "target 'label': classes no, yes" in out and "held-out accuracy" in out
    assert "training: data " in out and "optimizer adam" in out and "max_epochs 5" in out


def test_lbfgs_trains_with_scipys_l_bfgs_b(mixed, tmp_path):
    # scikit-learn's solver for small data: every weight at once, no learning rate or batches
    result = invoke("train", "--csv", mixed, "--target", "label", "--hidden", "8",
                    "--optimizer", "lbfgs", "--max-epochs", "200", "--out", tmp_path / "m",
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert "stopped: L-BFGS-B: CONVERGENCE" in result.output
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert 0 < history["epochs"] == len(history["loss"]) == len(history["val_loss"]) <= 200
    assert history["loss"][-1] < 0.01 * history["loss"][0]
    net = mlplab.load(tmp_path / "m" / "model.safetensors")
    assert net.extra["tabular"]["metrics"]["accuracy"] > 0.75


def test_regression_target_prints_metrics(tmp_path):
    frame = load_heart_cleveland(as_frame=True).frame
    path = tmp_path / "heart.csv"
    frame.to_csv(path, index=False, na_rep="?")
    result = invoke("train", "--csv", path, "--target", "thalach", "--max-epochs", "50",
                    "--lr", "0.01", "--out", tmp_path / "m", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "target 'thalach': regression" in " ".join(result.output.split())
    assert "R²" in result.output and "RMSE" in result.output
    pred = invoke("predict", tmp_path / "m" / "model.safetensors", path, "--rows", "3")
    assert pred.output.splitlines()[0].split() == ["row", "predicted_thalach"]
    assert 60 < float(pred.output.splitlines()[1].split()[1]) < 220  # beats per minute


def test_latin1_csv_is_detected_with_a_warning(tmp_path):
    rows = "".join(f"{'café' if i % 2 else 'naïve'},{i},{i % 2}\n" for i in range(40))
    path = tmp_path / "latin.csv"
    path.write_bytes(("name,x,y\n" + rows).encode("latin-1"))
    result = invoke("train", path, "--target", "y", "--max-epochs", "3", "--out", tmp_path,
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "is not UTF-8 text" in result.output
    assert "name: text, one-hot over café, naïve" in invoke(
        "show", tmp_path / "model.safetensors").output
    forced = invoke("train", path, "--target", "y", "--encoding", "latin-1", "--max-epochs", "3",
                    "--no-progress")
    assert forced.exit_code == 0 and "warning" not in forced.output


# ---------------------------------------------------------------- inputs that explode
def test_identifier_column_is_dropped_with_a_warning(tmp_path):
    """50,000 distinct ids once made train --csv allocate 11.9 GiB for their one-hot."""
    rng = np.random.default_rng(0)
    n = 50_000
    x = rng.normal(size=n).round(3)
    frame = pd.DataFrame({"id": [f"user-{i:05d}" for i in rng.permutation(n)], "x": x,
                          "y": (x > 0).astype(int)})
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size < 1.1e6
    result = invoke("train", path, "--target", "y", "--max-epochs", "2", "--out", tmp_path,
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "dropped column 'id'" in result.output
    assert "1 numeric and 0 categorical columns → 1 inputs" in result.output
    net = mlplab.load(tmp_path / "model.safetensors")
    assert net.n_inputs == 1 and net.extra["tabular"]["encoder"]["dropped"][0]["name"] == "id"


def test_many_categories_are_capped_with_a_warning(tmp_path):
    rng = np.random.default_rng(1)
    n = 3000  # 300 towns, 10 rows each: not identifiers, but 300 inputs
    frame = pd.DataFrame({"town": [f"t{i % 300}" for i in range(n)], "x": rng.normal(size=n),
                          "y": rng.integers(0, 2, n)})
    path = tmp_path / "towns.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(mlplab.preprocessing.ColumnWarning, match="'town' has 300 distinct "
                                                                 "values; kept the 40 most"):
        data = prepare_csv(path, "y", max_categories=40)
    assert data.n_inputs == 41
    result = invoke("train", path, "--target", "y", "--max-categories", "50", "--max-epochs",
                    "2", "--no-progress")
    assert result.exit_code == 0 and "kept the 50 most frequent" in result.output
    assert "→ 51 inputs" in result.output


def test_memory_is_estimated_before_the_encoding_is_allocated(mixed):
    frame = pd.read_csv(mixed, na_values=["?"]).drop(columns="label")
    enc = TabularEncoder().fit(frame)
    with pytest.raises(mlplab.DataError, match=r"encoding 120 rows × 5 inputs needs 4.69 KiB "
                                               r"but 1000 bytes is available"):
        enc.transform(frame, source="mixed.csv", memory_limit=1000)
    assert enc.transform(frame, memory_limit=120 * 5 * 8).shape == (120, 5)


def test_long_cells_cost_no_memory_in_the_one_hot():
    """The one-hot compares integer codes, not fixed-width strings: a 5,000-character
    category used to make every row of the comparison 5,000 characters wide."""
    long = ["a" * 5000 + str(i % 3) for i in range(20_000)]
    frame = pd.DataFrame({"t": long})
    enc = TabularEncoder().fit(frame)
    X = enc.transform(frame)
    assert X.shape == (20_000, 3) and (X.sum(axis=1) == 1).all()


def test_long_lines_and_cells_are_refused(tmp_path):
    huge = tmp_path / "huge.csv"
    huge.write_text("a,y\n1,0\n" + "x" * (5 * 2**20) + ",1\n")
    result = invoke("train", huge, "--target", "y")
    assert errors(result) == [f"error: {huge}: line 3 is longer than 4 MiB (the longest line "
                              "mlplab reads); is it a CSV table? Shorten or drop its long text "
                              "cells"]
    cell = write(tmp_path / "cell.csv", "a,y\nb,0\n" + "c" * 20_000 + ",1\n")
    result = invoke("train", cell, "--target", "y")
    assert "line 3, column 'a' holds a cell of 20,000 characters" in errors(result)[0]


@pytest.mark.parametrize("text,task,expected", [
    ("a,y\n1,1e308\n2,-1e308\n3,1e308\n4,-1e308\n", "auto",
     "target column 'y' holds 1e+308 on line 2, beyond ±1e+150"),
    ("a,y\n1e308,1\n2,0\n3,1\n4,0\n", "auto", "column 'a' holds 1e+308 on line 2"),
    ("a,y\n1,1e200\n2,3\n3,1e200\n4,3\n", "regression", "target column 'y' holds 1e+200"),
], ids=["target-1e308", "feature-1e308", "regression-1e200"])
def test_huge_numbers_are_refused(tmp_path, text, task, expected):
    result = invoke("train", write(tmp_path / "big.csv", text), "--target", "y", "--task", task)
    assert result.exit_code == 2 and expected in errors(result)[0]


def test_huge_numbers_are_fine_class_labels(tmp_path):
    text = "a,y\n" + "".join(f"{i},{'1e308' if i % 2 else '-1e308'}\n" for i in range(20))
    data = prepare_csv(write(tmp_path / "big.csv", text), "y", task="classification")
    assert data.target.classes == [-1e308, 1e308]


def test_duplicated_target_column_is_refused(tmp_path):
    """a,y,y used to train on the second y as a feature (pandas' y.1): 100 % by leaking."""
    path = write(tmp_path / "dup.csv", "a,y,y\n" + "".join(
        f"{i},{i % 2},{i % 2}\n" for i in range(20)))
    result = invoke("train", path, "--target", "y")
    assert errors(result) == [f"error: {path} has two columns named 'y' (columns 2 and 3); "
                              "rename one: a second target column would be read as a feature "
                              "and leak the answer"]


def test_files_that_are_not_files(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would block forever: it must never be opened
    loop = tmp_path / "loop.csv"
    loop.symlink_to(tmp_path / "loop2.csv")
    (tmp_path / "loop2.csv").symlink_to(loop)
    cases = {fifo: "is a FIFO (named pipe), not a regular file",
             loop: "cannot be opened: Too many levels of symbolic links",
             tmp_path: "is a folder; give the CSV file inside it"}
    if os.path.exists("/dev/zero"):
        cases["/dev/zero"] = "is a character device, not a regular file"
    for path, message in cases.items():
        result = invoke("train", "--csv", path, "--target", "y")
        assert result.exit_code == 2 and message in errors(result)[0], result.output


def test_train_csv_in_python_is_the_command_line_route(tmp_path, mixed):
    run = train_csv(mixed, "label", hidden=(8,), max_epochs=150, learning_rate=0.01, seed=2)
    assert run.n_test == 24 and len(run.predictions) == 24 and run.metrics["accuracy"] > 0.7
    np.testing.assert_allclose(run.probabilities.sum(axis=1), 1)
    assert invoke("train", mixed, "--target", "label", "--hidden", "8", "--max-epochs", "150",
                  "--lr", "0.01", "--seed", "2", "--out", tmp_path, "--no-progress"
                  ).exit_code == 0
    for p, q in zip(run.net.params, mlplab.load(tmp_path / "model.safetensors").params):
        np.testing.assert_array_equal(p, q)


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


# ---------------------------------------------------------------- found using the command line
def test_float_class_labels_are_scored_as_the_classes_they_are(tmp_path):
    """A target written 0.0/1.0 (pandas writes ints with a NaN elsewhere so) is the classes 0
    and 1: the report compared "0" with "0.0" and said accuracy 0 for a perfect model."""
    x = np.linspace(-1, 1, 40)
    path = write(tmp_path / "f.csv", "x,y\n" + "".join(f"{v:.3f},{float(v > 0)}\n" for v in x))
    out = tmp_path / "run"
    result = invoke("train", path, "--target", "y", "--lr", "0.05", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    accuracy = mlplab.load(out / "model.safetensors").extra["tabular"]["metrics"]["accuracy"]
    assert accuracy >= 0.875, result.output
    result = invoke("predict", out / "model.safetensors", path)
    assert re.search(r"accuracy\s+(0\.9\d|1\.00)\s+40", result.output), result.output


def test_semicolon_and_tab_files_are_read_with_their_decimal_commas(tmp_path):
    """Excel in much of Europe saves ``x;colour;label`` with ``0,5``: it was refused as a file
    of one column "expected a header of comma-separated names" (predict: "lacks column")."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    rows = [(f"{v:.3f}".replace(".", ","), "ab"[i % 2], "yes" if v > 0 else "no")
            for i, v in enumerate(x)]
    semi = write(tmp_path / "semi.csv", "x;colour;label\n" + "".join(";".join(r) + "\n"
                                                                      for r in rows))
    tab = write(tmp_path / "tab.tsv", "x\tcolour\tlabel\n" + "".join(
        "\t".join((r[0].replace(",", "."), *r[1:])) + "\n" for r in rows))
    for path in (semi, tab):
        out = tmp_path / path.stem
        result = invoke("train", path, "--target", "label", "--lr", "0.05", "--out", out,
                        "--no-progress")
        assert result.exit_code == 0, result.output
        assert "1 numeric and 1 categorical columns → 3 inputs" in result.output
        net = mlplab.load(out / "model.safetensors")
        assert net.extra["tabular"]["metrics"]["accuracy"] >= 0.9
    frame = mlplab.datasets.csv.read_frame(semi)
    np.testing.assert_allclose(frame["x"], np.round(x, 3))
    result = invoke("predict", tmp_path / "semi" / "model.safetensors", semi, "--rows", "1")
    assert result.exit_code == 0 and "against the 'label' column" in result.output


def test_a_file_without_a_header_line_is_named_as_such(tmp_path):
    path = write(tmp_path / "raw.csv", "63.0,1.0,0\n67.0,1.0,1\n")
    result = invoke("train", path, "--target", "disease")
    assert result.exit_code == 2
    assert "a first line holding 63.0 is a row of data, not names: add a header line" in \
        errors(result)[0]


def test_training_rows_of_one_class_are_refused(tmp_path):
    """Two rows, two classes: one was held out and the network learned from one class alone,
    then reported on the other ("held-out 1 rows (20%)": it was 50 %)."""
    path = write(tmp_path / "tiny.csv", "x,label\n1,a\n2,b\n")
    result = invoke("train", path, "--target", "label", "--no-progress")
    assert result.exit_code == 2
    assert errors(result) == [f"error: {path}: the 1 training row(s) left after holding out 1 "
                              "hold only the class 'b'; a classifier learns from rows of at "
                              "least two classes: give more rows (at least two of each class)"]
    three = write(tmp_path / "three.csv", "x,label\n1,a\n2,b\n3,a\n")
    result = invoke("train", three, "--target", "label", "--no-progress")
    assert result.exit_code == 0 and "held-out 1 rows (33%)" in result.output


def test_an_empty_hidden_list_means_no_hidden_layer(heart, tmp_path):
    """--hidden '' is logistic regression, as for a truth table; a CSV got 16 units instead."""
    result = invoke("train", heart, "--target", "disease", "--hidden", "", "--out", tmp_path,
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert mlplab.load(tmp_path / "model.safetensors").sizes == [13, 1]


def test_predict_scores_the_rows_that_have_a_target(mixed, tmp_path):
    """New patients whose diagnosis is known for some only: the report vanished, silently."""
    out = tmp_path / "model"
    assert invoke("train", mixed, "--target", "label", "--out", out,
                  "--no-progress").exit_code == 0
    new = write(tmp_path / "new.csv", "x,colour,label\n1.5,blue,yes\n-1,red,\n0.3,green,no\n")
    result = invoke("predict", out / "model.safetensors", new)
    assert result.exit_code == 0, result.output
    assert f"against the 'label' column of {new} (2 rows with a value in it; 1 without):" in \
        result.output and re.search(r"accuracy\s+\S+\s+2\n", result.output)


def test_a_csv_trained_on_another_device_is_reported_and_saved(mixed, tmp_path):
    """--device torch (or cuda) trained, then the report fed NumPy rows to torch weights: a
    TypeError traceback, and the trained model was not saved."""
    pytest.importorskip("torch")
    metrics = {}
    for device in ("cpu", "torch"):
        out = tmp_path / device
        result = invoke("train", mixed, "--target", "label", "--device", device, "--out", out,
                        "--no-progress")
        assert result.exit_code == 0, result.output
        metrics[device] = mlplab.load(out / "model.safetensors").extra["tabular"]["metrics"]
    assert metrics["torch"]["accuracy"] == pytest.approx(metrics["cpu"]["accuracy"])
