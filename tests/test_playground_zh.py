"""The playground in Chinese: ``?lang=zh``, the language switch, and ``mlplab serve --lang``.

The page's strings are one table, ``static/i18n.json`` (``{"en": {...}, "zh": {...}}``); the
checks of the table need no browser. The page is checked in Debian's chromium driven by
Playwright against a real ``mlplab serve`` on 127.0.0.1, with the fixtures and the screenshot
folder of test_playground_browser.py (``tmp/artifacts/``, or ``MLPLAB_ARTIFACTS``).
"""

import importlib
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mlplab
from mlplab.cli import app
from mlplab.playground.config import DATASETS
from mlplab.playground.launch import free_port, serving
from mlplab.playground.session import STATUS_TEXT
from test_playground_api import KEPT, status_frames
from test_playground_browser import CHROMIUM, ROOT, browser, shot  # noqa: F401  (a fixture)

STATIC = Path(mlplab.__file__).parent / "apps" / "playground" / "static"
SCRIPTS = ("i18n.js", "app.js", "diagram.js")
needs_chromium = pytest.mark.skipif(not CHROMIUM, reason="chromium not found: apt-get install "
                                    "chromium (scripts/test.sh does)")
CJK_START = 0x2E80  # CJK punctuation, ideographs, full-width forms


def table() -> dict:
    return json.loads((STATIC / "i18n.json").read_text(encoding="utf-8"))


def sources() -> tuple[str, str]:
    return ((STATIC / "index.html").read_text(encoding="utf-8"),
            "\n".join((STATIC / name).read_text(encoding="utf-8") for name in SCRIPTS))


# ------------------------------------------------------------------ the table, no browser
# keys named by a family and an id: tName("ds_", k), the ids from the server's own lists
FAMILIES = {"ds_": set(DATASETS), "src_": set(DATASETS) | {"csv", "edited"},
            "kind_": {"classification", "regression"}, "lossname_": {"mse", "cross_entropy"},
            "subset_": {"train", "test"}}


def referenced_keys() -> set[str]:
    """Every key the page asks for, by the idioms its code uses."""
    html, js = sources()
    keys = set(re.findall(r'data-i18n(?:-html|-title|-aria-label)?="([^"]+)"', html))
    keys |= set(re.findall(r'\bt\(\s*"(\w+)"', js))  # t("key", …)
    keys |= {k for pair in re.findall(r'\bt\(\s*[\w.]+\s*\?\s*"(\w+)"\s*:\s*"(\w+)"', js)
             for k in pair}  # t(cond ? "a" : "b")
    keys |= set(re.findall(r'"((?:field|status)_\w+)"', js))  # readNumber's names, STATUS
    families = set(re.findall(r'\btName\(\s*"(\w+)"', js))
    assert families == set(FAMILIES), families  # a new family needs its ids here
    keys |= {prefix + i for prefix in families for i in FAMILIES[prefix]}
    if "strings[l].lang_name" in js:  # the switch: each language's name in that language
        keys.add("lang_name")
    return keys


def test_both_languages_have_every_key_the_page_uses():
    strings, used = table(), referenced_keys()
    assert set(strings) == {"en", "zh"}
    assert len(used) > 100
    for lang in ("en", "zh"):
        assert not used - set(strings[lang]), f"missing in {lang}: {sorted(used - set(strings[lang]))}"
    assert set(strings["en"]) == set(strings["zh"]), set(strings["en"]) ^ set(strings["zh"])
    html, js = sources()
    unused = {k for k in strings["en"] if k not in used and f'"{k}"' not in js}
    assert not unused, f"keys no code uses: {sorted(unused)}"


def test_translations_keep_placeholders_and_are_chinese():
    strings = table()
    html_keys = set(re.findall(r'data-i18n-html="([^"]+)"', sources()[0]))
    holes = lambda s: sorted(re.findall(r"\{(\w+)\}", s))  # noqa: E731
    for key, en in strings["en"].items():
        zh = strings["zh"][key]
        assert holes(en) == holes(zh), (key, en, zh)
        if key not in html_keys:  # markup only where index.html asks for it (data-i18n-html)
            assert not re.search(r"<[a-z/]|&\w+;", en + zh), key
        if key not in {"lossname_mse"}:  # MSE is MSE in the lecture too
            assert any(ord(c) >= CJK_START for c in zh), f"{key}: {zh!r} is not translated"


