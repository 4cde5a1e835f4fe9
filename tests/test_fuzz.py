"""Property-based fuzzing: whatever bytes, corruptions, shapes or values come in, only mlplab
errors come out (never a KeyError, struct.error, MemoryError, pandas or safetensors error)."""

import json
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlplab
from mlplab import MlplabError, ModelFileError, Network
from mlplab.datasets.csv import load_csv
from mlplab.io import loads

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _good_model_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.safetensors"
        mlplab.save(Network([2, 3, 1], seed=0), path, extra={"note": "x"})
        return path.read_bytes()


GOOD = _good_model_bytes()
N_HEADER = struct.unpack("<Q", GOOD[:8])[0]
HEADER = json.loads(GOOD[8:8 + N_HEADER])


def _pack(header: dict, body: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + body


def _expect_only_model_file_error(data: bytes) -> None:
    try:
        net = loads(data, "fuzz.safetensors")
    except ModelFileError as exc:
        assert "fuzz.safetensors" in str(exc)
    else:  # whatever loads must be a usable, finite network
        assert all(np.isfinite(p).all() for p in net.params)
        assert net.forward(np.zeros((1, net.n_inputs), net.dtype)).shape == (1, net.n_outputs)


def test_the_unmodified_file_loads():
    assert loads(GOOD).sizes == [2, 3, 1]


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_give_model_file_error(data):
    _expect_only_model_file_error(data)


@FUZZ
@given(st.binary(max_size=64), st.integers(0, len(GOOD)))
def test_random_splices_into_a_good_file(patch, at):
    _expect_only_model_file_error(GOOD[:at] + patch + GOOD[at + len(patch):])


@FUZZ
@given(st.integers(0, len(GOOD) - 1))
def test_every_truncation(n):
    with pytest.raises(ModelFileError):
        loads(GOOD[:n], "fuzz.safetensors")


JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                       | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                       max_leaves=12)


@FUZZ
@given(st.sampled_from(["sizes", "activation", "output", "loss", "init", "dtype"]), JSONISH)
def test_structured_corruption_of_the_architecture(key, value):
    header = json.loads(json.dumps(HEADER))
    config = json.loads(header["__metadata__"]["config"])
    config["network"][key] = value
    header["__metadata__"]["config"] = json.dumps(config)
    _expect_only_model_file_error(_pack(header, GOOD[8 + N_HEADER:]))


def _good_stack_bytes() -> bytes:
    from mlplab.layers import BatchNorm, Dense, Input, Residual

    rng = np.random.default_rng(0)
    net = Network.from_layers([Input(2), Dense(2, 3, "identity", rng=rng), BatchNorm(3, "tanh"),
                               Residual([Dense(3, 3, "relu", rng=rng)]),
                               Dense(3, 1, "sigmoid", rng=rng)], loss="mse", seed=0)
    with tempfile.TemporaryDirectory() as d:
        return mlplab.save(net, Path(d) / "s.safetensors").read_bytes()


STACK = _good_stack_bytes()
N_STACK = struct.unpack("<Q", STACK[:8])[0]
STACK_HEADER = json.loads(STACK[8:8 + N_STACK])


@FUZZ
@given(st.sampled_from([(), (0,), (1,), (2,), (2, "layers", 0), (3,)]),
       st.sampled_from(["kind", "n", "n_in", "n_out", "activation", "momentum", "eps", "layers",
                        None]), JSONISH)
def test_structured_corruption_of_a_layer_stack(where, key, value):
    header = json.loads(json.dumps(STACK_HEADER))
    config = json.loads(header["__metadata__"]["config"])
    target = config["network"]["stack"]
    for step in where:
        target = target[step]
    if key is None or not isinstance(target, dict):  # replace the whole record or list
        if where:
            parent = config["network"]["stack"]
            for step in where[:-1]:
                parent = parent[step]
            parent[where[-1]] = value
        else:
            config["network"]["stack"] = value
    else:
        target[key] = value
    header["__metadata__"]["config"] = json.dumps(config)
    _expect_only_model_file_error(_pack(header, STACK[8 + N_STACK:]))


@FUZZ
@given(st.binary(max_size=64), st.integers(0, len(STACK)))
def test_random_splices_into_a_stack_file(patch, at):
    _expect_only_model_file_error(STACK[:at] + patch + STACK[at + len(patch):])


@FUZZ
@given(st.sampled_from(["layers.1.W", "layers.1.b", "layers.2.W", "layers.2.b"]),
       st.sampled_from(["dtype", "shape", "data_offsets"]), JSONISH)
def test_structured_corruption_of_the_tensor_table(tensor, field, value):
    header = json.loads(json.dumps(HEADER))
    header[tensor][field] = value
    _expect_only_model_file_error(_pack(header, GOOD[8 + N_HEADER:]))


@FUZZ
@given(JSONISH, st.sampled_from(["format", "format_version", "config", "__metadata__"]))
def test_structured_corruption_of_the_metadata(value, key):
    header = json.loads(json.dumps(HEADER))
    if key == "__metadata__":
        header[key] = value
    else:
        header["__metadata__"][key] = value
    _expect_only_model_file_error(_pack(header, GOOD[8 + N_HEADER:]))


