"""Architecture files (TOML, JSON) and ``mlplab train DATA --arch FILE``, end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest

import mlplab
from mlplab import ConfigError
from mlplab.io.architecture import network_from_architecture, read_architecture

from test_datasets_images import write_cifar

DIGITS_TOML = """
input = [1, 8, 8]
loss = "cross_entropy"

[[layers]]
conv = 4
padding = "same"

[[layers]]
maxpool = 2

[[layers]]
conv = 6
kernel = [3, 2]
stride = 1
activation = "tanh"

[[layers]]
avgpool = 2

[[layers]]
flatten = true

[[layers]]
dropout = 0.1

[[layers]]
dense = 10
activation = "softmax"
init = "xavier_normal"
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_and_json_describe_the_same_network(tmp_path):
    spec = read_architecture(write(tmp_path, "a.toml", DIGITS_TOML))
    twin = read_architecture(write(tmp_path, "a.json", json.dumps(spec)))
    a, b = network_from_architecture(spec, seed=3), network_from_architecture(twin, seed=3)
    assert [repr(layer) for layer in a.layers] == [repr(layer) for layer in b.layers]
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params))
    assert repr(a.layers[3]) == "Conv2D(4 → 6, (3, 2), tanh)"
    assert a.layers[-1].out_shape == (10,) and a.dtype == np.float32


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("maxpool = 2", "maxpool = 2\nconv = 3"), "layer 2 needs exactly one kind"),
    (lambda t: t.replace("avgpool = 2", "pool = 2"), r"layer 4 needs exactly one kind \(conv,"),
    (lambda t: t.replace('kernel = [3, 2]', 'kernal = 3'),
     "layer 3 \\(conv\\) has no option 'kernal'"),
    (lambda t: t.replace("dropout = 0.1", "dropout = 1.5"), "dropout probability p must be in"),
    (lambda t: t.replace('padding = "same"', 'padding = "full"'),
     "padding must be 'valid', 'same'"),
    (lambda t: t.replace("input = [1, 8, 8]", "input = [1, 2, 2]"),
     r"a.toml: Conv2D\(\? → 6, \(3, 2\), tanh\) does not fit into maps of shape \(4, 1, 1\)"),
    (lambda t: t.replace("flatten = true", "flatten = true\n[[layers]]\nmaxpool = 2"),
     r"MaxPool2D\(2\) takes feature maps"),
    (lambda t: "epochs = 3\n" + t, "unknown key 'epochs'"),
    (lambda t: t.replace("[[layers]]", "[layers", 1), "is not valid TOML"),
])
def test_bad_architectures_are_named(tmp_path, change, message):
    path = write(tmp_path, "a.toml", change(DIGITS_TOML))
    with pytest.raises(ConfigError, match=message):
        network_from_architecture(read_architecture(path), where=path.name)


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "mlplab", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_train_digits_with_an_architecture_file_saves_a_loadable_cnn(tmp_path):
    arch = write(tmp_path, "digits.toml", DIGITS_TOML)
    proc = cli("train", "digits", "--arch", arch, "--max-epochs", 3, "--lr", 0.01,
               "--no-progress", "--out", tmp_path / "out", "--seed", 2)
    assert proc.returncode == 0, proc.stderr
    assert "digits: 1347 training samples of shape (1, 8, 8), 450 held out" in proc.stdout
    assert "1 conv2d      (4, 1, 3, 3), (4,)" in proc.stdout  # the layer table
    assert "2 maxpool2d   → 4×4×4 maps" in proc.stdout
    assert "held-out 450 rows (25%), never trained on:" in proc.stdout and "accuracy" in proc.stdout
    net = mlplab.load(tmp_path / "out" / "model.safetensors")
    assert net.input_shape == (1, 8, 8) and net.extra["images"]["n_test"] == 450
    history = json.loads((tmp_path / "out" / "history.json").read_text())
    assert history["epochs"] == 3 and len(history["val_loss"]) == 3  # the held-out set watched
    shown = cli("show", tmp_path / "out" / "model.safetensors")
    assert shown.returncode == 0 and "(1×8×8 images: channels × height × width)" in shown.stdout
    assert "MaxPool2D(2)  output (4, 4, 4), 0 parameters" in shown.stdout


def invoke(*args):
    """The command in this process (the end-to-end test above runs ``python -m mlplab``)."""
    from typer.testing import CliRunner

    from mlplab.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_train_on_a_cifar10_folder_and_on_a_truth_table(tmp_path):
    write_cifar(tmp_path / "cifar", n_per_file=8)
    arch = write(tmp_path, "c.json", json.dumps({"input": [3, 32, 32], "layers": [
        {"conv": 4, "stride": 2}, {"maxpool": 3, "stride": 2}, {"flatten": True},
        {"dense": 10, "activation": "softmax"}]}))
    result = invoke("train", tmp_path / "cifar", "--arch", arch, "--max-epochs", 1,
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert "40 training samples of shape (3, 32, 32), 8 held out" in result.output
    xor = write(tmp_path, "xor.toml", 'input = [2]\nloss = "mse"\n[[layers]]\ndense = 3\n'
                                      'activation = "tanh"\n[[layers]]\ndense = 1\n'
                                      'activation = "sigmoid"\n')
    result = invoke("train", "xor", "--arch", xor, "--max-epochs", 5, "--no-progress")
    assert result.exit_code == 0 and "after 5 epochs" in result.output, result.output
    result = invoke("train", "mushrooms.csv", "--arch", xor, "--no-progress")
    assert result.exit_code == 2 and "with --arch, DATA is digits, a folder" in result.output


def test_a_bad_architecture_file_is_one_line_with_exit_code_2(tmp_path):
    arch = write(tmp_path, "bad.toml", DIGITS_TOML.replace("conv = 6", "conv = 0"))
    proc = cli("train", "digits", "--arch", arch, "--no-progress")  # as the user sees it
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: ") and "Conv2D out_channels must be an integer ≥ 1" \
        in proc.stderr
    result = invoke("train", "digits", "--arch", tmp_path / "missing.toml", "--no-progress")
    assert result.exit_code == 2 and "error: architecture file" in result.output
