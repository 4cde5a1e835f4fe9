"""End-to-end tests of every command, through typer's runner and one real subprocess."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mlplab import load
from mlplab.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ["train", "predict", "show", "gradcheck", "trace", "lab", "tour", "serve"]:
        assert command in result.output
    for command in ["train", "predict", "show", "gradcheck", "trace", "lab", "tour", "serve"]:
        sub = invoke(command, "--help")
        assert sub.exit_code == 0 and "Usage" in sub.output


def test_train_xor_with_lecture_defaults_prints_W_and_b(tmp_path):
    result = invoke("train", "--out", tmp_path, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "converged" in result.output and "training accuracy 100.0%" in result.output
    assert "W(1) (2, 2)" in result.output and "b(2) (1,)" in result.output
    net = load(tmp_path / "model.safetensors")
    assert net.sizes == [2, 2, 1]
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epochs"] == len(history["loss"])


@pytest.mark.parametrize("data", ["and", "or"])
def test_train_and_or(data):
    result = invoke("train", data, "--no-progress")
    assert result.exit_code == 0 and "training accuracy 100.0%" in result.output


def test_train_shows_a_progress_bar():
    result = invoke("train", "--max-epochs", "300")
    assert result.exit_code == 0
    assert "epoch" in result.output and "300/300" in result.output and "loss" in result.output


def test_train_csv_then_predict_and_show(tmp_path):
    csv = tmp_path / "d.csv"
    rows = ["x1,x2,label"] + [f"{a},{b},{a ^ b}" for a in (0, 1) for b in (0, 1)] * 3
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    result = invoke("train", csv, "--target", "label", "--layers", "2,3,1", "--out", out,
                    "--no-progress")
    assert result.exit_code == 0, result.output
    pred = invoke("predict", out / "model.safetensors", csv)
    assert pred.exit_code == 0 and pred.output.count("->") == 24  # 12 rows, 2 arrows each
    shown = invoke("show", out / "model.safetensors")
    assert shown.exit_code == 0 and "W(1) (3, 2)" in shown.output and "trained" in shown.output


def test_gradcheck_command_passes_and_reports_layers():
    result = invoke("gradcheck", "--layers", "3,4,4,3", "--activation", "tanh",
                    "--loss", "cross_entropy")
    assert result.exit_code == 0, result.output
    assert "layer 3" in result.output and "PASS" in result.output


def test_trace_command_text_and_json():
    result = invoke("trace", "--x", "1,0", "--y", "1")
    assert result.exit_code == 0
    assert "δ⁽¹⁾" in result.output and "(W⁽²⁾)ᵀδ⁽²⁾ ⊙ sigmoid'(z⁽¹⁾)" in result.output
    data = json.loads(invoke("trace", "--json").output)
    assert {s["symbol"] for s in data["steps"]} >= {"z⁽¹⁾", "δ⁽²⁾", "W⁽²⁾ new"}


@pytest.mark.parametrize("args,message", [
    (["train", "--lr", "2"], "learning rate α must be in (0, 1]"),
    (["train", "--epsilon", "0"], "epsilon ε must be > 0"),
    (["train", "--activation", "swish"], "unknown activation 'swish'"),
    (["train", "--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    (["train", "--optimizer", "lbfgs"], "--optimizer lbfgs trains the --csv estimators"),
    (["train", "--loss", "hinge"], "unknown loss 'hinge'"),
    (["train", "--layers", "3,2,1"], "--layers starts with 3 inputs"),
    (["train", "--layers", "2,x,1"], "comma-separated integers"),
    (["train", "--activation", "step"], "derivative is 0"),
    (["train", "nodata"], "unknown data set 'nodata'"),
    (["train", "missing.csv", "--target", "y"], "does not exist"),
    (["show", "nope.safetensors"], "does not exist"),
    (["trace", "--x", "1,0,1"], "3 features but the network expects 2"),
    (["predict", "nope.safetensors", "xor"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and message in lines[-1]
    assert "Traceback" not in result.output


def test_real_process_exit_code_and_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "mlplab", "train", "--lr", "5"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: learning rate")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_train_takes_one_activation_per_hidden_layer(tmp_path):
    result = invoke("train", "--layers", "2,4,3,1", "--activation", "tanh,relu", "--max-epochs",
                    "50", "--out", tmp_path, "--no-progress")
    assert result.exit_code == 0, result.output
    net = load(tmp_path / "model.safetensors")  # MSE after non-sigmoid layers: identity out
    assert [layer.g.name for layer in net.layers[1:]] == ["tanh", "relu", "identity"]
    bad = invoke("train", "--layers", "2,4,3,1", "--activation", "tanh,relu,relu")
    assert bad.exit_code == 2 and "one g per hidden layer" in bad.output
    assert "Traceback" not in bad.output