def test_every_character_can_be_drawn():
    """The English page's words stay in DejaVu Sans (test_playground_static's rule, which
    reads .html/.js/.css only); the Chinese page's non-CJK characters too (its CJK ones are in
    the server's CJK subset: the next test)."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    dejavu = set(TTFont(font_manager.findfont("DejaVu Sans", fallback_to_default=False))
                 .getBestCmap())
    strings = table()
    en = {c for s in strings["en"].values() for c in s if ord(c) > 127 and ord(c) not in dejavu}
    zh = {c for s in strings["zh"].values() for c in s
          if 127 < ord(c) < CJK_START and ord(c) not in dejavu}
    assert not en | zh, [f"U+{ord(c):04X} {c}" for c in sorted(en | zh)]


def test_the_servers_cjk_font_has_every_chinese_character_of_the_page():
    """The page's CJK characters (i18n.json's Chinese, the switch's name) are all in the subset
    the server sends ("mlplab CJK", :mod:`mlplab.lab.fonts`): a machine without a CJK font
    draws none of them as a box."""
    from mlplab.lab.fonts import CJK_FONT, cmap

    text = "".join(p.read_text(encoding="utf-8") for p in STATIC.iterdir() if p.is_file())
    used = {c for c in text if ord(c) >= CJK_START}
    assert len(used) > 200
    missing = "".join(sorted(c for c in used if ord(c) not in cmap(CJK_FONT)))
    assert not missing, (f"{missing}: not in {CJK_FONT.name}; make it again with "
                         "python -m mlplab.lab.fonts.subset (see that module)")


def test_the_server_sends_the_cjk_font_the_page_declares():
    from fastapi.testclient import TestClient

    from mlplab.lab.fonts import CJK_FONT
    from mlplab.playground.server import create_app

    with TestClient(create_app(max_sessions=1, timeout_s=60), base_url="http://127.0.0.1:8000") as c:
        r = c.get("/fonts/mlplab-cjk.otf")
    assert r.status_code == 200 and r.headers["content-type"] == "font/otf"
    assert r.content == CJK_FONT.read_bytes()
    face = re.search(r"@font-face \{([^}]*)\}", (STATIC / "style.css").read_text(encoding="utf-8"))
    assert 'font-family: "mlplab CJK"' in face[1] and 'url("/fonts/mlplab-cjk.otf")' in face[1]


def test_the_status_keys_are_the_servers_and_its_english_is_the_tables():
    """The server words its status line (session.STATUS_TEXT) as the English page does: key k
    is the table's "status_k"; i18n.js's STATUS maps each of the server's keys to it."""
    en = table()["en"]
    for key, english in STATUS_TEXT.items():
        assert en[f"status_{key}"] == english, key
    statuses = {k for k in en if k.startswith("status_")} - {"status_no_stream"}
    assert statuses == {f"status_{key}" for key in STATUS_TEXT}
    block = re.search(r"const STATUS = \{(.*?)\};", sources()[1], re.S).group(1)
    assert dict(re.findall(r'(\w+): "(status_\w+)"', block)) == {k: f"status_{k}" for k in STATUS_TEXT}


