"""The playground's server: sessions, frames computed by the engine, and validation.

Runs the FastAPI app in-process (TestClient); the browser tests are in
test_playground_browser.py.
"""

import base64
import json
import time
import numpy as np
import pytest
from fastapi.testclient import TestClient

import mlplab
from mlplab.playground.config import MAX_BODY_BYTES, PlaygroundConfig
from mlplab.playground.data import features
from mlplab.playground.server import create_app
from mlplab.playground.session import Session

XOR = {"dataset": "xor", "hidden": [4], "activations": ["tanh"], "n_points": 200, "seed": 1}
LOCAL = "http://127.0.0.1:8000"  # a Host the server answers to (not TestClient's "testserver")
WS = "ws://127.0.0.1:8000"


@pytest.fixture
def client():
    with TestClient(create_app(max_sessions=4, timeout_s=60), base_url=LOCAL) as c:
        yield c


def new_session(client, **cfg):
    r = client.post("/api/sessions", json=cfg)
    assert r.status_code == 200, r.text
    return r.json()["id"], r.json()["frame"]


def decode(q: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(q), dtype=np.uint8)


def test_page_and_assets_are_served_without_any_cdn(client):
    page = client.get("/")
    assert page.status_code == 200 and "mlplab playground" in page.text
    for asset in ("/static/app.js", "/static/diagram.js", "/static/style.css"):
        r = client.get(asset)
        assert r.status_code == 200
        assert "http://" not in r.text and "https://" not in r.text  # works offline
    assert "https://" not in page.text


def test_a_frame_holds_what_the_engine_computes(client):
    sid, f = new_session(client, **XOR)
    assert f["epoch"] == 0 and f["config"]["hidden"] == [4]
    # the heat map is the network's output over a GRID × GRID window of the plane
    grid = f["grid"]
    q = decode(f["output"]["q"]).reshape(grid, grid)
    a, b, c, d = f["domain"]
    # per-neuron maps: 2 inputs, 4 hidden, 1 output, each small_grid²
    assert [len(layer) for layer in f["neurons"]] == [2, 4, 1]
    assert all(len(decode(m["q"])) == f["small_grid"] ** 2 for layer in f["neurons"] for m in layer)
    # input x1's map rises left to right, x2's from bottom to top
    x1_map = decode(f["neurons"][0][0]["q"]).reshape(f["small_grid"], -1).astype(int)
    x2_map = decode(f["neurons"][0][1]["q"]).reshape(f["small_grid"], -1).astype(int)
    assert (np.diff(x1_map, axis=1) >= 0).all() and x1_map[0, -1] > x1_map[0, 0] + 200
    assert (np.diff(x2_map, axis=0) <= 0).all() and x2_map[0, 0] > x2_map[-1, 0] + 200
    assert [np.array(layer["W"]).shape for layer in f["layers"]] == [(4, 2), (1, 4)]
    assert len(f["points"]["train"]) + len(f["points"]["test"]) == 200
    assert a < b and c < d and q.shape == (grid, grid)


def test_training_steps_lower_the_loss_and_the_map_follows(client):
    sid, f0 = new_session(client, **XOR, learning_rate=0.3)
    for _ in range(40):
        f = client.post(f"/api/sessions/{sid}/step").json()
    assert f["epoch"] == 40
    assert f["loss"]["last_test"] < 0.5 * f0["loss"]["last_test"]
    assert f["accuracy"]["test"] > 0.95
    assert (decode(f["output"]["q"]) != decode(f0["output"]["q"])).mean() > 0.3
    assert all(g > 0 for g in f["grad_norms"])  # measured during the steps
    # the output map agrees with the network: the four XOR corners get their classes
    grid, (a, b, c, d) = f["grid"], f["domain"]
    q = decode(f["output"]["q"]).reshape(grid, grid)
    col = lambda x1: int(round((x1 - a) / (b - a) * (grid - 1)))  # noqa: E731
    row = lambda x2: int(round((d - x2) / (d - c) * (grid - 1)))  # noqa: E731
    assert q[row(1), col(-1)] > 200 and q[row(-1), col(1)] > 200  # class 1 (blue end)
    assert q[row(1), col(1)] < 55 and q[row(-1), col(-1)] < 55  # class 0


def test_frames_are_numbered_in_the_order_they_are_made(client):
    sid, f0 = new_session(client, **XOR)
    seqs = [f0["seq"]] + [client.post(f"/api/sessions/{sid}/step").json()["seq"]
                          for _ in range(3)]
    assert seqs == sorted(set(seqs)) and seqs[0] >= 1  # a page drops any frame older than its own
    sid2, g0 = new_session(client, **XOR)
    assert g0["seq"] == f0["seq"]  # each session counts its own


