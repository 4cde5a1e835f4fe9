"""scikit-learn's own tests for its MLP and its Perceptron, run on mlplab's estimators by
``scripts/sklearn_suite.py`` (the test files come from the installed scikit-learn).

Slow by nature: the MLP file takes about 20 s, the perceptron file about 8 s (each in a
pytest subprocess).
"""

import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "sklearn_suite.py"


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("sklearn_suite", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def functions_in(runner, suite) -> set[str]:
    source = runner.installed_test_file(runner.SUITES[suite]).read_text()
    return set(re.findall(r"^def (test_\w+)\(", source, flags=re.MULTILINE))


@pytest.mark.parametrize("suite", ["mlp", "perceptron"])
def test_every_test_that_is_not_left_out_passes(runner, suite, tmp_path):
    outcomes_file = tmp_path / "outcomes.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), suite, "--json", str(outcomes_file)],
                          capture_output=True, text=True, cwd=tmp_path)
    outcomes = json.loads(outcomes_file.read_text())[suite]
    bad = {test: entry for test, entry in outcomes.items()
           if entry["outcome"] not in ("passed", "left out")}
    assert not bad, proc.stdout[-3000:]
    passed = sum(entry["outcome"] == "passed" for entry in outcomes.values())
    assert proc.returncode == 0 and f"{suite}: {passed} passed, 0 failed" in proc.stdout
    # every test function of scikit-learn's file ran or was left out on purpose, with a reason
    assert {test.split("[")[0] for test in outcomes} == functions_in(runner, suite)
    left = {test.split("[")[0]: e["why"] for test, e in outcomes.items()
            if e["outcome"] == "left out"}
    assert left == runner.SUITES[suite].left_out


def test_on_pytorch_tensors_every_mlp_test_passes_too(runner, tmp_path):
    # about 30 s; skips where PyTorch is not installed (CI's test extra leaves it out)
    pytest.importorskip("torch")
    outcomes = runner.run_suite(runner.SUITES["mlp"], tmp_path, device="torch")
    assert "device='torch'" in (tmp_path / "mlplab_on_device.py").read_text()
    bad = {test: entry for test, entry in outcomes.items() if entry["outcome"] != "passed"}
    assert not bad
    assert {test.split("[")[0] for test in outcomes} == functions_in(runner, "mlp")


def test_device_is_refused_for_the_perceptron_suite(runner, capsys):
    with pytest.raises(SystemExit):
        runner.main(["perceptron", "--device", "torch"])
    assert "--device applies to the mlp suite only" in capsys.readouterr().err


def test_the_runner_reports_failures_and_left_out_tests(runner, tmp_path, capsys):
    # point scikit-learn's perceptron tests at another linear model: its correctness test fails
    suite = replace(runner.SUITES["perceptron"],
                    imports={"from sklearn.linear_model import Perceptron":
                             "from sklearn.linear_model import SGDClassifier as Perceptron"},
                    left_out={"test_perceptron_l1_ratio": "left out by this test"})
    outcomes = runner.run_suite(suite, tmp_path)
    assert outcomes["test_perceptron_correctness"]["outcome"] == "failed"
    assert outcomes["test_perceptron_l1_ratio"] == {"outcome": "left out",
                                                    "why": "left out by this test"}
    assert runner.report(suite, outcomes) is False
    out = capsys.readouterr().out
    assert "FAIL     test_perceptron_correctness" in out
    assert "LEFT OUT test_perceptron_l1_ratio" in out and "1 failed" in out


def test_a_changed_import_line_is_a_clear_error(runner):
    suite = replace(runner.SUITES["mlp"], imports={"from sklearn import Nothing": "x"})
    with pytest.raises(SystemExit, match="holds 0 copies of 'from sklearn import Nothing'.*"
                                         "update SUITES"):
        runner.pointed_at_mlplab(suite, "import numpy\n")
