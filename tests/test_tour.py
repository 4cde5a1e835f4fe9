"""``mlplab tour``: the lecture's outline in Chinese and English, every number from results.json,
fonts that cover every character, one self-contained file."""

import json
import math
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import mlplab.tour as tour_module
from mlplab.cli import app
from mlplab.experiments import ExperimentResult
from mlplab.lab.fonts import CJK_FONT, CJK_START, cmap, missing
from mlplab.lab.fonts.subset import used_characters
from mlplab.lab.outline import OUTLINE, experiment_ids
from mlplab.lab.report import render
from mlplab.lab.text import format_value, lookup, plain
from mlplab.tour import run_tour

# the module fixture runs the tour lab once: its tests on one xdist worker
# (scripts/test.sh: --dist loadgroup), not once per worker
pytestmark = pytest.mark.xdist_group("tour")

LECTURE = experiment_ids()
FORMULA_CONSTANTS = {0.0, 1.0, 2.0}  # z = 0, the +1 unit, ½‖·‖², "大于1", L2 …


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The lecture's whole quick tour, once (Chinese); the English page is rendered from the
    same run. Labs beyond the lecture (cnn) have their own tests; the homework-3 test below
    links one."""
    out = tmp_path_factory.mktemp("tour")
    seen = []
    tour = run_tour(out, quick=True, lang="zh", only=LECTURE,
                    progress=lambda *a: seen.append(a))
    pages = {"zh": tour.path.read_text(encoding="utf-8"),
             "en": render(tour, quick=True, lang="en")}
    return tour, out, seen, pages


class Page(HTMLParser):
    """Sections (id, heading text) in order, and every text run with the tags around it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.sections, self.texts, self.data = [], [], [], []
        self.heading = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.stack.append((tag, attrs))
        if tag == "section":
            self.sections.append([attrs["id"], ""])
        if tag in ("h2", "h3"):
            self.heading = self.sections[-1]
        if tag == "data":
            self.data.append([self.sections[-1][0], attrs["data-key"], attrs["data-fmt"], ""])

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        if tag in ("h2", "h3"):
            self.heading = None

    def handle_data(self, text):
        tags = [t for t, _ in self.stack]
        classes = {a.get("class", "") for _, a in self.stack}
        if self.heading is not None and "span" not in tags:
            self.heading[1] += text
        if "data" in tags:
            self.data[-1][3] += text
        if self.sections and "style" not in tags:
            self.texts.append((self.sections[-1][0], tags, classes, text))


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def all_numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in all_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in all_numbers(v)]
    if isinstance(value, bool) or value is None:
        return []
    return [float(value)] if isinstance(value, (int, float)) else []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_structure_follows_the_lecture_outline(report, lang):
    tour, _, _, pages = report
    assert not tour.failed, [s.error for s in tour.failed]
    page = parse(pages[lang])
    ids = [sid for sid, _ in page.sections]
    assert ids == [e.id for e in OUTLINE]  # every part and section, in the lecture's order
    headings = dict(page.sections)
    for entry in OUTLINE:
        assert headings[entry.id].strip() == (entry.zh if lang == "zh" else entry.en), entry.id
    if lang == "en":  # the lecture's term stays beside the translation
        for entry in OUTLINE:
            assert f'<span class="alt" lang="zh">{entry.zh}</span>' in pages["en"]
    assert f'<html lang="{lang}">' in pages[lang]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_number_shown_equals_results_json(report, lang):
    tour, out, _, pages = report
    page = parse(pages[lang])
    numbers = {name: json.loads((out / name / "results.json").read_text(encoding="utf-8"))["numbers"]
               for name in LECTURE}
    assert len(page.data) > 300
    for section, key, fmt, shown in page.data:
        assert shown == format_value(lookup(numbers[section], key), fmt, lang), (section, key)
        assert shown not in ("True", "False"), (section, key)  # yes/no, 是/否: words, not Python
    # no number typed into prose: outside <data>, code, links and headings every number is a
    # formula constant or a value of that section's results.json
    token = re.compile(r"(?<![\w.⁽])\d+(?:\.\d+)?(?:e[−-]?\d+)?%?")
    typed = []
    for section, tags, classes, text in page.texts:
        if section not in numbers or set(tags) & {"data", "code", "pre", "a", "h2", "h3", "summary"} \
                or "math" in classes or "meta" in classes:
            continue
        values = all_numbers(numbers[section])
        for match in token.finditer(text):
            t = match.group().replace("−", "-")
            v = float(t.rstrip("%")) / (100 if t.endswith("%") else 1)
            if v not in FORMULA_CONSTANTS and not any(math.isclose(v, x, rel_tol=5e-3)
                                                      for x in values):
                typed.append((section, match.group(), text))
    assert not typed, typed


