"""The cnn lab: ``mlplab lab cnn --quick`` end to end (digits, and the CIFAR-10 exercise on small
files in CIFAR-10's binary format written here), its numbers, figures and errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from imagecheck import assert_not_blank
from test_datasets_images import write_cifar


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One quick run of the command, with 20 CIFAR-10 records per file (~15 s on 2 cores)."""
    tmp = tmp_path_factory.mktemp("cnn")
    write_cifar(tmp / "cifar-10-batches-bin", n_per_file=20)
    out = tmp / "out"
    proc = subprocess.run([sys.executable, "-m", "mlplab", "lab", "cnn", "--quick", "--out",
                           str(out), "--cifar10", str(tmp), "--lang", "en"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "results.json").read_text()), out, proc.stdout


def test_the_cnn_beats_the_mlp_of_the_same_size_and_loses_less_to_shifts(lab):
    numbers = lab[0]["numbers"]
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
    assert cnn["runs"][0]["backend"] == "numpy-conv"


def test_the_cifar10_exercise_ran_on_the_files(lab):
    cifar = lab[0]["numbers"]["cifar10"]
    assert cifar["n_train"] == 100 and cifar["n_test"] == 20 and cifar["epochs"] == 1
    assert cifar["parameters"] == 545_098 and 0 <= cifar["test_accuracy"] <= 1
    assert "CIFAR-10 (the course's network" in lab[2]


def test_figures_are_drawn(lab):
    results, out, stdout = lab
    names = [f["path"] for f in results["figures"]]
    assert names == ["cnn_filters.png", "cnn_feature_maps.png", "cnn_shifts.png", "cnn_trace.png"]
    for name in names:
        with Image.open(out / name) as image:
            assert image.width > 400 and image.height > 200
        assert_not_blank(out / name)
    assert "wrote" in stdout and "4 figure(s)" in stdout


@pytest.mark.parametrize("args, message", [
    (["lab", "cnn", "--cifar10", "{tmp}/nowhere"],
     "error: CIFAR-10 folder {tmp}/nowhere does not exist. Download the binary version"),
    (["lab", "xor", "--cifar10", "{tmp}"], "error: --cifar10 belongs to the cnn lab"),
])
def test_a_bad_cifar10_option_is_one_line_before_any_training(tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-m", "mlplab", *args, "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(message.format(tmp=tmp_path)), proc.stderr
    assert not (tmp_path / "o" / "results.json").exists()


def test_the_labs_networks_are_seeded():
    from mlplab.lab.experiments.cnn import cifar_network, cnn, mlp

    for make in (cnn, mlp, cifar_network):
        a, b, c = make(3), make(3), make(4)
        assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params)), make.__name__
        assert not np.array_equal(a.params[0], c.params[0])
