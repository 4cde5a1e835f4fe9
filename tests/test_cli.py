"""End-to-end tests of every command, through typer's runner and real subprocesses."""

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import mlplab
from mlplab import load
from mlplab.cli import app

runner = CliRunner()
COMMANDS = ["train", "predict", "show", "gradcheck", "trace", "lab", "tour", "serve", "sweep",
            "export"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def mlplab_process(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mlplab", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output
    for command in COMMANDS:
        sub = invoke(command, "--help")
        assert sub.exit_code == 0 and "Usage" in sub.output


def test_help_shows_no_type_tag_on_flags():
    """An on/off flag reads --progress / --no-progress, without a stray <bool>."""
    for command in COMMANDS:
        assert "<bool>" not in invoke(command, "--help").output, command
    assert "<bool>" not in invoke("--help").output
    assert "<float>" in invoke("train", "--help").output  # options with values keep theirs


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"mlplab {mlplab.__version__}"


def test_cli_imports_no_heavy_library_at_start_up():
    """--help stays fast: the command line imports scikit-learn, pandas, matplotlib and scipy
    only inside the commands that use them."""
    code = ("import sys, mlplab.apps.cli; "
            "print(sorted(m for m in ('sklearn', 'pandas', 'matplotlib', 'scipy') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("args,message", [
    (["train", "--lr", "abc"], "Invalid value for '--lr'"),
    (["train", "--bogus"], "No such option: --bogus"),
    (["nosuch"], "No such command 'nosuch'"),
    (["train", "xor", "extra"], "unexpected extra argument"),
])
def test_usage_errors_are_one_line(args, message):
    proc = mlplab_process(*args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert message in proc.stderr and "--help" in proc.stderr


def test_train_xor_with_lecture_defaults_prints_W_and_b(tmp_path):
    result = invoke("train", "--out", tmp_path, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "converged" in result.output and "training accuracy 100.0%" in result.output
    assert "W(1) (2, 2)" in result.output and "b(2) (1,)" in result.output
    net = load(tmp_path / "model.safetensors")
    assert net.sizes == [2, 2, 1]
    assert net.extra["training"]["optimizer"] == "gd" and net.extra["training"]["data"] == "xor"
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epochs"] == len(history["loss"])


@pytest.mark.parametrize("data", ["and", "or"])
def test_train_and_or(data):
    result = invoke("train", data, "--no-progress")
    assert result.exit_code == 0 and "training accuracy 100.0%" in result.output


def test_train_hidden_sizes_for_a_truth_table(tmp_path):
    result = invoke("train", "--hidden", "3", "--out", tmp_path, "--no-progress")
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "model.safetensors").sizes == [2, 3, 1]


def test_train_shows_a_progress_bar():
    result = invoke("train", "--max-epochs", "300")
    assert result.exit_code == 0
    assert "epoch" in result.output and "300/300" in result.output and "loss" in result.output


def test_saved_files_follow_the_umask(tmp_path):
    """Model files were 0600 (the temporary file's mode); they get what open() would give."""
    old = os.umask(0o022)
    try:
        assert invoke("train", "--max-epochs", "5", "--out", tmp_path,
                      "--no-progress").exit_code == 0
    finally:
        os.umask(old)
    for name in ("model.safetensors", "history.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_gradcheck_command_passes_and_reports_layers():
    result = invoke("gradcheck", "--layers", "3,4,4,3", "--activation", "tanh",
                    "--loss", "cross_entropy")
    assert result.exit_code == 0, result.output
    assert "layer 3" in result.output and "PASS" in result.output


@pytest.mark.parametrize("layers", [
    lambda L: [L.Input((1, 6, 6)), L.Conv2D(1, 2, 3, "relu", padding="same"), L.MaxPool2D(2),
               L.Flatten(), L.Dense(None, 3, "softmax")],
    lambda L: [L.Input((4, 2)), L.LSTM(None, 3, return_sequences=True),
               L.TimeDense(None, 3, "softmax")],
    lambda L: [L.Input((4, 2)), L.GRU(None, 3), L.Dense(None, 1, "identity")],
])
def test_gradcheck_command_checks_saved_image_and_sequence_models(layers, tmp_path):
    """--model draws samples of the model's own shape (it drew vectors, and refused these)."""
    from mlplab import layers as L

    net = mlplab.Network.from_layers(layers(L), loss="cross_entropy"
                                     if layers(L)[-1].g.name == "softmax" else "mse", seed=0)
    mlplab.save(net, tmp_path / "m.safetensors")
    result = invoke("gradcheck", "--model", str(tmp_path / "m.safetensors"))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and f"layer {len(net.layers) - 1}" in result.output


def test_show_names_sequence_inputs_and_per_step_layers(tmp_path):
    from mlplab import layers as L

    net = mlplab.Network.from_layers([L.Input((5, 2)), L.GRU(None, 4, return_sequences=True),
                                      L.TimeDense(None, 3, "softmax")], loss="cross_entropy",
                                     seed=0)
    mlplab.save(net, tmp_path / "m.safetensors")
    result = invoke("show", str(tmp_path / "m.safetensors"))
    assert result.exit_code == 0, result.output
    assert "(5×2 sequences: time × features)" in result.output  # it said "images"
    assert "→ 5×4 steps × units" in result.output and "2 time_dense" in result.output


def test_trace_command_text_and_json():
    result = invoke("trace", "--x", "1,0", "--y", "1")
    assert result.exit_code == 0
    assert "δ⁽¹⁾" in result.output and "(W⁽²⁾)ᵀδ⁽²⁾ ⊙ sigmoid'(z⁽¹⁾)" in result.output
    data = json.loads(invoke("trace", "--json").output)
    assert {s["symbol"] for s in data["steps"]} >= {"z⁽¹⁾", "δ⁽²⁾", "W⁽²⁾ new"}


def test_predict_and_show_a_truth_table_model(tmp_path):
    assert invoke("train", "--out", tmp_path, "--no-progress").exit_code == 0
    model = tmp_path / "model.safetensors"
    pred = invoke("predict", model, "xor")
    assert pred.exit_code == 0 and pred.output.count("->") == 8  # 4 rows, 2 arrows each
    table = tmp_path / "pred.csv"
    assert invoke("predict", model, "xor", "--output", table).exit_code == 0
    lines = table.read_text().splitlines()
    assert lines[0] == "row,x1,x2,a1,predicted1" and len(lines) == 5
    assert [line.split(",")[-1] for line in lines[1:]] == ["0", "1", "1", "0"]
    shown = invoke("show", model)
    assert shown.exit_code == 0 and "W(1) (2, 2)" in shown.output
    assert "training: data xor, optimizer gd, learning_rate 1" in shown.output
    assert "9 parameters" in shown.output and "trained " in shown.output


@pytest.mark.parametrize("args,message", [
    (["train", "--lr", "2"], "learning rate α must be in (0, 1]"),
    (["train", "--epsilon", "0"], "--epsilon must be > 0, got 0"),
    (["train", "--activation", "swish"], "unknown activation 'swish'"),
    (["train", "--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    (["train", "--optimizer", "lbfgs", "--checkpoint", "c.ckpt"],
     "--checkpoint and --resume go with the epoch-based optimizers"),
    (["train", "--loss", "hinge"], "unknown loss 'hinge'"),
    (["train", "--layers", "3,2,1"], "--layers starts with 3 inputs"),
    (["train", "--layers", "2,x,1"], "comma-separated integers"),
    (["train", "--activation", "step"], "derivative is 0"),
    (["train", "nodata"], "unknown data set 'nodata'"),
    (["train", "missing.csv", "--target", "y"], "does not exist"),
    (["show", "nope.safetensors"], "does not exist"),
    (["trace", "--x", "1,0,1"], "--x has 3 value(s) but the network takes 2 inputs: give --x 2"),
    (["predict", "nope.safetensors", "xor"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and message in lines[-1]
    assert "Traceback" not in result.output
    assert "or None" not in result.output  # the Python API's fix, not the command line's


def test_real_process_exit_code_and_no_traceback():
    proc = mlplab_process("train", "--lr", "5")
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


def test_lab_with_an_unknown_name_creates_no_folder(tmp_path):
    result = invoke("lab", "nosuchlab", "--out", tmp_path / "new")
    assert result.exit_code == 2 and "unknown experiment 'nosuchlab'" in result.output
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("args", [["lab"], ["lab", "list"]])
def test_lab_lists_the_experiments(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, "--lang", "en")
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert {"xor", "gradients", "rnn", "cnn"} <= set(names) and len(names) >= 15
    assert not (tmp_path / "lab-out").exists()  # listing writes nothing


def test_a_model_that_cannot_be_saved_after_training_is_rescued(tmp_path, monkeypatch,
                                                                 unwritable):
    """Saving fails after training (here: a folder nobody may write, as when a disk is
    unmounted or permissions change mid-run): the model goes to the current folder."""
    from mlplab.apps.cli.train import _save

    net = mlplab.Network([2, 2, 1], seed=0)
    history = net.fit(*mlplab.datasets.xor(), max_epochs=3)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(mlplab.ModelFileError, match="the trained model was saved to "
                                                     f"{tmp_path}/mlplab-rescued-"):
        _save(net, unwritable / "run", {"training": {"seed": 0}}, history)
    rescued = list(tmp_path.glob("mlplab-rescued-*.safetensors"))
    assert len(rescued) == 1
    np.testing.assert_array_equal(load(rescued[0]).layers[1].W, net.layers[1].W)


def test_train_on_another_device_gives_the_same_network(tmp_path):
    pytest.importorskip("torch")
    outs = {}
    for device in ("cpu", "torch"):
        result = runner.invoke(app, ["train", "xor", "--device", device, "--no-progress",
                                     "--out", str(tmp_path / device)])
        assert result.exit_code == 0, result.output
        outs[device] = load(tmp_path / device / "model.safetensors")
    for p, q in zip(outs["cpu"].params, outs["torch"].params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_a_device_this_machine_lacks_is_one_line_before_any_work(tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = runner.invoke(app, ["train", "xor", "--device", "cuda", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no CUDA GPU" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "model.safetensors").exists()


def test_a_reader_that_leaves_early_does_not_lose_the_model(tmp_path):
    """``mlplab train --out DIR | head -1``: the pipe closes after one line; the run still
    ends and saves (it exited 1 with nothing saved, on BrokenPipeError)."""
    import subprocess
    import sys

    out = tmp_path / "piped"
    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "train", "xor", "--no-progress",
                             "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.readline()
    proc.stdout.close()  # as head does after its line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert (out / "model.safetensors").exists() and b"Traceback" not in err