def test_lecture_boxes_say_only_what_each_section_quotes(report):
    tour, _, _, pages = report
    boxes = re.findall(r'<div class="lecture"><p><span class="label">讲义[:：]?</span>:? ?(.*?)</p>',
                       pages["zh"])
    quoted = [s.result.lecture.zh for s in tour.sections if s.result.lecture is not None]
    assert len(boxes) == len(quoted) + 1  # + homework 3's sentence
    assert "The lecture says" not in pages["en"]  # the old boxes of remedies are gone
    assert pages["zh"].count('class="answer"') == 2  # the two homework-2 tables, marked


def test_fonts_cover_every_character_of_both_pages_and_the_figures(report):
    tour, _, _, pages = report
    for html in pages.values():
        visible = re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S)
        assert not missing(visible), "run python -m mlplab.lab.fonts.subset (see its docstring)"
    captions = " ".join(plain(c, s.result.numbers) for s in tour.sections
                        for _, c in s.result.figures)
    assert not missing(captions)


def test_the_cjk_subset_holds_every_character_the_lab_writes():
    # static: a caption added to the code but not to the font fails here, without running it
    have = cmap(CJK_FONT)
    lost = [ch for ch in used_characters() if ord(ch) not in have and ord(ch) >= CJK_START
            and ch.isprintable() and not ch.isspace()]
    assert not lost, f"{''.join(lost)}: run python -m mlplab.lab.fonts.subset (see its docstring)"
    assert CJK_FONT.stat().st_size < 1_000_000


def test_report_is_self_contained(report):
    tour, _, _, pages = report
    html = pages["zh"]
    n_figures = sum(len(s.result.figures) for s in tour.sections)
    assert len(re.findall(r'src="data:image/(?:png|gif);base64,', html)) == n_figures
    assert len(re.findall(r"@font-face\{font-family:\"mlplab (?:Sans|Mono|CJK)\";src:url\(data:", html)) == 3
    assert "http://" not in html.split("</style>")[1] and "https://" not in html


def test_progress_is_reported_before_and_after_each_section(report):
    tour, _, seen, _ = report
    n = len(tour.sections)
    assert len(seen) == 2 * n and [a[1] for a in seen[::2]] == list(range(1, n + 1))


def _fake(name, title="T", title_zh="题", run=None):
    def default(out, *, quick=False, seed=0):
        return ExperimentResult(name, title, title_zh, f"claim of {name}", {"ran": 1},
                                findings=[f"finding of {name}"])
    return SimpleNamespace(NAME=name, TITLE=title, TITLE_ZH=title_zh, CLAIM=f"claim of {name}",
                           run=run or default)


