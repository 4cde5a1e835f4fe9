"""``mlplab tour``: every experiment becomes a section of one self-contained HTML report."""

import re
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import mlplab.tour as tour_module
from mlplab.cli import app
from mlplab.experiments import ExperimentResult, discover
from mlplab.tour import run_tour

LECTURE_TITLES = ["01 NN概述", "02 神经元", "03 单层感知机", "04 多层感知机", "深度剖析"]
LECTURE = ["universal", "perceptron", "xor", "boundaries"]  # this sections, run for real


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    seen = []
    tour = run_tour(out, quick=True, only=LECTURE, progress=lambda *a: seen.append(a))
    return tour, out, seen


def test_report_has_the_lecture_sections_in_order(report):
    tour, out, _ = report
    assert not tour.failed, [s.error for s in tour.failed]
    assert [s.name for s in tour.sections] == LECTURE
    html = tour.path.read_text(encoding="utf-8")
    assert tour.path == out / "index.html"
    for name in LECTURE:
        module = discover()[name]
        assert f'id="{name}"' in html and module.TITLE in html and module.CLAIM[:40] in html
        assert (out / name / "results.json").exists()
    positions = [html.index(title) for title in LECTURE_TITLES]
    assert positions == sorted(positions)


def test_every_discovered_experiment_becomes_a_section(tmp_path, monkeypatch):
    # every experiment module (other issues' too) is wired in; their runs are stubbed for speed
    experiments = discover()
    fakes = {}
    for name, module in experiments.items():
        def run(out, *, quick=False, seed=0, module=module):
            return ExperimentResult(module.NAME, module.TITLE, module.TITLE_ZH, module.CLAIM,
                                    {"ran": module.NAME}, findings=[f"finding of {module.NAME}"])
        fakes[name] = SimpleNamespace(NAME=module.NAME, TITLE=module.TITLE,
                                      TITLE_ZH=module.TITLE_ZH, CLAIM=module.CLAIM, run=run)
    monkeypatch.setattr(tour_module, "discover", lambda: fakes)
    html = run_tour(tmp_path, quick=True).path.read_text(encoding="utf-8")
    for name, module in experiments.items():
        assert f'id="{name}"' in html and module.TITLE_ZH in html
        assert f"finding of {name}" in html


def test_report_is_self_contained(report):
    tour, _, _ = report
    html = tour.path.read_text(encoding="utf-8")
    n_figures = sum(len(s.result.figures) for s in tour.sections)
    assert len(re.findall(r'src="data:image/(?:png|gif);base64,', html)) == n_figures
    assert "http://" not in html and "https://" not in html      # nothing fetched from the web
    assert "<table>" in html and "The lecture says" in html


def test_progress_is_reported_before_and_after_each_section(report):
    tour, _, seen = report
    n = len(tour.sections)
    assert len(seen) == 2 * n and [a[1] for a in seen[::2]] == list(range(1, n + 1))


def test_a_failing_experiment_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    def good_run(out, *, quick=False, seed=0):
        return ExperimentResult("good", "Good", "好", "It works.", {"x": 1})

    def bad_run(out, *, quick=False, seed=0):
        raise RuntimeError("boom")

    fake = {"bad": SimpleNamespace(NAME="bad", TITLE="Bad", TITLE_ZH="坏", CLAIM="c", run=bad_run),
            "good": SimpleNamespace(NAME="good", TITLE="Good", TITLE_ZH="好", CLAIM="It works.",
                                    run=good_run)}
    monkeypatch.setattr(tour_module, "discover", lambda: fake)
    tour = run_tour(tmp_path, quick=True)
    assert [s.name for s in tour.failed] == ["bad"]
    html = tour.path.read_text(encoding="utf-8")
    assert "boom" in html and "It works." in html


def test_tour_command_prints_progress_and_the_report_path(tmp_path):
    result = CliRunner().invoke(app, ["tour", "--out", str(tmp_path), "--quick", "--only", "xor"])
    assert result.exit_code == 0, result.output
    assert "[1/1] xor" in result.output and "04 多层感知机" in result.output
    assert f"report: {(tmp_path / 'index.html').resolve()}" in result.output.replace("\n", "")


def test_tour_command_rejects_an_unknown_experiment(tmp_path):
    result = CliRunner().invoke(app, ["tour", "--out", str(tmp_path), "--only", "nope"])
    assert result.exit_code == 2 and "unknown experiment 'nope'" in result.output