def test_stop_after_n_epochs_is_exact():
    s = Session(PlaygroundConfig(**XOR, stop_epochs=7))
    s.playing = True
    for _ in range(20):
        s.advance(budget_s=0.01)
    assert s.epoch == 7 and not s.playing and "stopped after 7" in s.status
    assert len(s.train_loss) == len(s.test_loss) == 8  # epoch 0, then one per epoch


KEPT = ("your points are kept: the noise only changes generated data (choose a data set to "
        "replace your points)")
# each state of the status line: its key, its parameters, and the English line as it always was
STATUS_LINES = {
    "ready": ("ready", {}, "ready"),
    "ready_note": ("ready_note", {"note": KEPT}, f"ready · {KEPT}"),
    "training": ("training", {}, "training"),
    "paused": ("paused", {"epoch": 3}, "paused at epoch 3"),
    "stopped": ("stopped", {"epoch": 2}, "stopped after 2 epochs"),
    "diverged": ("diverged", {"epoch": 0},
                 "diverged (NaN/inf weights; restored to epoch 0): lower the learning rate"),
}


def status_frames() -> dict[str, dict]:
    """A frame of a session in each state of STATUS_LINES, brought there by the engine."""
    from mlplab.playground.config import PointEdit
    from test_playground_hostile import DIVERGES  # it imports this module: import it late

    def session(steps=0, playing=False, **cfg):
        s = Session(PlaygroundConfig(**{**XOR, **cfg}))
        s.playing = playing
        if steps:
            s.advance(steps)
        return s

    kept = session()
    kept.edit_points(PointEdit(action="add", x1=0, x2=0, label=1))
    kept.configure(PlaygroundConfig(**XOR, noise=0.2))
    sessions = {"ready": session(), "ready_note": kept, "training": session(1, playing=True),
                "paused": session(3), "stopped": session(5, playing=True, stop_epochs=2),
                "diverged": session(1, **DIVERGES)}
    return {state: s.frame() for state, s in sessions.items()}


def test_every_frame_carries_its_status_key_and_parameters_and_the_same_english():
    frames = status_frames()
    assert set(frames) == set(STATUS_LINES)
    for state, f in frames.items():
        key, params, english = STATUS_LINES[state]
        assert (f["status_key"], f["status_params"], f["status"]) == (key, params, english), state
    paused = Session(PlaygroundConfig(**XOR))
    paused.advance(2)
    paused.playing = True
    paused.pause()  # the pause command's own frame
    assert (paused.status_key, paused.status_params, paused.status) == (
        "paused", {"epoch": 2}, "paused at epoch 2")


def test_a_chunk_paused_meanwhile_sends_no_frame_whatever_the_english_wording(monkeypatch):
    """The play loop drops a chunk's frame when a pause came during it (the pause command
    sends its own); a stopped or diverged chunk's frame goes out. Decided by the status key:
    the English wording may change."""
    from mlplab.playground import session as session_module
    from mlplab.playground.stream import Hub, Player, Subscriber
    from test_playground_hostile import DIVERGES

    monkeypatch.setitem(session_module.STATUS_TEXT, "paused", "halted after {epoch} epochs")
    monkeypatch.setitem(session_module.STATUS_TEXT, "training", "learning")
    player = Player()
    try:
        def work(s: Session) -> dict | None:
            hub = Hub("sid", s, touch=lambda: None)
            hub.subscribers.add(Subscriber())  # someone reads: the frame is not put off
            s.playing = True
            text = player._work(hub, "chunk")
            return text and json.loads(text)

        s = Session(PlaygroundConfig(**XOR))
        f = work(s)
        assert (f["status_key"], f["status"]) == ("training", "learning")
        player.hold = lambda sid: s.pause()  # the pause command, during the chunk
        assert work(s) is None and s.status.startswith("halted after")
        player.hold = lambda sid: None
        stopped = Session(PlaygroundConfig(**XOR, stop_epochs=1))
        assert work(stopped)["status_key"] == "stopped"
        assert work(Session(PlaygroundConfig(**DIVERGES)))["status_key"] == "diverged"
    finally:
        player.close()


