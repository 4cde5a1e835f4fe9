"""The recurrent-network lab end to end (``mlplab lab rnn --quick``, seed 0), and its data."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from imagecheck import assert_not_blank
from mlplab.cli import app
from mlplab.datasets.sequences import (CharCoding, adding_problem, load_coriolanus,
                                       sum_of_sines, windows)
from mlplab.errors import DataError
from mlplab.experiments import discover

# the module fixture runs the experiment rnn lab once: its tests on one xdist worker
# (scripts/test.sh: --dist loadgroup), not once per worker
pytestmark = pytest.mark.xdist_group("experiment_rnn")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    out = tmp_path_factory.mktemp("rnn")
    result = CliRunner().invoke(app, ["lab", "rnn", "--out", str(out), "--quick"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "4 figure(s)" in result.output
    return out, json.loads((out / "results.json").read_text())


def test_the_lab_is_discovered_with_its_titles():
    module = discover()["rnn"]
    assert module.TITLE_ZH == "循环神经网络：沿时间的反向传播" and "δ recursion" in module.CLAIM.en
    assert "δ 递推" in module.CLAIM.zh


def test_every_figure_is_drawn(lab):
    out, results = lab
    assert len(results["figures"]) == 4
    for figure in results["figures"]:
        assert_not_blank(out / figure["path"])


def test_gradients_vanish_and_explode_through_time(lab):
    _, results = lab
    grads = results["numbers"]["vanishing"]
    tanh, linear = grads["tanh RNN"], grads["linear RNN, ‖W_h‖ = 1.2"]
    assert tanh["decay_per_step"] < 0.9 and tanh["grad_h"][0] < 1e-2 * tanh["grad_h"][-1]
    # W_h = 1.2·(orthogonal) and g′ = 1: every singular value of the factor is exactly 1.2
    assert linear["factor_mean"] == pytest.approx(1.2) == linear["factor_rms"]
    assert linear["decay_per_step"] == pytest.approx(1.2, rel=1e-6)
    assert grads["LSTM"]["decay_per_step"] > tanh["decay_per_step"]
    assert 0 < grads["LSTM"]["forget_mean"] < 1


def test_memory_language_model_and_forecast_are_measured(lab):
    _, results = lab
    numbers = results["numbers"]
    adding = numbers["adding"]
    assert {(r["kind"], r["T"]) for r in adding.values()} == {
        (k, T) for k in ("rnn", "lstm") for T in (10, 30)}
    assert all(0 <= r["test_mse"] < 1 for r in adding.values())
    lm = numbers["language_model"]
    assert lm["loss_per_char"][-1] < lm["unigram_nats"] < lm["uniform_nats"]  # it learned
    assert [s["epoch"] for s in lm["samples"]] == [1, 2]
    assert all(len(s["text"]) == 160 for s in lm["samples"])
    sines = numbers["forecast"]
    assert sines["mse_vs_clean"] < sines["last_value_mse"]
    assert len(sines["prediction"]) == len(sines["clean"])
    assert len(results["tables"]) == 2 and len(results["findings"]) == 6


# ------------------------------------------------------------------------------ the data
def test_adding_problem_marks_one_number_in_each_half():
    X, y = adding_problem(200, 12, seed=0)
    marks = X[:, :, 1]
    assert X.shape == (200, 12, 2) and y.shape == (200, 1)
    assert (marks[:, :6].sum(1) == 1).all() and (marks[:, 6:].sum(1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (X[:, :, 0] * marks).sum(1))
    again, _ = adding_problem(200, 12, seed=0)
    np.testing.assert_array_equal(X, again)
    # predicting the mean (1) scores Var(u₁ + u₂) = 1/6
    assert np.mean((adding_problem(20_000, 20, seed=1)[1] - 1) ** 2) == pytest.approx(1 / 6,
                                                                                   rel=0.03)


def test_windows_of_a_series():
    noisy, clean = sum_of_sines(50, noise=0.0, seed=0)
    np.testing.assert_array_equal(noisy, clean)
    X, y = windows(np.arange(10.0), 4)
    assert X.shape == (6, 4, 1) and y[:, 0].tolist() == [4, 5, 6, 7, 8, 9]
    np.testing.assert_array_equal(X[2, :, 0], [2, 3, 4, 5])
    with pytest.raises(DataError, match="longer than T"):
        windows(np.arange(3.0), 4)


def test_the_bundled_text_and_its_coding():
    text = load_coriolanus()
    assert len(text) == 39_908 and text.startswith("First Citizen:")
    coding = CharCoding(text)
    assert coding.size == 58 and coding.decode(coding.encode("MENENIUS:")) == "MENENIUS:"
    X, y = coding.training_windows(text, 50)
    assert X.shape == (len(text) // 50 - (len(text) % 50 == 0), 50, 58)
    # the target of every step is the next character
    assert coding.decode(X[0].argmax(1)[1:]) == coding.decode(y[0][:-1])
    with pytest.raises(DataError, match="not in the vocabulary"):
        coding.encode("é")


def test_the_report_is_in_the_chosen_language_its_numbers_from_results(lab):
    import re

    from mlplab.lab.experiments import rnn
    from mlplab.lab.text import T

    _, results = lab  # written with the default language, Chinese
    numbers, summary = results["numbers"], results["numbers"]["summary"]
    assert results["lang"] == "zh"
    english = re.compile(r"\b(?!(?:tanh|LSTM|nats|Adam|MENENIUS|diag)\b)[A-Za-z]{4,}\b")
    texts = ([results["claim"]] + results["findings"] + [f["caption"] for f in results["figures"]]
             + [t["title"] for t in results["tables"]])
    for text in texts:
        assert re.search("[\u4e00-\u9fff]", text) and not english.search(text), text
    assert f"{summary['rnn_factor']:.2f}" in results["findings"][0]
    assert f"共缩小 {summary['rnn_total']:.1e} 倍" in results["findings"][0]  # falls, as in English
    assert f"{summary['lm_final']:.2f}" in results["findings"][4]
    for sentence in rnn._findings(summary):  # both languages, every number a path of record
        assert isinstance(sentence, T) and sentence.refs()
        for lang in ("zh", "en"):
            assert "{" not in sentence.text(numbers, lang)
    en = [s.text(numbers, "en") for s in rnn._findings(summary)]
    assert en[0].startswith("tanh RNN: the factor") and not re.search("[\u4e00-\u9fff]", en[0])


def test_lstm_claims_follow_whether_it_learned_the_adding_problem(lab):
    """Quick mode's LSTM does not learn the adding problem (test MSE ≈ the mean's 1/6): no
    sentence may say it carries the error across; a run where it learned says so."""
    import copy

    from mlplab.lab.experiments import rnn

    _, results = lab
    numbers = results["numbers"]
    summary = numbers["summary"]
    assert summary["lstm_long_mse"] > rnn.LEARNED_MSE  # quick: 150 steps are not enough
    caption = rnn._vanishing_caption(summary).text(numbers, "en")
    assert results["figures"][0]["caption"] == rnn._vanishing_caption(summary).text(numbers, "zh")
    assert "carries it across" not in caption and "did not learn the task" in caption
    taught = rnn._taught_finding(summary).text(numbers, "en")
    assert "reaches the first marked number" not in taught and "has not learned" in taught
    learned = copy.deepcopy(numbers)
    learned["summary"]["lstm_long_mse"] = 0.004
    assert "carries it across all 30 steps" in \
        rnn._vanishing_caption(learned["summary"]).text(learned, "en")
    assert "reaches the first marked number" in \
        rnn._taught_finding(learned["summary"]).text(learned, "en")
    # a spectral norm above 1 with a vanishing gradient: the finding says the norm only bounds
    factor = rnn._factor_finding(summary).text(numbers, "en")
    assert summary["rnn_factor"] > 1 > summary["rnn_decay"]
    assert "shrinks by a factor of" in factor and "A norm above 1 does not make" in factor
    assert "below 1 it vanishes, above 1 it explodes" not in rnn.CLAIM.en


def test_the_factor_finding_follows_the_measured_decay():
    from mlplab.lab.experiments.rnn import _factor_finding

    shrinking = _factor_finding({"rnn_decay": 0.74, "rnn_factor": 1.52})
    growing = _factor_finding({"rnn_decay": 1.3, "rnn_factor": 1.52})
    assert "shrinks" in shrinking.en and "(vanishing)" in shrinking.en and "梯度消失" in shrinking.zh
    assert "grows" in growing.en and "(exploding)" in growing.en and "梯度爆炸" in growing.zh
    assert "vanishing" not in growing.en
