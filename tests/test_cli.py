"""End-to-end tests of every command, through typer's runner and real subprocesses."""

import json
import os
import re
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


# ---------------------------------------------------------------- found using the command line
@pytest.fixture(scope="module")
def heart_run(tmp_path_factory):
    """heart.csv and a model trained on it, in one folder."""
    from mlplab.datasets import load_heart_cleveland

    folder = tmp_path_factory.mktemp("heart")
    load_heart_cleveland(as_frame=True, binary=True).frame.to_csv(
        folder / "heart.csv", index=False, na_rep="?")
    result = invoke("train", folder / "heart.csv", "--target", "disease", "--out",
                    folder / "run", "--no-progress")
    assert result.exit_code == 0, result.output
    return folder


def _errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def test_predict_never_writes_over_its_own_data_or_model(heart_run):
    """--output heart.csv replaced the patients with predictions; --output MODEL the model."""
    csv, model = heart_run / "heart.csv", heart_run / "run" / "model.safetensors"
    before = csv.read_bytes(), model.read_bytes()
    for output, what in ((csv, "the data file"), (model, "the model file")):
        result = invoke("predict", model, "--csv", csv, "--output", output)
        assert result.exit_code == 2
        assert _errors(result) == [f"error: --output {output} is {what} itself; writing there "
                                   "would destroy it: give another file name"]
    assert (csv.read_bytes(), model.read_bytes()) == before


def test_a_checkpoint_never_writes_over_another_file(heart_run, tmp_path):
    """--checkpoint heart.csv (or a saved model) was overwritten with a checkpoint."""
    csv, model = heart_run / "heart.csv", heart_run / "run" / "model.safetensors"
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    before = csv.read_bytes(), model.read_bytes()
    cases = [(csv, f"--checkpoint {csv} is the data file itself"),
             (model, f"--checkpoint {model} is an mlplab model file; training would overwrite"),
             (notes, f"--checkpoint {notes} is not an mlplab checkpoint; training would")]
    for checkpoint, message in cases:
        result = invoke("train", csv, "--target", "disease", "--checkpoint", checkpoint)
        assert result.exit_code == 2 and message in result.output, result.output
    result = invoke("train", csv, "--target", "disease", "--out", heart_run / "run",
                    "--checkpoint", model)
    assert "a file --out" in _errors(result)[0]
    assert (csv.read_bytes(), model.read_bytes()) == before and notes.read_text() == "my notes"


def test_resume_refuses_another_hold_out_or_a_changed_file(heart_run, tmp_path):
    """--resume --seed 2 trained the seed-1 network on the seed-2 split: rows it had learned
    were then 'held out' and scored."""
    csv, ck = heart_run / "heart.csv", tmp_path / "run.ckpt"
    first = invoke("train", csv, "--target", "disease", "--max-epochs", "5", "--checkpoint",
                   ck, "--no-progress")
    assert first.exit_code == 0, first.output
    for extra, message in ((["--seed", "2"], "written with --seed 1, this run has 2"),
                           (["--test-size", "0.3"], "written with --test-size 0.2, this run")):
        result = invoke("train", csv, "--target", "disease", "--max-epochs", "9",
                        "--checkpoint", ck, "--resume", "--no-progress", *extra)
        assert result.exit_code == 2 and message in _errors(result)[0], result.output
    changed = tmp_path / "heart.csv"
    changed.write_text(csv.read_text().replace("\n63.0,", "\n64.0,", 1))
    result = invoke("train", changed, "--target", "disease", "--max-epochs", "9",
                    "--checkpoint", ck, "--resume", "--no-progress")
    assert "written on other contents of heart.csv" in _errors(result)[0]
    result = invoke("train", csv, "--target", "disease", "--max-epochs", "9", "--checkpoint",
                    ck, "--resume", "--no-progress")
    assert result.exit_code == 0 and "after 9 epochs" in result.output, result.output