def test_config_changes_keep_or_rebuild_the_network(client):
    sid, _ = new_session(client, **XOR)
    for _ in range(3):
        client.post(f"/api/sessions/{sid}/step")
    keep = client.put(f"/api/sessions/{sid}/config", json={**XOR, "learning_rate": 0.03}).json()
    assert keep["epoch"] == 3 and keep["config"]["learning_rate"] == 0.03
    wider = client.put(f"/api/sessions/{sid}/config", json={**XOR, "hidden": [4, 3],
                                                               "activations": ["relu", "sigmoid"]})
    f = wider.json()
    assert f["epoch"] == 0 and [layer["activation"] for layer in f["layers"]] == ["relu", "sigmoid", "sigmoid"]
    feats = client.put(f"/api/sessions/{sid}/config", json={**XOR, "features": ["x1", "x2", "x1x2", "sin(x1)"]}).json()
    assert feats["inputs"] == ["x1", "x2", "x1x2", "sin(x1)"] and len(feats["layers"][0]["W"][0]) == 4


def test_trace_is_mlplab_trace_of_that_point(client):
    sid, f = new_session(client, **XOR)
    t = client.post(f"/api/sessions/{sid}/trace", json={"subset": "test", "index": 3}).json()
    x1, x2, y = f["points"]["test"][3]
    symbols = [s["symbol"] for s in t["steps"]]
    assert {"z⁽¹⁾", "a⁽¹⁾", "a⁽²⁾", "δ⁽²⁾", "δ⁽¹⁾"} <= set(symbols)
    W1, b1 = np.array(f["layers"][0]["W"]), np.array(f["layers"][0]["b"])
    z1 = next(s["value"] for s in t["steps"] if s["symbol"] == "z⁽¹⁾")
    np.testing.assert_allclose(z1, W1 @ [x1, x2] + b1, atol=1e-3)  # frame W is rounded to 1e-5


def test_edit_a_weight_and_the_points(client):
    sid, f = new_session(client, **XOR)
    f = client.post(f"/api/sessions/{sid}/weight", json={"layer": 1, "i": 2, "j": 1, "value": 3.5}).json()
    assert f["layers"][0]["W"][2][1] == 3.5
    f = client.post(f"/api/sessions/{sid}/weight", json={"layer": 2, "i": 0, "value": -1.25}).json()
    assert f["layers"][1]["b"][0] == -1.25
    n = len(f["points"]["train"])
    f = client.post(f"/api/sessions/{sid}/points", json={"action": "add", "x1": 0.0, "x2": 0.0, "label": 1}).json()
    assert len(f["points"]["train"]) == n + 1 and f["points"]["train"][-1] == [0.0, 0.0, 1.0]
    f = client.post(f"/api/sessions/{sid}/points", json={"action": "remove", "x1": 0.01, "x2": 0.0}).json()
    assert len(f["points"]["train"]) == n and f["task"]["source"] == "edited"


def test_csv_upload_makes_a_task_of_the_users_points(client):
    sid, _ = new_session(client, **XOR)
    rows = ["x1,x2,label"] + [f"{a},{b},{int(a > b)}" for a in range(-3, 4) for b in range(-3, 4)]
    f = client.post(f"/api/sessions/{sid}/csv", content="\n".join(rows),
                    headers={"Content-Type": "text/csv"}).json()
    assert f["task"]["source"] == "csv" and f["task"]["classes"] == 2
    assert f["task"]["n_train"] + f["task"]["n_test"] == 49
    reg = ["1,2,0.5", "2,1,1.5", "0,0,0.25", "1,1,0.75", "-1,0,0.1", "0,-1,0.3"]
    sid2, _ = new_session(client, **XOR, loss="mse")
    f = client.post(f"/api/sessions/{sid2}/csv", content="\n".join(reg)).json()
    assert f["task"]["kind"] == "regression" and f["output"]["mode"] == "signed"
    # cross-entropy is refused for these real-valued targets, and the session is unchanged
    r = client.put(f"/api/sessions/{sid2}/config", json={**XOR, "loss": "cross_entropy"})
    assert r.status_code == 400 and "regression" in r.json()["error"]
    f = client.post(f"/api/sessions/{sid2}/step").json()
    assert f["task"]["source"] == "csv" and f["config"]["loss"] == "mse" and f["epoch"] == 1


