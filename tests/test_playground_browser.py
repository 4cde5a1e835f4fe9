"""The playground end to end in a real browser: Debian's chromium driven by Playwright.

``mlplab serve`` runs in a subprocess on a free port of 127.0.0.1; the page is used as a
person would (selects, buttons, clicks). Screenshots go to ``tmp/artifacts/`` (override with
``MLPLAB_ARTIFACTS``). scripts/test.sh installs chromium with apt when it is missing; these
tests skip only when no chromium can be found at all.
"""

import base64
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import mlplab
from mlplab.playground.launch import serving

CHROMIUM = os.environ.get("MLPLAB_CHROMIUM") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("MLPLAB_ARTIFACTS", ROOT / "tmp" / "artifacts"))

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium not found: apt-get install chromium "
                                "(scripts/test.sh does)")


@pytest.fixture(scope="module")
def server():
    with serving(cwd=ROOT) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


# counts the messages of the page's streams, each before the page's own handler draws it
STREAM_SPY = """(() => {
    const Native = window.WebSocket;
    window.streamMessages = 0;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener("message", () => { window.streamMessages += 1; });
        }
    };
})();"""


def open_page(browser, url, errors, **options):
    """A page of its own (context) at ``url``, once it is as a person finds it: the first
    frame drawn (it comes over HTTP), the stream open and its first frame drawn too. Until
    then a command has no stream to go to, and a frame of the stream, made before a change
    the test makes, may still come and redraw the controls as they were."""
    context = browser.new_context(**options)
    context.add_init_script(STREAM_SPY)
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url)
    pg.wait_for_selector("#n-0-0")  # the first frame is drawn
    pg.wait_for_function("state.ws && state.ws.readyState === 1 && window.streamMessages >= 1")
    return pg


@pytest.fixture
def page(browser, server):
    errors = []
    pg = open_page(browser, server, errors, viewport={"width": 1400, "height": 1000},
                   accept_downloads=True)
    yield pg
    pg.context.close()
    assert not errors, errors


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def canvas_pixels(page, selector) -> np.ndarray:
    data = page.eval_on_selector(selector, "c => c.toDataURL('image/png')")
    from io import BytesIO

    from PIL import Image

    return np.asarray(Image.open(BytesIO(base64.b64decode(data.split(",")[1]))).convert("RGB"), float)


def test_xor_2_4_1_learns_in_the_browser_and_exports_a_loadable_model(page, tmp_path):
    page.select_option("#dataset", "xor")
    page.wait_for_function("document.querySelector('#task').textContent.includes('source: xor')")
    page.click("#remove_layer")  # [4, 2] → [4]: the network is 2-4-1
    page.wait_for_function("document.querySelectorAll('.neuron').length === 7")
    assert page.inner_text("#layer_count") == "1 hidden layer"
    before = canvas_pixels(page, "#heatmap")
    first_loss = float(page.inner_text("#test_loss"))
    shot(page, "playground-xor-before.png")

    page.click("#play")
    page.wait_for_function("Number(document.querySelector('#test_loss').textContent) < 0.1",
                           timeout=45_000)
    page.click("#play")  # pause
    page.wait_for_function("document.querySelector('#play').textContent.includes('play')")
    after = canvas_pixels(page, "#heatmap")
    epoch = int(page.inner_text("#epoch"))
    shot(page, "playground-xor-trained.png")
    assert epoch > 0 and float(page.inner_text("#test_loss")) < 0.1 < first_loss
    changed = np.abs(after - before).sum(axis=2) > 30
    assert changed.mean() > 0.2  # the heat map was redrawn from the trained network

    # a click on a point shows its trace: forward values and backward deltas per layer
    assert page.eval_on_selector("#heatmap", "c => [c.width, c.height]") == [360, 360]
    x1, x2 = page.evaluate("() => state.frame.points.train[0].slice(0, 2)")
    a, b, c, d = page.evaluate("() => state.frame.domain")
    page.click("#heatmap", position={"x": (x1 - a) / (b - a) * 360, "y": (d - x2) / (d - c) * 360})
    page.wait_for_selector("#trace table")
    trace_text = page.inner_text("#trace")
    assert "δ⁽²⁾" in trace_text and "δ⁽¹⁾" in trace_text and "z⁽¹⁾" in trace_text
    shot(page, "playground-xor-trace.png")

    with page.expect_download() as info:
        page.click("#export")
    path = tmp_path / "xor.safetensors"
    info.value.save_as(path)
    net = mlplab.load(path)
    assert net.sizes == [2, 4, 1] and net.extra["playground"]["config"]["dataset"] == "xor"
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], float)
    assert net.predict(corners).ravel().tolist() == [0, 1, 1, 0]


