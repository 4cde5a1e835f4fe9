"""The gradients lab end to end (quick mode, seed 0): what the issue says results.json must show."""

import json
import math

import pytest
from typer.testing import CliRunner

from mlplab.cli import app
from mlplab.experiments import discover
from mlplab.experiments.gradients import NIELSEN_START, VARIANTS

# the module fixture runs the experiment gradients lab once: its tests on one xdist worker
# (scripts/test.sh: --dist loadgroup), not once per worker
pytestmark = pytest.mark.xdist_group("experiment_gradients")

VANISHING_FIXES = ["relu", "leaky_relu", "xavier_sigmoid", "batchnorm", "residual"]
EXPLODING_FIXES = ["he", "clip_norm", "clip_value"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradients")
    result = CliRunner().invoke(app, ["lab", "gradients", "--out", str(out), "--quick"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    return out, json.loads((out / "results.json").read_text())


def distance_from_1(ratio):
    return abs(math.log10(ratio))


def test_the_experiment_is_discovered():
    assert "gradients" in discover()


def test_speed_of_learning_records_every_layer_every_epoch(lab):
    _, results = lab
    speed = results["numbers"]["speed_of_learning"]
    assert speed["nielsen_start"] == NIELSEN_START
    epochs = results["numbers"]["training"]["speed_epochs"]
    for depth in (1, 2, 3, 4):
        run = speed["networks"][str(depth)]
        assert run["epochs"] == list(range(epochs + 1))  # epoch 0 = before training
        assert len(run["grad_b"]) == epochs + 1
        assert all(len(row) == depth and all(v > 0 for v in row) for row in run["grad_b"])


def test_baseline_four_sigmoid_layers_vanish(lab):
    run = lab[1]["numbers"]["speed_of_learning"]["networks"]["4"]
    # the first hidden layer's bias gradient is at least 5× smaller than the last's …
    assert run["ratio_start"] <= 1 / 5
    # … and smaller at every step going back, as in Nielsen's 0.003 < 0.017 < 0.070 < 0.285
    assert run["start"] == sorted(run["start"])
    assert all(r[0] * 5 <= r[-1] for r in run["grad_b"])  # and it stays so while training


def test_sigma_prime_is_at_most_a_quarter(lab):
    sig = lab[1]["numbers"]["sigmoid"]
    assert sig["max_sigma_prime"] == pytest.approx(0.25) and sig["argmax_z"] == pytest.approx(0)


def test_exploding_case_grows_towards_the_input_and_its_nan_is_reported(lab):
    boom = lab[1]["numbers"]["exploding"]
    assert boom["ratio_start"] >= 5
    assert boom["start"] == sorted(boom["start"], reverse=True)
    assert boom["diverged"] and boom["nonfinite_at"][0] >= 1
    assert "NaN or infinite" in boom["stop_reason"]


def test_every_vanishing_remedy_moves_the_ratio_towards_1_and_lifts_accuracy(lab):
    remedies = lab[1]["numbers"]["remedies"]
    base = remedies["sigmoid"]
    assert base["test_accuracy"] < 0.2  # 6 sigmoid layers barely move in the epochs given
    for name in VANISHING_FIXES:
        r = remedies[name]
        assert distance_from_1(r["ratio_start"]) < distance_from_1(base["ratio_start"]) - 0.5, name
        assert distance_from_1(r["ratio_mean"]) < distance_from_1(base["ratio_mean"]) - 0.5, name
        assert r["test_accuracy"] >= base["test_accuracy"] + 0.3, name
    # plain Xavier init narrows the gap a little but does not rescue the sigmoid alone
    assert distance_from_1(remedies["xavier"]["ratio_start"]) < distance_from_1(base["ratio_start"])


def test_every_exploding_remedy_trains_without_nan(lab):
    remedies = lab[1]["numbers"]["remedies"]
    base = remedies["exploding"]
    for name in EXPLODING_FIXES:
        r = remedies[name]
        assert not r["diverged"] and r["test_accuracy"] >= 0.5, name
        assert distance_from_1(r["ratio_mean"]) < distance_from_1(base["ratio_mean"]), name
    # He init fixes the cause; clipping the symptom: it starts from the same exploding gradients
    assert distance_from_1(remedies["he"]["ratio_start"]) < 0.5
    assert remedies["clip_norm"]["start"] == base["start"]


def test_report_has_the_answer_table_figures_and_out_of_scope_note(lab):
    out, results = lab
    answer = results["tables"][1]
    assert answer["answer"] and answer["id"] == "gradients-answer"   # marked as mlplab's answer
    assert [row[0] for row in answer["rows"]] == [v.label[1] for v in VARIANTS]  # Chinese default
    assert all(row[1] for row in answer["rows"])  # a reason on every row
    assert any("LSTM" in f for f in results["notes"])
    # the diverged run shows its measured accuracy, not "NaN" (results.json has a number)
    exploding = next(row for row in answer["rows"] if row[0] == VARIANTS[7].label[1])
    assert exploding[4] == f"{results['numbers']['remedies']['exploding']['test_accuracy']:.3f}"
    assert len(results["figures"]) == 6
    for fig in results["figures"]:
        png = out / fig["path"]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert fig["caption"]


def test_speed_caption_says_what_ran_and_what_the_four_layer_network_did(lab):
    """Quick mode runs 30 epochs, not Nielsen's 500, and may end before the network leaves
    chance: the caption must say so, never "until epoch —"."""
    import copy

    from mlplab.lab.experiments.gradients import SPEED_EPOCHS, _speed_caption

    _, results = lab
    numbers = results["numbers"]
    assert results["figures"][0]["caption"] == _speed_caption(numbers).text(numbers, "zh")
    quick = _speed_caption(numbers).text(numbers, "en")
    assert "—" not in quick and "Nielsen's setting" not in quick
    assert f"{numbers['training']['speed_epochs']} epochs (a quick run; Nielsen ran " \
           f"{SPEED_EPOCHS})" in quick
    assert numbers["speed_of_learning"]["four"]["escape_epoch"] is None  # 30 epochs: no escape
    assert "still at chance after all 30 epochs" in quick and "until epoch" not in quick
    full = copy.deepcopy(numbers)
    full["training"]["speed_epochs"] = SPEED_EPOCHS
    full["speed_of_learning"]["four"].update(escape_epoch=120, ratio_after=0.5)
    text = _speed_caption(full).text(full, "en")
    assert "500 epochs (Nielsen's setting)" in text and "until epoch 120" in text
    assert "still at chance" not in text and "—" not in _speed_caption(full).text(full, "zh")