def test_export_loads_with_mlplab_load_and_predicts_the_same(client, tmp_path):
    sid, _ = new_session(client, **{**XOR, "features": ["x1", "x2", "x1x2"], "hidden": [5, 3],
                                    "activations": ["relu", "tanh"]})
    for _ in range(5):
        client.post(f"/api/sessions/{sid}/step")
    r = client.get(f"/api/sessions/{sid}/model")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    path = tmp_path / "m.safetensors"
    path.write_bytes(r.content)
    net = mlplab.load(path)
    assert net.sizes == [3, 5, 3, 1]
    assert [layer.g.name for layer in net.layers[1:]] == ["relu", "tanh", "sigmoid"]
    assert net.extra["playground"]["features"] == ["x1", "x2", "x1x2"]
    f = client.post(f"/api/sessions/{sid}/view", json={"warp_layer": 2}).json()
    P = np.array(f["points"]["test"])[:, :2]
    A = net.forward(features(P, ["x1", "x2", "x1x2"]))
    server_acc = f["accuracy"]["test"]
    assert np.mean((A[:, 0] > 0.5) == (np.array(f["points"]["test"])[:, 2] > 0.5)) == server_acc
    assert "3-D" in f["warp"]["note"] or "hidden layer 2" in f["warp"]["note"]


def test_step_output_uses_the_perceptron_rule():
    cfg = PlaygroundConfig(dataset="blobs", hidden=[], activations=[], output="step",
                           learning_rate=0.1, noise=0.2)
    s = Session(cfg)
    s.advance(20)
    f = s.frame()
    assert f["accuracy"]["train"] == 1.0 and f["layers"][0]["activation"] == "step"
    assert s.trace_point("train", 0)["note"].startswith("a step neuron has no gradient")


def test_warp_projects_wide_layers_and_says_so():
    s = Session(PlaygroundConfig(dataset="spiral", hidden=[8, 2], activations=["tanh", "tanh"]))
    s.view["warp_layer"] = 1
    assert "8-D: projected on its 2 principal components" in s.frame()["warp"]["note"]
    s.view["warp_layer"] = 2
    w = s.frame()["warp"]
    assert "the plane as this layer sees it" in w["note"]
    # the carried grid is the hidden layer's activations: tanh keeps them in (-1, 1)
    assert np.abs(np.array(w["lines"])).max() < 1


MALFORMED = [
    ("post", "/api/sessions", {"hidden": [4] * 7, "activations": ["tanh"] * 7}, 422, "hidden"),
    ("post", "/api/sessions", {"hidden": [9], "activations": ["tanh"]}, 422, "1 to 8 neurons"),
    ("post", "/api/sessions", {"learning_rate": -0.1}, 422, "learning_rate"),
    ("post", "/api/sessions", {"learning_rate": 5}, 422, "learning_rate"),
    ("post", "/api/sessions", {"reg_rate": -1}, 422, "reg_rate"),
    ("post", "/api/sessions", {"noise": -0.5}, 422, "noise"),
    ("post", "/api/sessions", {"dataset": "mnist"}, 422, "dataset"),
    ("post", "/api/sessions", {"features": ["x3"]}, 422, "features"),
    ("post", "/api/sessions", {"features": []}, 422, "features"),
    ("post", "/api/sessions", {"features": ["x1", "x1"]}, 422, "repeat"),
    ("post", "/api/sessions", {"hidden": [4], "activations": ["step"]}, 422, "step"),
    ("post", "/api/sessions", {"output": "step"}, 422, "no hidden layer"),
    ("post", "/api/sessions", {"dataset": "bumps", "loss": "cross_entropy"}, 422, "regression"),
    ("post", "/api/sessions", {"hidden": [4, 4], "activations": ["tanh"]}, 422, "one per hidden layer"),
    ("post", "/api/sessions", {"batch_size": 0}, 422, "batch_size"),
    ("post", "/api/sessions", {"n_points": 10**9}, 422, "n_points"),
    ("post", "/api/sessions", {"seed": "abc"}, 422, "seed"),
    ("post", "/api/sessions", {"stop_epochs": -3}, 422, "stop_epochs"),
    ("post", "/api/sessions", {"optimizer": "lbfgs"}, 422, "optimizer"),
    ("post", "/api/sessions", {"surprise": 1}, 422, "surprise"),
    ("post", "/api/sessions", [1, 2, 3], 422, "invalid request"),
    ("post", "/api/sessions", "not json{", 422, "invalid request"),
    ("put", "/api/sessions/nope/config", {}, 404, "expired"),
    ("post", "/api/sessions/nope/step", None, 404, "expired"),
    ("get", "/api/sessions/nope/model", None, 404, "expired"),
]