CSV_TEXT = st.text(alphabet=st.sampled_from(list("0123456789.,-+eE naNinf?\"'\n\r\tyx;")),
                   max_size=200)


@FUZZ
@given(st.one_of(CSV_TEXT.map(str.encode), st.binary(max_size=200)))
def test_csv_loader_gives_only_data_errors(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.csv"
        path.write_bytes(b"x,y\n" + data)
        try:
            X, Y, names = load_csv(path, "y")
        except MlplabError as exc:
            assert "fuzz.csv" in str(exc)
        else:
            assert X.shape[0] == Y.shape[0] >= 1 and X.shape[1] == len(names) >= 1
            assert np.isfinite(X).all() and np.isfinite(Y).all()


VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                   st.integers(-10, 10))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=3), st.lists(st.integers(0, 4), max_size=3),
       VALUES, VALUES, st.sampled_from(["mse", "cross_entropy"]), st.integers(1, 3))
def test_fit_and_predict_with_random_shapes_and_values(x_shape, y_shape, x_value, y_value,
                                                       loss, n_out):
    net = Network([2, 3, n_out], loss=loss, seed=0)
    X = np.full(x_shape, x_value)
    Y = np.full(y_shape, y_value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            history = net.fit(X, Y, max_epochs=3, learning_rate=1.0)
        except MlplabError:
            pass
        else:
            assert history.epochs >= 1 and all(np.isfinite(p).all() for p in net.params)
        try:
            P = net.predict(X)
        except MlplabError:
            pass
        else:
            assert len(P) == len(X)


def _good_checkpoint_bytes() -> tuple[bytes, bytes]:
    """A checkpoint's bytes and those of the history log beside it."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.ckpt"
        X, Y = mlplab.datasets.xor()
        Network([2, 3, 1], seed=0).fit(X, Y, optimizer="adam", learning_rate=0.1, batch_size=2,
                                       max_epochs=3, checkpoint=path)
        return path.read_bytes(), Path(f"{path}.history.jsonl").read_bytes()


CKPT, CKPT_LOG = _good_checkpoint_bytes()


def _write_checkpoint(path: Path, data: bytes, log: bytes = CKPT_LOG) -> None:
    """A checkpoint file at ``path`` and its (intact) history log beside it."""
    path.write_bytes(data)
    Path(f"{path}.history.jsonl").write_bytes(log)


def _resume(path: Path) -> None:
    """Resume the checkpoint run from ``path``: it either trains or is refused by file name."""
    X, Y = mlplab.datasets.xor()
    try:
        Network([2, 3, 1], seed=0).fit(X, Y, optimizer="adam", learning_rate=0.1, batch_size=2,
                                       max_epochs=5, checkpoint=path, resume=True)
    except MlplabError as exc:
        assert "fuzz.ckpt" in str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64), st.integers(0, len(CKPT)))
def test_random_splices_into_a_checkpoint(patch, at):
    from mlplab import load_checkpoint

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.ckpt"
        _write_checkpoint(path, CKPT[:at] + patch + CKPT[at + len(patch):])
        try:
            ck = load_checkpoint(path)
        except ModelFileError as exc:
            assert "fuzz.ckpt" in str(exc)
        else:
            assert ck.epoch >= 1 and all(np.isfinite(p).all() for p in ck.net.params)
            _resume(path)


def _set(record: dict, key: str, value) -> None:
    """``record[key] = value``, one level down for a dotted key (``"history.loss"``)."""
    outer, _, inner = key.partition(".")
    if inner:
        record[outer][inner] = value
    else:
        record[outer] = value


def _with_state(ckpt: bytes, edit) -> bytes:
    """The checkpoint ``ckpt`` with its JSON training state changed in place by ``edit``."""
    n = struct.unpack("<Q", ckpt[:8])[0]
    header = json.loads(ckpt[8:8 + n])
    state = json.loads(header["__metadata__"]["state"])
    edit(state)
    header["__metadata__"]["state"] = json.dumps(state)
    return _pack(header, ckpt[8 + n:])


@FUZZ
@given(st.sampled_from(["epoch", "optimizer", "rng", "history", "settings", "history.loss",
                        "history.epochs", "optimizer.keys", "optimizer.t", "rng.state",
                        "history.run", "history.lengths", "history.stop_reason",
                        "history.diverged", "history.best_epoch", "history.converged",
                        "layer_rngs", "callbacks"]),
       JSONISH)
def test_structured_corruption_of_the_checkpoint_state(key, value):
    from mlplab import load_checkpoint

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.ckpt"
        _write_checkpoint(path, _with_state(CKPT, lambda state: _set(state, key, value)))
        try:
            load_checkpoint(path)
        except MlplabError as exc:
            assert "fuzz.ckpt" in str(exc)
        else:
            _resume(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=48), st.integers(0, len(CKPT_LOG)))
def test_random_splices_into_a_history_log(patch, at):
    """The log beside a checkpoint is as untrusted as the checkpoint: only mlplab errors."""
    from mlplab import load_checkpoint

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.ckpt"
        _write_checkpoint(path, CKPT, CKPT_LOG[:at] + patch + CKPT_LOG[at + len(patch):])
        try:
            ck = load_checkpoint(path)
        except ModelFileError as exc:
            assert "fuzz.ckpt" in str(exc)
        else:
            assert len(ck.history["loss"]) == ck.epoch
            _resume(path)


def _early_stopping_run(path: Path, resume: bool) -> None:
    X, Y = mlplab.datasets.xor()
    Network([2, 3, 1], seed=0).fit(X, Y, optimizer="adam", learning_rate=0.1, batch_size=2,
                                   max_epochs=5 if resume else 3, checkpoint=path,
                                   resume=resume,
                                   callbacks=[mlplab.EarlyStopping("loss", patience=50)])


with tempfile.TemporaryDirectory() as _d:
    _early_stopping_run(Path(_d) / "e.ckpt", resume=False)
    CKPT_ES, CKPT_ES_LOG = (Path(_d) / "e.ckpt").read_bytes(), Path(_d, "e.ckpt.history.jsonl").read_bytes()


@FUZZ
@given(st.sampled_from(["index", "class", "values", "arrays", "values.best", "values.wait",
                        "values.best_epoch", "values.best_params", "arrays.best_params"]),
       JSONISH)
def test_structured_corruption_of_a_callback_state(key, value):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.ckpt"
        _write_checkpoint(path, _with_state(CKPT_ES, lambda state: _set(state["callbacks"][0],
                                                                         key, value)), CKPT_ES_LOG)
        try:
            _early_stopping_run(path, resume=True)
        except MlplabError as exc:
            assert "fuzz.ckpt" in str(exc) or "callback" in str(exc)


@FUZZ
@given(CSV_TEXT)
def test_playground_csv_parser_gives_only_data_errors(text):
    from mlplab.playground.config import PlaygroundConfig
    from mlplab.playground.data import parse_csv

    try:
        data = parse_csv("x1,x2,label\n" + text, PlaygroundConfig())
    except MlplabError:
        pass
    else:
        assert data is not None


TABLE_TEXT = st.text(alphabet=st.sampled_from(list("0123456789.,-e naN?abc\"\n")), max_size=160)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TABLE_TEXT)
def test_any_csv_training_path_gives_only_mlplab_errors(text):
    """``mlplab train --csv``'s library path (type inference, imputation, one-hot, training)."""
    from mlplab.datasets.csv_model import train_csv

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.csv"
        path.write_text("x,c,y\n" + text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                run = train_csv(path, "y", hidden=(3,), max_epochs=2)
            except MlplabError:
                pass
            else:
                assert len(run.predictions) == run.n_test


FIELD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
                             [-0.0, 0.0, 1e-300, 1e308, -1e308, 5e-324]),
                         st.text(max_size=8), st.lists(st.integers(-3, 12), max_size=8))