def test_controls_take_effect_and_the_url_restores_them(page, browser):
    page.select_option("#dataset", "three_blobs")
    page.wait_for_function("document.querySelector('#task').textContent.includes('3 classes')")
    page.click("#add_layer")  # [4, 2] → [4, 2, 4]
    page.wait_for_function("document.querySelectorAll('.neuron').length === 2 + 4 + 2 + 4 + 3")
    page.select_option(".layerhead select >> nth=0", "relu")
    page.wait_for_function("state.frame.layers[0].activation === 'relu'")
    page.select_option("#learning_rate", "0.03")
    page.wait_for_function("state.frame.config.learning_rate === 0.03")
    page.check("#features input[value='x1x2']")
    page.wait_for_function("state.frame.inputs.length === 3")
    assert page.inner_text("#tables").count("W⁽") == 4
    # a refused value shows the server's message and leaves the run as it was
    page.fill("#batch_size", "0")
    page.dispatch_event("#batch_size", "change")
    page.wait_for_selector("#error:not([hidden])")
    assert "batch_size" in page.inner_text("#error")
    page.click("#step")
    page.wait_for_function("Number(document.querySelector('#epoch').textContent) === 1")
    # the hover card shows one connection's weight and sets it
    page.dispatch_event('line.hit[data-l="2"][data-i="1"][data-j="3"]', "mouseenter")
    assert page.is_visible("#card") and "w⁽²⁾ from neuron 4 to neuron 2" in page.inner_text("#card")
    page.fill("#card_value", "2.5")
    page.click("#card_set")
    page.wait_for_function("state.frame.layers[1].W[1][3] === 2.5")
    assert page.inner_text("#card_title").endswith(": 2.5000")
    assert page.get_attribute("#w-2-1-3", "stroke-width") == "5.40"  # the widest: |w| is the max
    # a click adds a point of the chosen class; a click in "remove" mode takes it away
    n = page.evaluate("() => state.frame.points.train.length")
    page.check("input[name=click][value=add]")
    page.fill("#click_label", "2")
    page.click("#heatmap", position={"x": 180, "y": 180})
    page.wait_for_function(f"state.frame.points.train.length === {n + 1}")
    assert page.evaluate("() => state.frame.points.train.at(-1)[2]") == 2
    page.check("input[name=click][value=remove]")
    page.click("#heatmap", position={"x": 180, "y": 180})
    page.wait_for_function(f"state.frame.points.train.length === {n}")
    page.click("#share")
    url = page.input_value("#share_url")
    shot(page, "playground-controls.png")

    errors = []
    other = open_page(browser, url, errors, viewport={"width": 1400, "height": 1000})
    cfg = other.evaluate("() => state.frame.config")
    assert cfg["dataset"] == "three_blobs" and cfg["hidden"] == [4, 2, 4]
    assert cfg["activations"][0] == "relu" and cfg["learning_rate"] == 0.03
    assert other.input_value("#dataset") == "three_blobs"
    other.context.close()
    assert not errors, errors


def test_a_late_frame_is_not_drawn_over_a_newer_one(page):
    # the answer to a request and the stream's frames can cross; the page keeps the newest.
    # Each check is one script: no real frame can be drawn between its render and its read
    draw = """(change) => {
        const epoch = () => document.getElementById('epoch').textContent;
        const before = epoch();
        render({...state.frame, seq: state.frame.seq + change, epoch: 777});
        return [before, epoch()];
    }"""
    before, after = page.evaluate(draw, -1)  # a late frame: not drawn
    assert after == before != "777"
    assert page.evaluate(draw, 1)[1] == "777"  # a newer one: drawn


def test_csv_upload_in_the_page(page, tmp_path):
    rows = ["x1,x2,label"] + [f"{a / 2},{b / 2},{int(a * b > 0)}" for a in range(-4, 5)
                              for b in range(-4, 5) if a and b]
    csv = tmp_path / "mine.csv"
    csv.write_text("\n".join(rows) + "\n")
    page.set_input_files("#csv", str(csv))
    page.wait_for_function("state.frame.task.source === 'csv'")
    assert page.is_hidden("#error")
    f = page.evaluate("() => state.frame.task")
    assert f["n_train"] + f["n_test"] == 64 and f["classes"] == 2


