"""The lecture's claims, measured: each experiment's numbers, and figures that are drawn."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mlplab.cli import app
from mlplab.experiments import discover, run_experiment

from imagecheck import assert_not_blank


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    return {name: (run_experiment(name, out / name, quick=True), out / name)
            for name in ("perceptron", "xor", "universal", "boundaries")}


def test_experiments_are_discovered_in_lecture_order():
    names = list(discover())
    for name in ("universal", "perceptron", "xor", "boundaries"):
        assert name in names
    assert names.index("universal") < names.index("perceptron") < names.index("xor") \
        < names.index("boundaries")


def test_perceptron_converges_on_blobs_and_fails_on_xor(results):
    n = results["perceptron"][0].numbers
    assert n["blobs"]["converged"] and n["blobs"]["accuracy"] == 1.0
    assert n["blobs"]["updates"] > 1 and n["blobs"]["epochs"] > 1  # the line had to dance
    xor = n["xor"]
    assert not xor["converged"] and xor["epochs"] == n["max_iter"]
    assert "max_iter" in xor["stop_reason"] and "not converged" in xor["stop_reason"]
    assert xor["best_accuracy"] <= 0.75
    assert not n["xor_clusters"]["converged"]


def test_xor_one_layer_fails_two_two_one_sigmoid_gd_solves_it(results):
    n = results["xor"][0].numbers
    assert n["perceptron"]["accuracy"] <= 0.75 and n["single_layer"]["accuracy"] <= 0.75
    assert n["solved"]["accuracy"] == 1.0
    assert n["seeds_solved"] >= 1
    # the lecture's network, rule and step: 2-2-1 sigmoid, W⁽¹⁾ (2, 2), W⁽²⁾ (1, 2), gd α = 1
    assert np.shape(n["solved"]["W1"]) == (2, 2) and np.shape(n["solved"]["W2"]) == (1, 2)
    # seed 0 is the lecture's local minimum; seed 1 solves it
    by_seed = {r["seed"]: r["accuracy"] for r in n["runs"]}
    assert by_seed[0] < 1.0 and by_seed[1] == 1.0


def test_xor_hidden_space_is_cut_by_one_straight_line(results):
    n = results["xor"][0].numbers
    H = np.array(n["hidden"]["H"])
    w, c = np.array(n["hidden"]["output_line"]["w"]), n["hidden"]["output_line"]["c"]
    # the 4 corners: XOR's targets 0, 1, 1, 0 are exactly the side of w·h + c = 0 they lie on
    np.testing.assert_array_equal(H @ w + c > 0, [False, True, True, False])


def test_universal_error_falls_with_width(results):
    n = results["universal"][0].numbers
    widths = [str(w) for w in n["widths"]]
    assert widths[0] == "1" and widths[-1] == "32"
    for name, errors in n["errors"].items():
        mean = np.array([errors[w]["mean"] for w in widths])
        mx = np.array([errors[w]["max"] for w in widths])
        assert mean[-1] < mean[0] / 10, name
        assert mx[-1] < mx[0] / 5, name
        # falls with width: rank correlation of width and error close to −1
        rank = np.argsort(np.argsort(mean))
        rho = np.corrcoef(np.arange(len(widths)), rank)[0, 1]
        assert rho < -0.8, (name, mean)


def test_boundaries_curved_in_input_space_straight_in_hidden_space(results):
    n = results["boundaries"][0].numbers
    assert n["two_curves"]["hidden2"]["test"] >= 0.9
    assert n["two_curves"]["linear"]["test"] < 0.8
    assert n["circles"]["test"] >= 0.9


@pytest.mark.parametrize("name", ["perceptron", "xor", "universal", "boundaries"])
def test_figures_written_and_not_blank(results, name):
    result, out = results[name]
    assert result.figures
    for path, caption in result.figures:
        assert path.parent == out and caption
        if path.suffix == ".gif":
            with Image.open(path) as gif:
                assert gif.n_frames > 3
                gif.seek(0)
                first = np.asarray(gif.convert("L"), float)
                gif.seek(gif.n_frames - 1)
                last = np.asarray(gif.convert("L"), float)
            assert first.std() > 10 and np.abs(first - last).mean() > 0.1  # the line moved
        else:
            assert_not_blank(path)
    saved = json.loads((out / "results.json").read_text())
    assert saved["title_zh"] and saved["claim"]
    assert [f["path"] for f in saved["figures"]] == [p.name for p, _ in result.figures]


def test_lab_command_runs_an_experiment(tmp_path):
    result = CliRunner().invoke(app, ["lab", "boundaries", "--out", str(tmp_path), "--quick"])
    assert result.exit_code == 0, result.output
    assert "深度剖析" in result.output and (tmp_path / "boundaries_warp.png").exists()