def test_a_batch_of_malformed_requests_gets_4xx_with_clear_messages_never_500(client):
    sid, _ = new_session(client, **XOR)
    session_bad = [
        ("post", f"/api/sessions/{sid}/weight", {"layer": 5, "i": 0, "j": 0, "value": 1}, 400, "does not exist"),
        ("post", f"/api/sessions/{sid}/weight", {"layer": 1, "i": 0, "j": 6, "value": 1}, 400, "no entry"),
        ("post", f"/api/sessions/{sid}/weight", {"layer": 1, "i": 0, "j": 0, "value": 1e9}, 422, "value"),
        ("post", f"/api/sessions/{sid}/weight", {"layer": 1, "i": 0, "j": 0, "value": "NaN"}, 422, "value"),
        ("post", f"/api/sessions/{sid}/points", {"action": "add", "x1": 0, "x2": 0, "label": 7}, 400, "class label"),
        ("post", f"/api/sessions/{sid}/points", {"action": "teleport", "x1": 0, "x2": 0}, 422, "action"),
        ("post", f"/api/sessions/{sid}/trace", {"subset": "train", "index": 999}, 400, "out of range"),
        ("post", f"/api/sessions/{sid}/trace", {"subset": "val", "index": 0}, 422, "subset"),
        ("post", f"/api/sessions/{sid}/view", {"warp_layer": 99}, 422, "warp_layer"),
        ("post", f"/api/sessions/{sid}/csv", "a,b\n1,2\n", 400, "3 columns"),
        ("post", f"/api/sessions/{sid}/csv", "x1,x2,y\n1,2,oops\n3,4,1\n", 400, "three numbers"),
        ("post", f"/api/sessions/{sid}/csv", b"\xff\xfe\x00bad", 400, "UTF-8"),
        ("post", f"/api/sessions/{sid}/csv", "1,1,0\n2,2,1\n", 400, "4 to"),
        ("put", f"/api/sessions/{sid}/config", {"dataset": "plane", "loss": "cross_entropy"}, 422, "mse"),
    ]
    for method, url, body, status, words in MALFORMED + session_bad:
        if isinstance(body, (str, bytes)):
            r = client.request(method, url, content=body, headers={"Content-Type": "application/json"})
        else:
            r = client.request(method, url, json=body)
        assert r.status_code == status, (url, body, r.status_code, r.text)
        assert words.lower() in r.json()["error"].lower(), (url, body, r.json())
    # the session survived every refusal
    assert client.post(f"/api/sessions/{sid}/step").json()["epoch"] == 1


