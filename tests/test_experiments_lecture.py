"""The lecture's claims, measured: each lecture experiment's numbers, and figures that are drawn."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mlplab import Perceptron
from mlplab.cli import app
from mlplab.datasets import blobs
from mlplab.experiments import discover, run_experiment
from mlplab.lab.experiments._lecture_net import step_lines
from mlplab.lab.experiments._rules import perceptron_rule
from mlplab.lab.outline import experiment_ids
from mlplab.lab.text import plain

from imagecheck import assert_not_blank

# the module fixture runs the experiments lecture lab once: its tests on one xdist worker
# (scripts/test.sh: --dist loadgroup), not once per worker
pytestmark = pytest.mark.xdist_group("experiments_lecture")

NAMES = ["overview", "neuron", "perceptron", "forward", "backprop", "flow", "hebb", "one-cut",
         "xor", "universal", "boundaries"]  # the gradients and overfitting labs have their own


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    return {name: (run_experiment(name, out / name, quick=True), out / name) for name in NAMES}


def numbers(results, name):
    return results[name][0].numbers


def test_experiments_are_discovered_in_lecture_order():
    names = [n for n in discover() if n in experiment_ids()]
    assert names == experiment_ids()


def test_perceptron_starts_from_a_random_line_and_no_line_touches_a_point(results):
    n = numbers(results, "perceptron")
    assert n["converged"] and n["accuracy"] == 1.0 and n["updates"] > 1
    assert n["start_accuracy"] < 1.0 and np.any(n["start"]["w"])  # a real line, not w = 0
    assert n["smallest_margin"] > 1e-6  # so no count depends on sgn(0)
    assert 0 < n["lines_drawn"] <= min(n["updates"], 40)  # those in view (tests/test_plots.py)


def test_the_lab_rule_is_the_estimators_rule_from_a_zero_start():
    X, y = blobs(60, noise=0.8, seed=2, centers=[(2, 5), (5, 3)])
    dance = perceptron_rule(X, y, w0=np.zeros(2), eta=1.0, max_epochs=50, shuffle=False)
    clf = Perceptron(eta0=1.0, max_iter=50, shuffle=False, tol="error_free").fit(X, y)  # lecture
    np.testing.assert_allclose(dance.coef_path_, clf.coef_path_)
    np.testing.assert_allclose(dance.intercept_path_, clf.intercept_path_)
    assert dance.mistakes_ == clf.mistakes_


def test_forward_and_backprop_trace_the_lecture_equations(results):
    fwd, back = numbers(results, "forward"), numbers(results, "backprop")
    assert fwd["sizes"] == [3, 3, 2] and fwd["trace"] == back["trace"]  # one sample, one trace
    t = {k: np.array(v["value"]) for k, v in fwd["trace"].items()}
    # z⁽¹⁾ = W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾, a = σ(z): recomputed here from the given W, b and x
    np.testing.assert_allclose(t["z1"], t["W1"] @ t["a0"] + t["b1"])
    np.testing.assert_allclose(t["a2"], 1 / (1 + np.exp(-(t["W2"] @ t["a1"] + t["b2"]))))
    assert back["by_hand_largest"] < 1e-12  # the four equations typed in agree with backprop
    assert back["gradcheck"]["passed"] and max(back["gradcheck"]["errors"].values()) < 1e-8
    np.testing.assert_allclose(t["W1_new"], t["W1"] - back["alpha"] * t["dW1"])


def test_the_seven_steps_are_what_fit_does(results):
    n = numbers(results, "flow")
    assert n["fit_check"]["epochs"] == n["epochs"]
    assert n["fit_check"]["max_weight_difference"] < 1e-10
    assert n["last_change"] < n["epsilon"] <= n["first_change"]
    assert n["correct"] == n["samples"] == 8
    assert sorted(step_lines()) == list(range(1, 8))
    table = results["flow"][0].tables[0]
    assert [str(row[1]) for row in table.rows] == [step_lines()[k] for k in range(1, 8)]


def test_one_cut_deep_linear_networks_collapse_to_one_layer(results):
    n = numbers(results, "one-cut")
    assert not n["perceptron"]["converged"] and n["perceptron"]["best_accuracy"] <= 0.75
    assert n["perceptron"]["smallest_margin"] > 1e-6
    for run in n["linear"]:
        assert run["collapse_error"] <= 1e-9 * max(1.0, run["scale"]), run["sizes"]
        assert run["accuracy"] <= 0.8
    assert max(r["depth"] for r in n["linear"]) >= 8 and n["nonlinear"]["accuracy"] >= 0.95


def test_hebb_learns_bipolar_and_and_nothing_on_xor(results):
    runs = {(r["gate"], r["encoding"]): r for r in numbers(results, "hebb")["runs"]}
    assert runs["and", "bipolar"]["hebb_accuracy"] == 1.0
    assert runs["and", "bipolar"]["w"] == [2.0, 2.0] and runs["and", "bipolar"]["b"] == -2.0
    assert runs["xor", "bipolar"]["hebb_accuracy"] is None and runs["xor", "bipolar"]["no_line"]
    assert runs["and", "binary"]["perceptron_accuracy"] == 1.0
    assert runs["xor", "binary"]["perceptron_converged"] is False


def test_xor_a_stalled_seed_is_called_a_plateau_not_a_solution(results):
    n = numbers(results, "xor")
    by_seed = {r["seed"]: r for r in n["runs"]}
    assert by_seed[0]["outcome"] == "plateau" and by_seed[0]["accuracy"] < 1.0
    assert by_seed[0]["stuck_at_half"] >= 1
    assert by_seed[1]["outcome"] == "solved" and by_seed[1]["accuracy"] == 1.0
    assert "plateau" in results["xor"][0].findings[1].en
    c = n["clusters"]
    assert c["accuracy"] >= 0.95 and c["hidden_accuracy"] == c["accuracy"]


def test_universal_error_falls_with_width(results):
    n = numbers(results, "universal")
    widths = [str(w) for w in n["widths"]]
    for errors in n["errors"]:
        mean = np.array([errors[w]["mean"] for w in widths])
        assert mean[-1] < mean[0] / 10
        rank = np.argsort(np.argsort(mean))
        assert np.corrcoef(np.arange(len(widths)), rank)[0, 1] < -0.8


def test_boundaries_straight_in_hidden_space_and_the_layers_table(results):
    n = numbers(results, "boundaries")
    assert n["two_curves"]["hidden2"] >= 0.95 and n["two_curves"]["linear"] < 0.8
    assert n["two_curves"]["hidden_accuracy"] == n["two_curves"]["hidden2"]  # a straight line there
    assert n["two_curves"]["largest_weight"] < 4  # units out of saturation: the grid stays open
    table = n["comparison"]
    assert all(table[f"one_{a}"]["xor"] <= 0.75 for a in ("sgn", "sigmoid", "relu"))
    assert table["two_sigmoid"]["xor"] >= 0.95 and table["two_relu"]["circles"] >= 0.95


@pytest.mark.parametrize("name", NAMES)
def test_figures_written_and_not_blank(results, name):
    result, out = results[name]
    assert result.figures
    for path, caption in result.figures:
        assert path.parent == out and plain(caption, result.numbers)
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
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["title_zh"] and saved["lang"] == "zh"
    assert [f["path"] for f in saved["figures"]] == [p.name for p, _ in result.figures]


def test_lab_command_runs_an_experiment_in_english(tmp_path):
    result = CliRunner().invoke(app, ["lab", "hebb", "--out", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Hebb's rule" in result.output and (tmp_path / "hebb.png").exists()
    saved = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert saved["lang"] == "en" and saved["figures"][0]["caption"].startswith("What one pass")


def test_universal_caption_says_where_the_error_stops_falling(results):
    from mlplab.lab.experiments.universal import WIDTHS, _caption, falls_until

    full_run_abs = [0.25064, 0.02174, 0.01498, 0.00753, 0.00483, 0.00497]  # |x|, seed 0, full
    assert falls_until(full_run_abs) == 16 and falls_until(sorted(full_run_abs)[::-1]) == 32
    result = results["universal"][0]
    n = result.numbers
    assert n["falls_until"] == [falls_until([e[str(w)]["mean"] for w in WIDTHS])
                                for e in n["errors"]]
    assert "error falls as the layer widens" not in plain(result.figures[0][1], n, "en")
    assert "bounded interval" in result.claim
    stalled = dict(n, falls_until=[32, 16, 32])
    text = _caption(stalled).text(stalled, "en")
    assert "of |x| falls from 1 to 16 units, then stops falling" in text
    assert "not better at every step" in text and "最大与平均" in _caption(stalled).text(stalled, "zh")
    if n["falls_until"] == [32, 32, 32]:
        assert "stops falling" not in plain(result.figures[0][1], n, "en")


def test_flow_step_4_starts_from_step_3s_delta(results):
    import copy

    from mlplab.lab.experiments._lecture_net import cube_data, lecture_network, seven_steps

    assert "delta_L" in step_lines()[4]  # the code shown feeds step 3's δ⁽ᴸ⁾ into step 4
    X, Y = cube_data()
    net, seen = lecture_network(0), []
    check = copy.deepcopy(net)
    seven_steps(net, X, Y, max_epochs=1, watch=lambda e, A, d, c: seen.append(d))
    assert net.layers[-1].delta is seen[0]  # the very array step 3 computed
    check.forward(X, training=True)
    check.backward(Y)  # and it equals what backward computes from the loss
    np.testing.assert_allclose(check.layers[-1].delta, seen[0], rtol=1e-12)


def test_notes_on_cross_entropy_and_the_one_layer_optimum(results):
    overview = " ".join(plain(n, None, "en") for n in results["overview"][0].notes)
    assert "δ⁽ᴸ⁾ = a − y, with no σ′" in overview and "cancels σ′(z)" in overview
    boundaries = results["boundaries"][0]
    c = boundaries.numbers["comparison"]
    notes = [plain(n, boundaries.numbers, "en") for n in boundaries.notes]
    assert c["one_sigmoid"]["xor"] < c["one_sgn"]["xor"]
    assert any("where gradient descent on cross-entropy ended" in n for n in notes)
    one_cut = results["one-cut"][0]
    findings = [plain(f, one_cut.numbers, "en") for f in one_cut.findings]
    assert any("not the best a line can do" in f for f in findings)
