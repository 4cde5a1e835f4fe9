"""The playground against a hostile user pass: a diverged run, edits that must move the loss,
the user's own points kept, strict JSON types, uniform errors. In-process (TestClient), as
test_playground_api.py; the page's side is in test_playground_browser.py.
"""

import pytest
from test_playground_api import WS, XOR, client, new_session  # noqa: F401, F811 (its fixture)

# the user pass's repro: ripple, MSE, 5 features, 8-8-8 identity, momentum, α = 1, batch 1
DIVERGES = {"dataset": "ripple", "loss": "mse", "learning_rate": 1, "hidden": [8, 8, 8],
            "activations": ["identity"] * 3, "features": ["x1", "x2", "x1^2", "x2^2", "x1x2"],
            "batch_size": 1, "optimizer": "momentum", "n_points": 200}


def finite_losses(frame) -> bool:
    return all(v is not None for _, v in frame["loss"]["train"] + frame["loss"]["test"])


def test_a_diverged_run_is_reported_stops_and_trains_again_at_a_lower_rate(client):
    sid, f0 = new_session(client, **DIVERGES)
    f = client.post(f"/api/sessions/{sid}/step").json()
    assert f["status"].startswith("diverged") and "lower the learning rate" in f["status"]
    assert f["status_key"] == "diverged" and f["status_params"] == {"epoch": 0}
    assert f["epoch"] == 0 and not f["playing"] and finite_losses(f)  # no NaN epoch recorded
    assert f["layers"] == f0["layers"]  # the weights from before the step, not 1e183 ones
    with client.websocket_connect(f"{WS}/api/sessions/{sid}/stream") as ws:
        ws.receive_json()
        ws.send_json({"cmd": "play"})
        f = ws.receive_json()  # the play loop stops at once and says why
        assert f["status"].startswith("diverged") and not f["playing"] and f["epoch"] == 0
        assert f["status_key"] == "diverged"
    r = client.put(f"/api/sessions/{sid}/config", json={**DIVERGES, "learning_rate": 0.001})
    assert r.status_code == 200
    for _ in range(3):
        f = client.post(f"/api/sessions/{sid}/step").json()
    assert f["epoch"] == 3 and f["status"] == "paused at epoch 3" and finite_losses(f)
    assert f["status_key"] == "paused" and f["status_params"] == {"epoch": 3}
    assert f["loss"]["last_train"] < 10 * f0["loss"]["last_train"]


def test_the_loss_follows_an_edited_weight_and_edited_points(client):
    sid, f0 = new_session(client, **XOR)
    edit = {"layer": 2, "i": 0, "j": 0, "value": 50}
    f = client.post(f"/api/sessions/{sid}/weight", json=edit).json()
    assert f["loss"]["last_train"] > f0["loss"]["last_train"] + 0.1  # was left at 0.6931
    assert f["loss"]["last_test"] != f0["loss"]["last_test"]
    assert len(f["loss"]["train"]) == 1 and f["epoch"] == 0  # this epoch's value, replaced
    before = f["loss"]["last_test"]
    for k in range(5):  # points of the wrong class, right where the net is sure
        f = client.post(f"/api/sessions/{sid}/points", json={
            "action": "add", "x1": 1 + k / 10, "x2": 1, "label": 1, "subset": "test"}).json()
    assert f["loss"]["last_test"] != before


def test_the_users_points_survive_settings_for_generated_data(client):
    sid, _ = new_session(client, **XOR)
    rows = "x1,x2,label\n" + "".join(f"{i % 7},{i // 7},{(i % 7 + i // 7) % 2}\n"
                                     for i in range(40))
    f = client.post(f"/api/sessions/{sid}/csv", content=rows).json()
    assert f["task"]["source"] == "csv"
    for change in ({"noise": 0.2}, {"n_points": 300}, {"seed": 5}):
        f = client.put(f"/api/sessions/{sid}/config", json={**XOR, **change}).json()
        assert f["task"]["source"] == "csv", change
        assert f["task"]["n_train"] + f["task"]["n_test"] == 40
        assert "your points are kept" in f["status"] and "generated data" in f["status"]
        assert f["status_key"] == "ready_note" and f["status"] == f"ready · {f['status_params']['note']}"
    f = client.put(f"/api/sessions/{sid}/config", json={**XOR, "seed": 5,
                                                         "train_ratio": 0.8}).json()
    assert f["task"]["source"] == "csv" and (f["task"]["n_train"], f["task"]["n_test"]) == (32, 8)
    f = client.put(f"/api/sessions/{sid}/config", json={**XOR, "dataset": "circles"}).json()
    assert f["task"]["source"] == "circles"  # choosing a data set replaces them


@pytest.mark.parametrize("field,value", [
    ("learning_rate", "0.1"), ("learning_rate", True), ("hidden", [True]), ("seed", 2.5),
    ("n_points", "300"), ("features", "x1"),
])
def test_wrong_json_types_are_refused_naming_the_field(client, field, value):
    r = client.post("/api/sessions", json={**XOR, field: value})
    assert r.status_code == 422 and field in r.json()["error"], r.text


def test_every_refusal_is_an_error_object(client):
    deep = "[" * 100_000 + "]" * 100_000
    for method, path, body in [("post", "/api/sessions", deep),
                               ("post", "/api/sessions", '{"seed": ' + "9" * 5000 + "}"),
                               ("get", "/api/nowhere", None), ("get", "/static/nope.js", None),
                               ("delete", "/api/meta", None)]:
        r = client.request(method, path, content=body,
                           headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500 and set(r.json()) == {"error"}, (path, r.text)
    assert "no such page or API route: GET /api/nowhere" in client.get("/api/nowhere").text
    r = client.post("/api/sessions", content=deep, headers={"Content-Type": "application/json"})
    assert "JSON" in r.json()["error"]


def test_csv_labels_numbered_from_1_are_named_as_the_problem(client):
    sid, _ = new_session(client, **XOR)
    rows = "".join(f"{i},{i % 3},{1 + i % 2}\n" for i in range(10))
    r = client.post(f"/api/sessions/{sid}/csv", content=rows)
    assert r.status_code == 400 and "0 to k−1" in r.json()["error"]
    assert "1, 2" in r.json()["error"] and "renumber them 0, 1" in r.json()["error"]
    assert client.post(f"/api/sessions/{sid}/step").status_code == 200  # the session lives on