# ------------------------------------------------------------------ the CLI
def test_serve_refuses_an_unknown_language(monkeypatch):
    def no_port(*args, **kwargs):
        pytest.fail("a port was bound for --lang fr")

    launch = importlib.import_module("mlplab.apps.playground.launch")
    monkeypatch.setattr(launch.socket, "create_server", no_port)
    result = CliRunner().invoke(app, ["serve", "--lang", "fr"])
    assert result.exit_code == 2, result.output
    assert "unknown language 'fr'" in result.output and "zh" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_serve_opens_the_page_in_the_language_asked(monkeypatch):
    import contextlib

    import uvicorn

    launch = importlib.import_module("mlplab.apps.playground.launch")
    opened, served = [], []

    class Now:  # threading.Timer, without the wait
        def __init__(self, _delay, fn, args):
            self.fn, self.args = fn, args

        def start(self):
            self.fn(*self.args)

    monkeypatch.setattr(launch.socket, "create_server", lambda *a, **k: contextlib.nullcontext())
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(kwargs["port"]))
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setattr("threading.Timer", Now)
    result = CliRunner().invoke(app, ["serve", "--port", "8123", "--lang", "zh", "--open"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/?lang=zh " in result.output
    assert opened == ["http://127.0.0.1:8123/?lang=zh"] and served == [8123]


# ------------------------------------------------------------------ the page
@pytest.fixture(scope="module")
def server():
    # more sessions than the default 16: this module opens many tabs, one session each
    with serving(cwd=ROOT, args=["--max-sessions", "64"]) as url:
        yield url


@pytest.fixture
def open_page(browser, server):
    """open_page(query, locale=, width=): a new tab on the page, its first frame drawn; every
    fillText on a canvas is recorded in window.canvasTexts; requests are in page.requests."""
    contexts, errors = [], []

    def _open(query="", locale="en-US", width=1400, height=1000, url=None):
        context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        context.add_init_script("""(() => {
            const fill = CanvasRenderingContext2D.prototype.fillText;
            window.canvasTexts = new Set();
            CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
                window.canvasTexts.add(String(text)); return fill.call(this, text, ...rest); };
        })()""")
        contexts.append(context)
        page = context.new_page()
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url or f"{server}{query}")
        page.wait_for_selector("#n-0-0")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, errors


def click_first_training_point(page):
    x1, x2 = page.evaluate("() => state.frame.points.train[0].slice(0, 2)")
    a, b, c, d = page.evaluate("() => state.frame.domain")
    page.click("#heatmap", position={"x": (x1 - a) / (b - a) * 360, "y": (d - x2) / (d - c) * 360})
    page.wait_for_selector("#trace table")


LAYOUT = """() => {
    // nothing wider than the window, no clipped layer head, every text inside its column
    const out = [];
    if (document.documentElement.scrollWidth > innerWidth) out.push("page " + document.documentElement.scrollWidth);
    for (const h of document.querySelectorAll(".layerhead"))
        if (h.scrollWidth > h.clientWidth + 1) out.push("clipped: " + h.textContent);
    for (const col of document.querySelectorAll(".col")) {
        const right = col.getBoundingClientRect().right;
        for (const el of col.querySelectorAll("h2, label, p, span, button, legend, div.metrics"))
            if (el.closest("#tables, #trace, #diagram_box") === null && el.checkVisibility() &&
                el.getBoundingClientRect().right > right + 1) out.push("overflows: " + el.textContent.slice(0, 40));
    }
    return out;
}"""


@needs_chromium
def test_the_chinese_page_speaks_the_lectures_words(open_page, server):
    page = open_page("?lang=zh")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.title() == "mlplab 游乐场"
    assert page.inner_text("#play") == "▶ 训练" and page.inner_text("#step") == "单步"
    bar = page.inner_text("#bar")
    for word in ("优化器", "学习率 α", "损失", "交叉熵", "正则化", "随机种子", "就绪"):
        assert word in bar, word
    heads = page.eval_on_selector_all("h2", "hs => hs.map((h) => h.textContent.trim())")
    for word in ("数据", "输入特征", "权重 W 与偏置 b", "隐藏空间中的弯折", "追踪一个点", "保存"):
        assert any(h.startswith(word) for h in heads), (word, heads)
    assert page.inner_text("#layer_count") == "2 个隐藏层"
    assert page.inner_text(".layerhead >> nth=1").startswith("第1层：4")
    assert page.get_attribute(".layerhead select >> nth=0", "aria-label") == "隐藏层 1 的激活函数"
    assert page.get_attribute("#n-1-0", "title") == "隐藏层 1 的第 1 个神经元"
    assert page.inner_text("#task").startswith("分类，2 类 · ")
    assert "圆环（2 类）" in page.inner_text("#dataset")
    assert page.inner_text(".metrics").startswith("测试损失")
    assert "正确率" in page.inner_text("#accuracy")
    assert page.inner_text("#trace").startswith("点击输出图上的一个点")
    assert re.match(r"隐藏层 1，a⁽¹⁾ 是 4 维的：投影到它的 2 个主成分上（保留 \d+% 的方差）。",
                    page.inner_text("#warp_note"))
    assert page.inner_text("#export") == "⬇ 导出模型（.safetensors）"
    page.click("#step")
    page.wait_for_function("document.querySelector('#status').textContent === '暂停于第 1 轮'")
    page.dispatch_event('line.hit[data-l="2"][data-i="1"][data-j="3"]', "mouseenter")
    assert page.inner_text("#card_title").startswith("w⁽²⁾（神经元 4 → 神经元 2）：")
    page.fill("#seed", "")
    page.dispatch_event("#seed", "change")  # the page's own message, in Chinese
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error") == "⚠ 随机种子：“” 不是数字；请输入一个数（例如 0）"
    assert not [u for u in page.requests if not u.startswith(server)]  # no CDN: fonts too
    assert page.evaluate(LAYOUT) == []
    shot(page, "playground-zh.png")

    narrow = open_page("?lang=zh", width=375, height=800)
    assert narrow.evaluate(LAYOUT) == []
    shot(narrow, "playground-zh-narrow.png")


@needs_chromium
@pytest.mark.parametrize("locale, query, lang", [("zh-CN", "", "zh"), ("zh-TW", "", "zh"),
                                                 ("en-US", "", "en"), ("fr-FR", "", "en"),
                                                 ("en-US", "?lang=zh", "zh"),
                                                 ("zh-CN", "?lang=en", "en")])
def test_the_language_is_the_urls_else_the_browsers(open_page, locale, query, lang):
    page = open_page(query, locale=locale)
    assert page.evaluate("document.documentElement.lang") == {"zh": "zh-CN", "en": "en"}[lang]
    assert page.inner_text("#play") == {"zh": "▶ 训练", "en": "▶ play"}[lang]
    assert page.get_attribute(f"#lang_switch button[data-lang={lang}]", "aria-pressed") == "true"
    assert f"lang={lang}" in page.url  # the address bar says which


@needs_chromium
def test_switching_language_keeps_the_network_and_the_session(open_page):
    page = open_page()  # English: the browser's language
    page.select_option("#dataset", "xor")
    page.wait_for_function("state.frame.config.dataset === 'xor'")
    page.click("#add_layer")
    page.wait_for_function("state.frame.config.hidden.length === 3")
    page.select_option("#learning_rate", "0.03")
    page.wait_for_function("state.frame.config.learning_rate === 0.03")
    for epoch in (1, 2):
        page.click("#step")
        page.wait_for_function(f"state.frame.epoch === {epoch} && !state.frame.playing")
    click_first_training_point(page)
    page.select_option("#warp_layer", "2")
    page.wait_for_function("state.frame.warp.layer === 2")
    page.dispatch_event('line.hit[data-l="2"][data-i="1"][data-j="3"]', "mouseenter")
    page.evaluate("() => { window.stream = state.ws; }")
    before = page.evaluate("() => [state.sid, state.frame.epoch, state.frame.config, state.frame.layers]")
    assert page.inner_text("#layer_count") == "3 hidden layers"
    shot(page, "playground-switch-en.png")

    page.click("#lang_switch button[data-lang=zh]")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    after = page.evaluate("() => [state.sid, state.frame.epoch, state.frame.config, state.frame.layers]")
    assert after == before  # the same session, network, weights and epoch
    assert page.evaluate("() => state.ws === window.stream && state.ws.readyState === 1")
    assert "?lang=zh#c=" in page.url
    assert page.inner_text("#layer_count") == "3 个隐藏层"
    assert page.inner_text("#epoch") == "2" and page.inner_text("#status") == "暂停于第 2 轮"
    assert page.input_value("#dataset") == "xor" and page.input_value("#learning_rate") == "0.03"
    assert "异或（2 类）" in page.inner_text("#dataset")
    assert page.inner_text("#warp_layer") == "输入特征\n隐藏层 1\n隐藏层 2\n隐藏层 3"
    assert page.inner_text("#warp_note").startswith("隐藏层 2，a⁽²⁾：这一层眼中的平面。灰线：")
    assert re.match(r"(训练|测试)点 0：x = ", page.inner_text("#trace"))
    assert page.inner_text("#card_title").startswith("w⁽²⁾（神经元 4 → 神经元 2）：")
    assert len(page.query_selector_all(".neuron")) == 2 + 4 + 2 + 4 + 1  # the diagram, redrawn
    assert page.inner_text(".layerhead >> nth=3").startswith("第3层：4")
    assert page.get_attribute("#n-3-0", "title") == "隐藏层 3 的第 1 个神经元"
    shot(page, "playground-switch-zh.png")
    page.click("#step")  # and it trains on
    page.wait_for_function("document.querySelector('#status').textContent === '暂停于第 3 轮'")

    page.click("#lang_switch button[data-lang=en]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("#status") == "paused at epoch 3" and "?lang=en#c=" in page.url
    assert page.evaluate("() => state.sid") == before[0]
    assert page.inner_text("#card_title").startswith("w⁽²⁾ from neuron 4 to neuron 2: ")


# the Chinese status line of each of test_playground_api.STATUS_LINES's states
ZH_STATUS = {"ready": "就绪", "ready_note": f"就绪 · {KEPT}", "training": "训练中",
             "paused": "暂停于第 3 轮", "stopped": "已在第 2 轮后停止",
             "diverged": "发散了（权重出现 NaN/inf；已恢复到第 0 轮）：请降低学习率"}
SHOW = """(f) => { render({...state.frame, ...f}); return document.querySelector('#status').textContent; }"""


@needs_chromium
def test_the_status_line_is_worded_from_its_key_not_from_the_english(open_page):
    page = open_page("?lang=zh")
    page.fill("#stop_epochs", "2")
    page.dispatch_event("#stop_epochs", "change")
    page.wait_for_function("state.frame.config.stop_epochs === 2")
    for epoch in (1, 2):  # one step at a time: the page drops a step 60 ms after another
        page.click("#step")
        page.wait_for_function(f"state.frame.epoch === {epoch}")
    page.wait_for_function("document.querySelector('#status').textContent === '已在第 2 轮后停止'")
    assert page.evaluate("state.frame.status_key") == "stopped"
    # the server's frame in each state, the page's words for it: Chinese, then English
    frames = {state: {k: f[k] for k in ("status", "status_key", "status_params")}
              for state, f in status_frames().items()}
    assert {state: page.evaluate(SHOW, f) for state, f in frames.items()} == ZH_STATUS
    # the key decides, whatever the English says; an unknown key shows the server's text
    reworded = {"status": "halted at 12", "status_key": "paused", "status_params": {"epoch": 12}}
    assert page.evaluate(SHOW, reworded) == "暂停于第 12 轮"
    assert page.evaluate(SHOW, {"status": "done: 7", "status_key": "stopped",
                                "status_params": {"epoch": 7}}) == "已在第 7 轮后停止"
    assert page.evaluate(SHOW, {"status": "warming up", "status_key": "warming_up",
                                "status_params": {}}) == "warming up"
    page.click("#lang_switch button[data-lang=en]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("#status") == "warming up"
    assert {state: page.evaluate(SHOW, f) for state, f in frames.items()} == {
        state: f["status"] for state, f in frames.items()}  # the English page: the server's words
    assert page.evaluate(SHOW, reworded) == "paused at epoch 12"


def cjk_families() -> set[str]:
    """The CJK families of the page's font list (style.css's body): the system's, then ours."""
    body = re.search(r"body \{ font: ([^;]*);", (STATIC / "style.css").read_text(encoding="utf-8"))
    families = set(re.findall(r'"([^"]+)"', body[1])) - {"Segoe UI"}
    assert "mlplab CJK" in families and "Noto Sans CJK SC" in families, families
    return families


# the text of each element with words from the table, or "" where it is not laid out
OWN_TEXT = """(sel) => [...document.querySelectorAll(sel)].map((e) => e.getClientRects().length ?
  [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join("") : "")"""


@needs_chromium
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chinese_character_is_drawn_in_a_cjk_font(open_page, lang):
    """Each Chinese character the page shows is drawn by a CJK font of its list (on this machine,
    which has none, the server's "mlplab CJK"), as chromium reports the glyphs it drew: text
    laid out while the font loaded stayed boxes (DejaVu Sans's missing-glyph box)."""
    page = open_page(f"?lang={lang}")
    selector = "[data-i18n], #lang_switch button, select option"
    texts = page.evaluate(OWN_TEXT, selector)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]
    assert len(nodes) == len(texts)
    families, checked, boxes = cjk_families(), 0, []
    for node, text in zip(nodes, texts):
        cjk = sum(ord(c) >= CJK_START for c in text)
        if not cjk:
            continue
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        if not fonts:
            continue  # an <option> of a closed select: chromium lays out only the chosen one
        checked += 1
        drawn = sum(f["glyphCount"] for f in fonts if f["familyName"] in families)
        if drawn < cjk:
            boxes.append((text, [(f["familyName"], f["glyphCount"]) for f in fonts]))
    assert checked >= (40 if lang == "zh" else 1), checked
    assert not boxes, boxes


@needs_chromium
def test_the_share_url_carries_the_language(open_page):
    page = open_page("?lang=zh")
    page.select_option("#dataset", "spiral")
    page.wait_for_function("state.frame.config.dataset === 'spiral'")
    page.click("#share")
    url = page.input_value("#share_url")
    assert "/?lang=zh#c=" in url
    other = open_page(locale="en-US", url=url)  # an English browser opens it: Chinese
    assert other.evaluate("document.documentElement.lang") == "zh-CN"
    assert other.evaluate("() => state.frame.config.dataset") == "spiral"
    assert "螺旋（2 类）" in other.inner_text("#dataset")
    other.click("#lang_switch button[data-lang=en]")
    other.click("#share")
    assert "/?lang=en#c=" in other.input_value("#share_url")


# the words the Chinese page may show in Latin letters: code and the lecture's symbols
IDENTIFIERS = {"mlplab", "SGD", "Nesterov", "Adam", "MSE", "dropout", "sigmoid", "tanh", "relu",
               "leaky_relu", "identity", "softmax", "sgn", "sin", "log", "CSV", "label", "NaN",
               "inf", "English"}
CODE = re.compile(r"mlplab\.\w+|\.safetensors|net\.extra\[\"playground\"\]")
VISIBLE = """() => {
    // what the page shows: visible text (not the server's: the error bar, the trace's rows and
    // note; not code), every option, tooltips, labels, placeholders, and canvas texts
    const out = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!n.textContent.trim() || el.closest("#error, #trace table, #trace .server, code, select, script")) continue;
        if (el.checkVisibility()) out.push(n.textContent.trim());
    }
    for (const o of document.querySelectorAll("select option")) out.push(o.text);
    for (const el of document.querySelectorAll("[title], [aria-label], [placeholder]"))
        for (const a of ["title", "aria-label", "placeholder"]) if (el.getAttribute(a)) out.push(el.getAttribute(a));
    return out.concat([...window.canvasTexts]);
}"""


def english_words(texts: list[str]) -> set[str]:
    words = {w for text in texts for w in re.findall(r"[A-Za-z][A-Za-z_]+", CODE.sub(" ", text))}
    return words - IDENTIFIERS


@needs_chromium
def test_no_english_is_left_on_the_chinese_page(open_page):
    page = open_page("?lang=zh", locale="en-US")
    page.click("#step")
    page.wait_for_function("state.frame.epoch === 1")
    click_first_training_point(page)
    page.dispatch_event('line.hit[data-l="1"][data-i="0"][data-j="0"]', "mouseenter")
    page.select_option("#warp_layer", "0")
    page.wait_for_function("state.frame.warp.layer === 0")
    page.evaluate("() => { window.canvasTexts.clear(); render(state.frame); }")
    texts = page.evaluate(VISIBLE)
    assert any("隐藏层" in t for t in texts) and len(texts) > 80
    assert not english_words(texts), english_words(texts)
    # the same check finds the English page's words (it can fail)
    page.click("#lang_switch button[data-lang=en]")
    page.evaluate("() => { window.canvasTexts.clear(); render(state.frame); }")
    found = english_words(page.evaluate(VISIBLE))
    assert {"reset", "play", "hidden", "layer", "grey", "scale", "train"} <= found


@needs_chromium
def test_serve_lang_prints_and_serves_the_chinese_page(open_page):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "serve", "--port", str(port),
                             "--lang", "zh"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/?lang=zh"
        assert f"{url} " in first, first
        deadline = time.monotonic() + 30
        while True:  # the URL is printed just before uvicorn listens: wait for the socket
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.1)
        page = open_page(locale="en-US", url=url)  # an English browser, the Chinese page
        assert page.inner_text("#play") == "▶ 训练"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