def test_homework_3_links_the_cnn_and_rnn_labs_it_discovers(tmp_path, monkeypatch):
    # every lecture section stubbed (fast), plus a CNN lab as issue 17 would add it
    fakes = {name: _fake(name) for name in LECTURE} | {"cnn": _fake("cnn", "CNN", "卷积网络")}
    monkeypatch.setattr(tour_module, "discover", lambda: fakes)
    monkeypatch.setattr("mlplab.lab.homework._installed", lambda: set(fakes))
    html = run_tour(tmp_path, quick=True).path.read_text(encoding="utf-8")
    bridge = html.split('id="homework-3"')[1].split("</section>")[0]
    assert '<a href="#cnn">' in bridge and "mlplab lab cnn" in bridge
    assert "还没有此实验" in bridge  # no RNN lab in this fake install: said so
    assert html.index('id="homework-3"') < html.index('id="cnn"')  # after the lecture
    assert "finding of cnn" in html


def test_a_failing_experiment_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    def bad_run(out, *, quick=False, seed=0):
        raise RuntimeError("boom")

    fake = {"neuron": _fake("neuron", run=bad_run), "good": _fake("good")}
    monkeypatch.setattr(tour_module, "discover", lambda: fake)
    tour = run_tour(tmp_path, quick=True)
    assert [s.name for s in tour.failed] == ["neuron"]
    html = tour.path.read_text(encoding="utf-8")
    assert "boom" in html and "finding of good" in html


def test_parallel_workers_give_the_same_sections(tmp_path):
    tour = run_tour(tmp_path, quick=True, only=["overview", "neuron"], jobs=2, lang="en")
    assert [s.name for s in tour.sections] == ["overview", "neuron"] and not tour.failed
    saved = json.loads((tmp_path / "neuron" / "results.json").read_text(encoding="utf-8"))
    assert saved["lang"] == "en" and saved["findings"][0].startswith("z = Σ")


def test_tour_command_prints_progress_and_the_report_path(tmp_path):
    result = CliRunner().invoke(app, ["tour", "--out", str(tmp_path), "--quick", "--only",
                                      "neuron", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "[1/1] neuron" in result.output and "The neuron" in result.output
    assert f"report (en): {(tmp_path / 'index.html').resolve()}" in result.output.replace("\n", "")


@pytest.mark.parametrize("args, message", [(["--only", "nope"], "unknown experiment 'nope'"),
                                           (["--lang", "fr"], "unknown language 'fr'"),
                                           (["--jobs", "0"], "jobs must be an integer ≥ 1"),
                                           (["--seed", "-1"], "--seed must be a whole number"),
                                           (["--only", ""], "--only names no experiment"),
                                           (["--only", " , "], "--only names no experiment")])
def test_tour_command_rejects_bad_options(tmp_path, args, message):
    result = CliRunner().invoke(app, ["tour", "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # refused before any section ran


def test_lab_command_refuses_a_negative_seed_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["lab", "neuron", "--seed", "-1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip() == "error: --seed must be a whole number from 0 to 2147483647, got -1"
    assert not (tmp_path / "o").exists()


class Images(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.alts, self.captions, self.in_caption = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "img" and dict(attrs).get("alt") is not None:
            self.alts.append(dict(attrs)["alt"])
        if tag == "figcaption":
            self.in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag):
        self.in_caption = self.in_caption and tag != "figcaption"

    def handle_data(self, text):
        if self.in_caption:
            self.captions[-1] += text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_alt_text_is_the_caption_escaped_once(report, lang):
    page = Images()
    page.feed(report[3][lang])
    assert len(page.alts) == len(page.captions) > 10
    assert page.alts == page.captions  # read back, the alt text is the caption's own text
    assert not any(re.search(r"&(amp|lt|gt|quot|#x?\w+);", a) for a in page.alts)


def test_chinese_page_has_no_english_leftovers_in_labels_tables_and_truth_values(report):
    zh = report[3]["zh"]
    assert "讲义：</span>" in zh and "讲义:" not in zh
    for english in (">given<", ">x (the input)<", ">the target<", " new<", ">True<", ">False<",
                    "训练集探针"):
        assert english not in zh, english
    assert ">已知<" in zh and "W⁽¹⁾（新）" in zh and ">是<" in zh
