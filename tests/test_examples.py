"""The course's exercises (examples/), compared with scikit-learn in one run."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows():
    # the full protocols, both libraries: a few seconds with one BLAS thread
    return {r["exercise"].split()[0]: r for r in load("compare_sklearn").compare(seed=0)}


def test_mushroom_reaches_sklearn(rows):
    r = rows["Mushroom,"]
    # the same random_state draws scikit-learn's numbers: its network, its accuracy (0.9889)
    assert r["mlplab"] >= 0.988 and r["mlplab"] >= r["sklearn"] - 0.002


def test_cleveland_within_two_points_of_sklearn(rows):
    r = rows["Cleveland"]
    assert r["mlplab"] >= r["sklearn"] - 0.02 and r["mlplab"] > 0.76


def test_digits_one_hidden_layer(rows):
    assert rows["Digits"]["mlplab"] >= 0.97


def test_example_script_runs_from_the_command_line():
    done = subprocess.run([sys.executable, "examples/digits.py"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(ROOT),
                                                       "OPENBLAS_NUM_THREADS": "1",
                                                       "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    accuracy = float(done.stdout.split("test accuracy ")[1].split()[0])
    assert accuracy >= 0.97