def test_a_lost_stream_is_reported_reconnected_or_ends_in_a_reload_prompt(page):
    # the server closes a stream sent more than 20 commands a second (a held Enter on "step");
    # (the page fixture waited for the stream to be open: the first frame comes over HTTP)
    assert page.evaluate("state.ws.readyState") == 1
    # each message the page shows, with the state of "play" then, recorded in the page: the
    # stream is reopened 1 s after it closed, and a busy machine can hold this test up longer
    # than that between two of its calls (is "play" off while the message says why?)
    page.evaluate("""() => {
        const error = document.querySelector('#error'), play = document.querySelector('#play');
        window.shown = [];
        new MutationObserver(() => window.shown.push([error.textContent, play.disabled]))
            .observe(error, {childList: true, characterData: true, subtree: true});
    }""")
    page.evaluate("() => { for (let k = 0; k < 60; k++) state.ws.send('{\"cmd\": \"pause\"}'); }")
    # (a "busy" note may come first: the flood also filled the command queue)
    page.wait_for_function("window.shown.some(([text]) => text.includes('commands a second'))")
    lost = [d for t, d in page.evaluate("window.shown") if "commands a second" in t]
    assert lost[0] is True  # play is off while there is no stream
    page.wait_for_function("!document.querySelector('#play').disabled")  # after 1 s
    assert "reopened" in page.inner_text("#error")  # the session lives on: a new stream
    page.click("#step")
    page.wait_for_function("document.querySelector('#epoch').textContent === '1'")
    # the session is closed (expired, or freed by the server): the page says to reload
    page.evaluate("() => fetch(`/api/sessions/${state.sid}/close`, {method: 'POST'})")
    page.wait_for_function("document.querySelector('#error').textContent.includes('reload the page')")
    assert page.is_disabled("#play") and page.is_disabled("#step")
    shot(page, "playground-stream-closed.png")


def test_a_deep_network_fits_its_column_and_empty_numbers_are_refused(page, browser, server):
    for k in range(4):  # 2 → 6 hidden layers
        page.click("#add_layer")
        page.wait_for_function(f"state.frame.config.hidden.length === {3 + k}")
    page.wait_for_function("document.querySelectorAll('.neuron').length === 2 + 6 * 4 - 2 + 1")
    box = page.evaluate("() => ['n-7-0', 'wires', 'network', 'heatmap'].map((id) => "
                        "document.getElementById(id).getBoundingClientRect().right)")
    assert max(box[:2]) <= box[2] < box[3]  # the output neuron and the wires: no wire over the map
    assert page.get_attribute(".layerhead select >> nth=5", "aria-label") == \
        "activation of hidden layer 6"
    shot(page, "playground-six-layers.png")
    w = page.evaluate("() => state.frame.layers[1].W[1][1]")
    page.dispatch_event('line.hit[data-l="2"][data-i="1"][data-j="1"]', "mouseenter")
    page.fill("#card_value", "")
    page.click("#card_set")
    page.wait_for_selector("#error:not([hidden])")
    assert "the weight" in page.inner_text("#error") and "not a number" in page.inner_text("#error")
    assert page.evaluate("() => state.frame.layers[1].W[1][1]") == w  # not set to 0
    page.fill("#seed", "3")
    page.dispatch_event("#seed", "change")
    page.wait_for_function("state.frame.config.seed === 3")
    page.fill("#seed", "")
    page.dispatch_event("#seed", "change")
    page.wait_for_function("document.querySelector('#error').textContent.includes('seed')")
    assert page.evaluate("() => state.frame.config.seed") == 3
    # a refused share URL says so, and the message stays (the fallback succeeding kept it)
    bad = base64.urlsafe_b64encode(b'{"dataset": "nope"}').decode().rstrip("=")
    errors = []  # (the message is shown before the fallback's frame; it stays once the
    # stream is open and has drawn its frame: open_page waits for that, not for a time)
    narrow = open_page(browser, f"{server.rstrip('/')}/#c={bad}", errors,
                       viewport={"width": 375, "height": 800})
    assert "configuration was refused" in narrow.inner_text("#error")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 375  # one column
    shot(narrow, "playground-narrow.png")
    narrow.context.close()
    assert not errors, errors