@pytest.fixture(scope="module")
def playground_client():
    from fastapi.testclient import TestClient

    from mlplab.playground.server import create_app

    with TestClient(create_app(max_sessions=100), base_url="http://127.0.0.1:8000") as client:
        yield client


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["dataset", "n_points", "noise", "train_ratio", "batch_size", "features",
                        "hidden", "activations", "learning_rate", "reg_rate", "stop_epochs",
                        "seed", "regularization"]), FIELD_VALUES,
       st.lists(st.tuples(*[st.floats(-1e308, 1e308)] * 2, st.integers(0, 1)), min_size=4,
                max_size=6))
def test_fuzzed_api_requests_never_500_and_a_failed_update_changes_nothing(
        playground_client, field, value, rows):
    """Any value of any field, on create and on update, and any finite CSV values: a 2xx or a
    4xx naming the problem, never a 500; after a refusal the session is exactly as before."""
    import json as _json

    c = playground_client
    body = _json.dumps({"n_points": 40, "hidden": [2], "activations": ["tanh"], field: value})
    r = c.post("/api/sessions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400, 422), r.text
    if r.status_code == 200:
        c.post(f"/api/sessions/{r.json()['id']}/close")
    sid = c.post("/api/sessions", json={"n_points": 40, "hidden": [2],
                                        "activations": ["tanh"]}).json()["id"]
    before = c.post(f"/api/sessions/{sid}/view", json={"warp_layer": 1}).json()
    r = c.put(f"/api/sessions/{sid}/config", content=body,
              headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400, 422), r.text
    text = "".join(f"{a!r},{b!r},{y}\n" for a, b, y in rows)
    r2 = c.post(f"/api/sessions/{sid}/csv", content=text)
    assert r2.status_code in (200, 400), r2.text
    after = c.post(f"/api/sessions/{sid}/view", json={"warp_layer": 1}).json()
    if r.status_code != 200 and r2.status_code != 200:
        assert after.pop("seq") > before.pop("seq")  # frames are numbered as they are made
        assert after == before  # both refused: nothing changed
    assert c.post(f"/api/sessions/{sid}/step").status_code == 200
    c.post(f"/api/sessions/{sid}/close")
