"""The cnn lab: ``mlplab lab cnn --quick`` end to end (digits, and the CIFAR-10 exercise on small
files in CIFAR-10's binary format written here), its numbers, figures and errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mlplab.core import plugins

from imagecheck import assert_not_blank
from test_datasets_images import write_cifar


def test_the_lab_command_end_to_end(tmp_path):
    """One quick run of the command (~10 s on 2 quiet cores), with 20 CIFAR-10 records per
    file: the digits comparison, the CIFAR-10 exercise, the figures."""
    write_cifar(tmp_path / "cifar-10-batches-bin", n_per_file=20)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "mlplab", "lab", "cnn", "--quick", "--out",
                           str(out), "--cifar10", str(tmp_path), "--lang", "en"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    _digits_numbers(results["numbers"])
    cifar = results["numbers"]["cifar10"]
    assert cifar["n_train"] == 100 and cifar["n_test"] == 20 and cifar["epochs"] == 1
    assert cifar["parameters"] == 545_098 and 0 <= cifar["test_accuracy"] <= 1
    assert "CIFAR-10 (the course's network" in proc.stdout
    # quick mode trains one seed: no "mean over 1 seeds", no "lowest seed" of one
    assert results["numbers"]["setup"]["seeds"] == 1
    assert results["tables"][0]["title"] == "CNN against an MLP of the same size (digits, one seed: 0)"
    assert "lowest seed" not in results["findings"][0] and "1 seeds" not in proc.stdout
    names = [f["path"] for f in results["figures"]]
    assert names == ["cnn_filters.png", "cnn_feature_maps.png", "cnn_shifts.png", "cnn_trace.png"]
    for name in names:
        with Image.open(out / name) as image:
            assert image.width > 400 and image.height > 200
        assert_not_blank(out / name)
    assert "wrote" in proc.stdout and "4 figure(s)" in proc.stdout


def _digits_numbers(numbers):
    """The CNN beats the MLP of the same size, and loses less to shifts."""
    cnn, mlp = numbers["cnn"], numbers["mlp"]
    assert cnn["parameters"] == 6090 and mlp["parameters"] == 6085  # the same budget
    assert numbers["setup"]["n_train"] == 1347 and numbers["setup"]["n_test"] == 450
    assert cnn["test_accuracy_mean"] > 0.97 and mlp["test_accuracy_mean"] > 0.93
    assert cnn["test_accuracy_mean"] > mlp["test_accuracy_mean"]
    for model in (cnn, mlp):  # shifting hurts both, more with 2 pixels than with 1
        shifted = model["shifted_mean"]
        assert shifted["0"] > shifted["1"] > shifted["2"]
        grid = np.array(model["shift_grid"])
        assert grid.shape == (5, 5)
        assert grid[2, 2] == pytest.approx(model["runs"][0]["shifted"]["0"])  # no shift
    assert cnn["shifted_mean"]["1"] > mlp["shifted_mean"]["1"]
    if plugins.accelerators():  # MLPLAB_ACCEL=off runs the lab on the core alone
        assert cnn["runs"][0]["backend"] in ("numpy-conv", "numpy-conv+mkl")


@pytest.mark.parametrize("args, message", [
    (["lab", "cnn", "--cifar10", "{tmp}/nowhere"],
     "error: CIFAR-10 folder {tmp}/nowhere does not exist. Download the binary version"),
    (["lab", "xor", "--cifar10", "{tmp}"], "error: --cifar10 belongs to the cnn lab"),
])
def test_a_bad_cifar10_option_is_one_line_before_any_training(tmp_path, args, message):
    from typer.testing import CliRunner

    from mlplab.cli import app

    args = [a.format(tmp=tmp_path) for a in args]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert " ".join(result.output.split()).startswith(message.format(tmp=tmp_path)), result.output
    assert not (tmp_path / "o" / "results.json").exists()


def test_the_labs_networks_are_seeded():
    from mlplab.lab.experiments.cnn import cifar_network, cnn, mlp

    for make in (cnn, mlp, cifar_network):
        a, b, c = make(3), make(3), make(4)
        assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params)), make.__name__
        assert not np.array_equal(a.params[0], c.params[0])