def test_oversized_requests_are_refused_with_413(client):
    sid, _ = new_session(client, **XOR)
    big = "1,2,0\n" * (MAX_BODY_BYTES // 6 + 10)
    r = client.post(f"/api/sessions/{sid}/csv", content=big)
    assert r.status_code == 413 and "too large" in r.json()["error"]

    def chunks():  # no Content-Length: the server counts what arrives
        for _ in range(MAX_BODY_BYTES // 10_000 + 2):
            yield b"1,2,0\n" * 1700

    r = client.post(f"/api/sessions/{sid}/csv", content=chunks())
    assert r.status_code == 413


def test_sessions_are_bounded_and_expire():
    with TestClient(create_app(max_sessions=2, timeout_s=60), base_url=LOCAL) as c:
        now = [0.0]
        c.app.state.sessions.clock = lambda: now[0]  # a clock the test moves
        ids = [new_session(c, **XOR)[0] for _ in range(2)]
        r = c.post("/api/sessions", json=XOR)
        assert r.status_code == 503 and "2 sessions" in r.json()["error"]
        c.post(f"/api/sessions/{ids[0]}/close")
        assert c.post("/api/sessions", json=XOR).status_code == 200  # a slot was freed
        now[0] = 59.0
        assert c.post(f"/api/sessions/{ids[1]}/step").status_code == 200  # still alive, touched
        now[0] = 59.0 + 61
        assert c.post("/api/sessions", json=XOR).status_code == 200  # idle ones expired
        assert len(c.app.state.sessions.items) == 1
        assert c.post(f"/api/sessions/{ids[1]}/step").status_code == 404


def test_the_stream_plays_pauses_steps_and_resets(client):
    sid, _ = new_session(client, **XOR)
    with client.websocket_connect(f"{WS}/api/sessions/{sid}/stream") as ws:
        assert ws.receive_json()["epoch"] == 0
        ws.send_json({"cmd": "step"})
        assert ws.receive_json()["epoch"] == 1
        ws.send_json({"cmd": "play"})
        epochs = [ws.receive_json()["epoch"] for _ in range(3)]
        assert epochs[0] > 1 and epochs == sorted(epochs) and epochs[-1] > epochs[0]
        ws.send_json({"cmd": "pause"})
        # frames made before the pause come first: the test client keeps every frame sent, as
        # many as played while this thread was held up (on a busy machine, more than a few);
        # the paused one follows them (1000 frames: 30 s of play, a pause never taken)
        frames = [ws.receive_json()]
        while frames[-1]["playing"] and len(frames) < 1000:
            frames.append(ws.receive_json())
        assert not frames[-1]["playing"] and frames[-1]["status"].startswith("paused at epoch")
        assert frames[-1]["status_key"] == "paused"
        assert frames[-1]["status_params"] == {"epoch": frames[-1]["epoch"]}
        assert all(f["status_key"] == "training" for f in frames[:-1])
        assert all(f["epoch"] <= frames[-1]["epoch"] for f in frames)  # none trained after it
        ws.send_json({"cmd": "teleport"})  # well-formed, unknown: answered, socket kept
        assert "unknown command" in ws.receive_json()["error"]
        ws.send_json({"cmd": "reset"})
        frame = ws.receive_json()
        assert frame["epoch"] == 0 and frame["status"] == "ready"
        assert frame["status_key"] == "ready" and frame["status_params"] == {}
    with client.websocket_connect(f"{WS}/api/sessions/nope/stream") as ws:
        assert "expired" in ws.receive_json()["error"]


def test_serve_refuses_a_bad_port_with_one_line(tmp_path):
    import socket

    from typer.testing import CliRunner

    from mlplab.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--port", "70000"])
    assert r.exit_code == 2 and "--port must be in 1..65535" in r.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = runner.invoke(app, ["serve", "--port", str(busy.getsockname()[1])])
    assert r.exit_code == 2 and "pick another --port" in r.output
    assert "--open" in runner.invoke(app, ["serve", "--help"]).output


def test_model_files_keep_per_layer_activations(tmp_path):
    from mlplab.layers import Dense, Input

    rng = np.random.default_rng(0)
    net = mlplab.Network.from_layers([Input(2), Dense(2, 3, "relu", "xavier_normal", rng),
                                      Dense(3, 2, "tanh", "xavier_normal", rng),
                                      Dense(2, 1, "sigmoid", "xavier_normal", rng)],
                                     loss="cross_entropy")
    net.init = "xavier_normal"
    mlplab.save(net, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert [layer.g.name for layer in back.layers[1:]] == ["relu", "tanh", "sigmoid"]
    X = rng.normal(size=(5, 2))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))


def test_dropout_trains_and_the_export_is_the_prediction_network(tmp_path):
    cfg = PlaygroundConfig(dataset="moons", hidden=[8, 8], activations=["relu", "tanh"],
                           regularization="dropout", reg_rate=0.3, optimizer="adam",
                           learning_rate=0.03)
    s = Session(cfg)
    assert sum(type(layer).__name__ == "Dropout" for layer in s.net.layers) == 2
    first = s.test_loss[-1]
    s.advance(30)
    assert s.test_loss[-1] < 0.7 * first and s.frame()["accuracy"]["test"] > 0.85
    assert s.trace_point("train", 0)["cost"] > 0  # traced through the dropout-free network
    path = tmp_path / "m.safetensors"
    path.write_bytes(s.export())
    net = mlplab.load(path)
    assert net.sizes == [2, 8, 8, 1]
    np.testing.assert_array_equal(net.forward(s.X_test), s.net.forward(s.X_test))


def test_l1_and_l2_shrink_the_weights():
    def weight_norm(regularization, rate):
        s = Session(PlaygroundConfig(**XOR, regularization=regularization, reg_rate=rate))
        s.advance(40)
        return sum(float(np.abs(layer.W).sum()) for layer in s.dense)

    free = weight_norm("none", 0.0)
    assert weight_norm("l2", 0.03) < 0.8 * free
    assert weight_norm("l1", 0.03) < 0.8 * free


# ----------------------------------------------------------------- hostile clients (issue 24)
def _closed_with(ws) -> tuple[int, str]:
    """Read until the server closes ``ws``; its close code and reason."""
    from starlette.websockets import WebSocketDisconnect

    for _ in range(100):
        try:
            ws.receive_json()
        except WebSocketDisconnect as exc:
            return exc.code, exc.reason
    raise AssertionError("the server never closed the socket")


def test_one_play_loop_per_session_and_caps_on_sockets():
    from contextlib import ExitStack

    with TestClient(create_app(max_sessions=4, timeout_s=60, max_streams=5,
                               max_streams_per_session=4), base_url=LOCAL) as c:
        player = c.app.state.player
        a, _ = new_session(c, **XOR)
        b, _ = new_session(c, **XOR)
        with ExitStack() as stack:
            socks = [stack.enter_context(c.websocket_connect(f"{WS}/api/sessions/{a}/stream"))
                     for _ in range(4)]
            for ws in socks:
                ws.receive_json()
                ws.send_json({"cmd": "play"})
            with c.websocket_connect(f"{WS}/api/sessions/{a}/stream") as fifth:
                assert _closed_with(fifth) == (1013, "this session already has 4 open streams;"
                                                     " close another tab of it")
            epochs = [[ws.receive_json()["epoch"] for _ in range(3)] for ws in socks]
            # one loop: every socket sees the same frames, none trains on its own
            assert player.n_streams == 4 and len(player.hubs) == 1
            assert all(e == sorted(e) for e in epochs)
            with c.websocket_connect(f"{WS}/api/sessions/{b}/stream") as other:
                other.receive_json()
                with c.websocket_connect(f"{WS}/api/sessions/{b}/stream") as over:
                    assert _closed_with(over)[0] == 1013  # 5 streams in all
        assert player.n_streams == 0 and not player.hubs  # all left: nothing plays
        assert not c.app.state.sessions.items[a].playing


def _play_loops_done(app) -> None:
    """Until the job the play loops' one worker thread is running (a chunk) has ended: a
    no-op queued behind it on that thread has run."""
    app.state.player.executor.submit(lambda: None).result(timeout=60)


def test_closing_or_expiring_a_session_ends_its_stream_and_its_training():
    with TestClient(create_app(max_sessions=4, timeout_s=60), base_url=LOCAL) as c:
        now = [0.0]
        sessions = c.app.state.sessions
        sessions.clock = lambda: now[0]
        sid, _ = new_session(c, **XOR)
        with c.websocket_connect(f"{WS}/api/sessions/{sid}/stream") as ws:
            ws.receive_json()
            ws.send_json({"cmd": "play"})
            ws.receive_json()
            session = sessions.items[sid]
            c.post(f"/api/sessions/{sid}/close")
            assert _closed_with(ws) == (1001, "this session was closed: reload the page")
        # a chunk under way ends at its 30 ms budget (or later, on a busy machine): wait for it
        _play_loops_done(c.app)
        epoch = session.epoch
        time.sleep(0.3)
        _play_loops_done(c.app)
        assert session.epoch == epoch and not session.playing  # the loop stopped
        sid, _ = new_session(c, **XOR)
        with c.websocket_connect(f"{WS}/api/sessions/{sid}/stream") as ws:
            ws.receive_json()
            ws.send_json({"cmd": "play"})
            ws.receive_json()
            ws.send_json({"cmd": "pause"})
            now[0] = 1000.0  # idle past the timeout, as far as the server knows …
            sessions.items[sid].last_seen = 0.0
            new_session(c, **XOR)  # (a create purges expired sessions)
            assert sid in sessions.items  # … but a live stream means its tab is open
            ws.send_json({"cmd": "reset"})
            while ws.receive_json().get("epoch") != 0:
                pass
        # the tab went away without its beacon (a crash): the session is freed a minute later
        deadline = time.monotonic() + 30
        while sessions.hubs[sid].left_at is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sessions.hubs[sid].left_at is not None, "the closed stream never left its hub"
        now[0] = 1059.0
        sessions.purge()
        assert sid in sessions.items  # a reconnecting page (a network blip) still finds it
        now[0] = 1061.0
        sessions.purge()
        assert sid not in sessions.items and not c.app.state.player.hubs


@pytest.mark.parametrize("send,code,words", [
    (lambda ws: ws.send_bytes(b'{"cmd": "play"}'), 1003, "binary"),
    (lambda ws: ws.send_text("garbage"), 1007, "not a JSON command"),
    (lambda ws: ws.send_text("[" * 120 + "]" * 120), 1007, "not a JSON command"),
    (lambda ws: ws.send_text('{"cmd": ' + "9" * 200 + "}"), 1007, "not a JSON command"),
    (lambda ws: ws.send_text('{"cmd": "play", "pad": "' + "x" * 300 + '"}'), 1009, "at most"),
    (lambda ws: [ws.send_json({"cmd": "pause"}) for _ in range(60)], 1008, "commands a second"),
])
def test_malformed_or_flooding_messages_close_the_socket_with_a_code(client, send, code, words):
    sid, _ = new_session(client, **XOR)
    with client.websocket_connect(f"{WS}/api/sessions/{sid}/stream") as ws:
        ws.receive_json()
        send(ws)
        got, reason = _closed_with(ws)
    assert got == code and words in reason
    assert client.post(f"/api/sessions/{sid}/step").status_code == 200  # the session lives on


def test_minus_zero_and_near_overflow_csv_values_are_not_500s(client):
    sid, f = new_session(client, **XOR, noise=-0.0)
    assert f["config"]["noise"] == 0.0
    r = client.put(f"/api/sessions/{sid}/config", json={**XOR, "noise": -0.0, "seed": 2})
    assert r.status_code == 200
    before = client.post(f"/api/sessions/{sid}/step").json()
    for value in ("1e308", "-1.7e308", "10000.5"):
        rows = "x1,x2,label\n" + "".join(f"{v},{i},{i % 2}\n" for i, v in
                                         enumerate([value, 1, 2, 3, 4, 5]))
        r = client.post(f"/api/sessions/{sid}/csv", content=rows)
        assert r.status_code == 400 and "within ±10000" in r.json()["error"], r.text
    after = client.post(f"/api/sessions/{sid}/step").json()  # the session is as it was
    assert after["epoch"] == before["epoch"] + 1 and after["task"] == before["task"]
    for bad in ({"learning_rate": "NaN"}, {"noise": "Infinity"}, {"train_ratio": 1e309}):
        r = client.post("/api/sessions", content=__import__("json").dumps({**XOR, **bad})
                        .replace('"NaN"', "NaN").replace('"Infinity"', "Infinity"),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (bad, r.text)


def test_a_failed_update_leaves_the_session_as_it_was(monkeypatch):
    import mlplab.playground.session as session_module
    from mlplab.playground.data import parse_csv

    s = Session(PlaygroundConfig(**XOR))
    s.advance(3)
    before = s.frame()
    data = parse_csv("1,2,0\n2,1,1\n0,0,0\n1,1,1\n3,0,1\n0,3,0\n", s.cfg)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(session_module.Network, "from_layers", broken)  # fails mid-reset
    with pytest.raises(RuntimeError):
        s.set_data(data)
    with pytest.raises(RuntimeError):
        s.configure(PlaygroundConfig(**{**XOR, "hidden": [3]}))
    monkeypatch.undo()
    after = s.frame()
    assert after.pop("seq") > before.pop("seq")  # a frame's number counts up, whatever failed
    assert after == before and s.data.source == "xor"
    s.advance(1)
    assert s.epoch == 4


def test_foreign_hosts_and_origins_are_refused():
    from starlette.websockets import WebSocketDisconnect

    app = create_app(allow_hosts=["lab.example"])
    with TestClient(app, base_url="http://evil.example:8000") as evil:
        r = evil.get("/api/meta")
        assert r.status_code == 400 and "--allow-host evil.example" in r.json()["error"]
    with TestClient(app, base_url="http://lab.example:8000") as lab:
        assert lab.get("/api/meta").status_code == 200
    with TestClient(app, base_url=LOCAL) as c:
        sid, _ = new_session(c, **XOR)
        foreign = {"Origin": "http://evil.example"}
        r = c.post(f"/api/sessions/{sid}/step", headers=foreign)
        assert r.status_code == 403 and "refused" in r.json()["error"]
        assert c.get("/api/meta", headers=foreign).status_code == 200  # reading is harmless
        with pytest.raises(WebSocketDisconnect) as closed:
            with c.websocket_connect(f"{WS}/api/sessions/{sid}/stream", headers=foreign):
                pass
        assert closed.value.code == 1008
        own = {"Origin": LOCAL}
        assert c.post(f"/api/sessions/{sid}/step", headers=own).status_code == 200
        with c.websocket_connect(f"{WS}/api/sessions/{sid}/stream", headers=own) as ws:
            assert ws.receive_json()["type"] == "frame"
    with TestClient(create_app(host="0.0.0.0"), base_url="http://192.168.7.7:8000") as lan:
        assert lan.get("/api/meta").status_code == 200  # an address cannot be rebound
        assert lan.get("/api/meta", headers={"Host": "rebind.example"}).status_code == 400


def test_serve_refuses_an_empty_host_and_a_nan_timeout_and_tells_where_it_listens():
    import subprocess
    import sys

    from typer.testing import CliRunner

    from mlplab.cli import app
    from mlplab.playground.launch import free_port

    runner = CliRunner()
    for args, words in ((["--host", ""], "--host must be an address"),
                        (["--session-timeout", "nan"], "--session-timeout must be a number"),
                        (["--session-timeout", "-5"], "--session-timeout must be a number"),
                        (["--max-sessions", "0"], "--max-sessions must be in")):
        r = runner.invoke(app, ["serve", *args])
        assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlplab", "serve", "--host", "0.0.0.0",
                             "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert f"http://127.0.0.1:{port}/ (listening on every interface, 0.0.0.0)" in first