def _train_until_ctrl_c(tmp_path, *args, presses=1):
    """A real process, interrupted with SIGINT once training has begun."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "train", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    while not any(line.startswith("total") for line in lines):  # the summary: training next
        lines.append(proc.stdout.readline())
        assert lines[-1], "the process ended before training"
    time.sleep(1.0)
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, "".join(lines) + out, err


def test_ctrl_c_stops_at_the_end_of_an_epoch_reports_saves_and_resumes(heart_run, tmp_path):
    """Ctrl-C ended the process silently (exit 130), losing every epoch trained."""
    csv, ck = heart_run / "heart.csv", tmp_path / "run.ckpt"
    common = [csv, "--target", "disease", "--epsilon", "1e-15", "--checkpoint", ck,
              "--checkpoint-every", "1000"]
    code, out, err = _train_until_ctrl_c(tmp_path, *common, "--max-epochs", "10000000",
                                         "--out", tmp_path / "run", "--no-progress")
    assert code == 130, err
    assert "warning: interrupted (Ctrl-C): training stops at the end of this epoch" in err
    epochs = int(re.search(r"stopped: interrupted \(Ctrl-C\) after epoch (\d+)", out).group(1))
    assert "held-out 61 rows (20%)" in out and "Traceback" not in err
    net = load(tmp_path / "run" / "model.safetensors")
    assert net.saved_history["epochs"] == epochs
    result = invoke("train", *common, "--max-epochs", epochs + 3, "--resume", "--no-progress")
    assert result.exit_code == 0, result.output
    assert f"reached max_epochs = {epochs + 3}" in result.output  # it went on where it stopped


def test_a_second_ctrl_c_quits_at_once_in_one_line(tmp_path, monkeypatch):
    """The first Ctrl-C asks for the end of the epoch; a second (or one before training)
    interrupts at once: one line saying what is kept, exit code 130."""
    import signal
    import time

    from mlplab.apps.cli import train as train_module
    from mlplab.apps.cli.runguard import RunRecord, stop_on_ctrl_c

    record = RunRecord({})
    with stop_on_ctrl_c(record, train_module.err_console):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert record.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_train", interrupted)
    result = invoke("train", "--checkpoint", tmp_path / "run.ckpt")
    assert result.exit_code == 130 and _errors(result) == [
        f"error: interrupted (Ctrl-C): the run stopped before saving; checkpoint "
        f"{tmp_path / 'run.ckpt'} keeps the last epoch it saved (--resume continues from it)"]


def test_gradcheck_samples_below_one_is_one_line():
    for samples in ("0", "-1"):  # -1 was a NumPy traceback
        proc = mlplab_process("gradcheck", "--samples", samples)
        assert proc.returncode == 2 and proc.stderr == (
            f"error: --samples must be ≥ 1, got {samples}: the random samples to check the "
            "gradients on (default 5)\n")


def test_trace_of_a_csv_model_encodes_the_row_as_in_training(heart_run):
    """--x 63,1,… went into the network unstandardized (C = 0 for a class-0 target), and a
    class label could not be given as --y."""
    model = heart_run / "run" / "model.safetensors"
    patient = "63,1,1,145,233,1,2,150,0,2.3,3,?,6"
    (heart_run / "patient.csv").write_text(
        "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n" + patient)
    predicted = invoke("predict", model, heart_run / "patient.csv")
    p1 = float(predicted.output.splitlines()[1].split()[-1])
    result = invoke("trace", "--model", model, "--x", patient, "--y", "0", "--json")
    assert result.exit_code == 0, result.output
    cost = json.loads(result.output)["cost"]
    assert cost == pytest.approx(-np.log(1 - p1), abs=1e-3)  # binary cross-entropy of class 0
    result = invoke("trace", "--model", model, "--x", "63,1")
    assert "trained on 13 CSV columns: give one value per column, in this order: age, sex" in \
        _errors(result)[0]
    result = invoke("trace", "--model", model, "--x", patient, "--y", "7")
    assert _errors(result) == ["error: --y 7 is not a class of the model's target 'disease': "
                               "give one of 0, 1"]


def test_help_paragraphs_reflow_instead_of_breaking_mid_sentence():
    result = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})
    assert "one probability per class); a model of a truth table" in result.output


def test_a_checkpoint_given_as_a_model_is_named_as_one(tmp_path):
    """Only a checkpoint left (no --out, or a run cut short): 'is not an mlplab model ...;
    was it written by mlplab?' It was; the line now says what it is and how to get a model."""
    ck = tmp_path / "run.ckpt"
    assert invoke("train", "--max-epochs", "3", "--checkpoint", ck,
                  "--no-progress").exit_code == 0
    for args in (["show", ck], ["predict", ck, "xor"], ["gradcheck", "--model", ck]):
        result = invoke(*args)
        assert result.exit_code == 2 and _errors(result) == [
            f"error: {ck} is a training checkpoint, not a model file; to save its model run "
            f"'mlplab train' again with the same data and options, --checkpoint {ck} --resume "
            "and --out DIR"], args


def test_ctrl_c_in_a_sweep_is_one_line_not_a_traceback_per_worker(heart_run, tmp_path):
    """A terminal's Ctrl-C signals every process of the command: each Dask worker printed a
    KeyboardInterrupt traceback (73 lines for two workers), the command itself nothing."""
    pytest.importorskip("dask.distributed")
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "sweep", "--csv",
                             heart_run / "heart.csv", "--target", "disease", "--grid",
                             "hidden=8,16,32,64", "--grid", "lr=0.001,0.01,0.1", "--max-epochs",
                             "3000", "--n-jobs", "2", "--cv", "5", "--out", tmp_path / "sweep"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    err = [proc.stderr.readline()]
    while not err[-1].startswith("fits "):  # the workers are fitting
        err.append(proc.stderr.readline())
        assert err[-1], "".join(err)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: the whole group
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in rest and rest.strip().splitlines()[-1] == (
        "error: interrupted (Ctrl-C): the sweep stopped; nothing was saved")
    assert not (tmp_path / "sweep").exists()
