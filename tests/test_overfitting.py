"""The overfitting lab, run once in quick mode through the CLI (3 seeds, fixed).

Every assertion is on numbers averaged over the seeds, read back from results.json.
"""

import json

import pytest
from typer.testing import CliRunner

from mlplab.cli import app
from mlplab.experiments import discover
from mlplab.experiments.overfitting import METHODS, QUICK

# the module fixture runs the overfitting lab once: its tests on one xdist worker
# (scripts/test.sh: --dist loadgroup), not once per worker
pytestmark = pytest.mark.xdist_group("overfitting")

REGULARIZERS = [m for m in METHODS if m != "baseline"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    out = tmp_path_factory.mktemp("overfitting")
    result = CliRunner().invoke(app, ["lab", "overfitting", "--out", str(out), "--quick"])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.json").read_text()), result.output


def test_discovered_as_a_lab_command():
    assert "overfitting" in discover()


def test_the_baseline_overfits(lab):
    _, res, _ = lab
    base = res["numbers"]["methods"]["baseline"]
    assert len(base["gap"]) == QUICK.seeds
    assert base["train_acc_mean"] >= 0.99  # it memorizes the 40 noisy points
    assert base["gap_mean"] >= 0.10  # train − test ≥ 10 points


def test_training_loss_falls_while_test_loss_rises(lab):
    c = lab[1]["numbers"]["curves"]
    assert c["train_loss"][-1] < 0.01 * c["train_loss"][0]
    best = min(c["test_loss"])
    assert c["epoch"][c["test_loss"].index(best)] == c["best_test_epoch"] < 200
    assert c["test_loss"][-1] > 3 * best  # it rose, a lot, after its minimum
    assert c["test_acc"][-1] < max(c["test_acc"])


@pytest.mark.parametrize("method", REGULARIZERS)
def test_each_regularizer_narrows_the_gap_without_collapsing_training(lab, method):
    methods = lab[1]["numbers"]["methods"]
    base, r = methods["baseline"], methods[method]
    assert r["gap_mean"] <= base["gap_mean"] - 0.02, (method, r["gap_mean"], base["gap_mean"])
    assert r["gap_change"] == pytest.approx(r["gap_mean"] - base["gap_mean"])
    assert r["train_acc_mean"] >= 0.8  # still fits the data well
    assert r["test_acc_mean"] > base["test_acc_mean"]  # and generalizes better


def test_l1_makes_the_network_sparse(lab):
    m = lab[1]["numbers"]["methods"]
    assert m["l1"]["small_weights_mean"] > 0.9 > 0.2 > m["baseline"]["small_weights_mean"]


def test_curves_learning_and_capacity(lab):
    n = lab[1]["numbers"]
    learning, capacity = n["learning_curve"], n["capacity_curve"]
    assert learning["n"] == list(QUICK.sizes)
    assert learning["test_error"][-1] < learning["test_error"][0]  # more data, less error
    assert learning["test_error"][-1] - learning["train_error"][-1] < (
        learning["test_error"][0] - learning["train_error"][0])  # and a smaller gap
    err = capacity["test_error"]
    i = err.index(min(err))
    assert 0 < i < len(err) - 1  # the U: lowest in the middle,
    assert err[0] > min(err) + 0.02 and err[-1] > min(err) + 0.02  # higher at both ends
    assert capacity["train_error"][-1] == 0.0 < capacity["train_error"][0]


def test_results_json_holds_every_number_of_the_table(lab):
    _, res, _ = lab
    (table,) = res["tables"]
    methods = res["numbers"]["methods"]
    assert table["columns"][3:] == ["训练正确率", "测试正确率", "差距（百分点）", "差距相对基线"]
    assert table["answer"] and table["id"] == "overfitting-answer"  # marked as mlplab's answer
    assert len(table["rows"]) == len(METHODS)
    for key, row in zip(METHODS, table["rows"]):
        r = methods[key]
        assert row[0] == METHODS[key][0][1] and row[2] == METHODS[key][1][1]
        assert row[3] == f"{100 * r['train_acc_mean']:.1f}%"
        assert row[4] == f"{100 * r['test_acc_mean']:.1f}%"
        assert row[5] == f"{100 * r['gap_mean']:.1f}".replace("-", "−")
        if key != "baseline":
            assert row[6] == f"{100 * r['gap_change']:+.1f}".replace("-", "−")


def test_figures_are_written_and_listed(lab):
    out, res, output = lab
    names = [f["path"] for f in res["figures"]]
    assert len(names) == 5 and all(f["caption"] for f in res["figures"])
    for name in names:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert "5 figure(s)" in output and "基线：训练正确率" in output


def test_captions_say_which_seed_is_drawn_and_what_more_data_measured(lab):
    from mlplab.lab.experiments.overfitting import _boundaries_caption
    from mlplab.lab.text import language

    _, res, _ = lab
    numbers, m = res["numbers"], res["numbers"]["methods"]
    curves, boundaries = res["figures"][0]["caption"], res["figures"][1]["caption"]
    assert "种子 0 的数据与权重" in curves and f"{QUICK.seeds} 个种子的均值" in curves
    assert "种子 0" in boundaries and "贴合两个月牙" not in boundaries
    with language("en"):
        text = _boundaries_caption(numbers).text(numbers, "en")
    assert "follows the moons" not in text and "seed 0" in text
    more, base = m["more_data"]["test_acc_mean"], m["baseline"]["test_acc_mean"]
    best = max(m[k]["test_acc_mean"] for k in REGULARIZERS if k != "more_data")
    assert base < more < best  # quick mode: more data helps, less than a regularizer
    assert f"lifts test accuracy from {base:.1%} to {more:.1%}, less than" in text
    assert "boundary follows the true shape" not in METHODS["more_data"][1][0]
    assert METHODS["dropout"][2] == ("drop rate 0.7", "丢弃率 0.7")
    l1 = next(f for f in res["findings"] if f.startswith("L1"))
    assert "|w| < 0.01" in l1

