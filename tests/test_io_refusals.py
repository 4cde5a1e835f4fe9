"""What save refuses (a file load would refuse never replaces a good one), and what a crafted
file's text may not do to the terminal or to predict's score."""

import json
import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from mlplab import ModelFileError, Network, load, save
from mlplab.cli import app
from mlplab.optimizers import get_optimizer

from test_io import TABULAR, _extra_file, _tabular


def _nan_net():
    net = Network([2, 3, 1], seed=0)
    net.layers[1].W[0, 0] = np.nan
    return net, None


def _inf_bias():
    net = Network([2, 3, 1], seed=0)
    net.layers[2].b[0] = np.inf
    return net, None


def _long_stop_reason():
    net = Network([2, 3, 1], seed=0)
    net.fit(np.eye(2), np.array([[0.0], [1.0]]), max_epochs=1)
    net.history.stop_reason = "x" * 20_000  # a callback's own reason, beyond load's limit
    return net, None


@pytest.mark.parametrize("make,message", [
    (_nan_net, r"layers\.1\.W contains NaN or inf .*smaller learning rate"),
    (_inf_bias, r"layers\.2\.b contains NaN or inf"),
    (lambda: (Network([2, 3, 1], seed=0), {"n": 10 ** 60}), "integer of 61 digits"),
    (lambda: (Network([2, 3, 1], seed=0), {"data": "\ud800"}), "lone UTF-16 surrogate"),
    (lambda: (Network([1, 1_000_001]), None), "impossible layer sizes"),
    (_long_stop_reason, r"history\.stop_reason must be a string of at most"),
])
def test_save_refuses_what_load_would_refuse_and_keeps_the_old_file(tmp_path, make, message):
    path = save(Network([2, 3, 1], seed=1), tmp_path / "m.safetensors")
    before = path.read_bytes()
    net, extra = make()
    with pytest.raises(ModelFileError, match=message) as info:
        save(net, path, extra=extra)
    assert "nothing was written" in str(info.value)
    assert path.read_bytes() == before and load(path).n_inputs == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temporary left


def test_a_checkpoint_with_nan_weights_is_not_written_over_the_last_good_one(tmp_path):
    from mlplab.io.checkpoint import save_checkpoint

    net = Network([2, 3, 1], seed=0)
    X, Y = np.eye(2), np.array([[0.0], [1.0]])
    ckpt = tmp_path / "c.ckpt"
    net.fit(X, Y, max_epochs=2, epsilon=None, checkpoint=ckpt, checkpoint_every=1)
    before = ckpt.read_bytes()
    opt = get_optimizer("sgd", 0.1)
    net.layers[1].W[...] = np.nan
    with pytest.raises(ModelFileError, match="cannot write checkpoint .*NaN or inf"):
        save_checkpoint(ckpt, net, opt, np.random.default_rng(0), 3, net.history, {})
    assert ckpt.read_bytes() == before


def test_a_fit_whose_optimizer_state_overflows_skips_its_checkpoints_and_goes_on(tmp_path):
    from mlplab.io.checkpoint import log_path

    X = np.random.default_rng(0).normal(size=(64, 3)) * 1e100  # Adam's v = g² overflows, W not
    Y = (X[:, :1] > 0).astype(float)
    net = Network([3, 8, 1], activation="relu", seed=0)
    ckpt = tmp_path / "c.ckpt"
    with pytest.warns(RuntimeWarning, match=r"optimizer\.0\.v contains NaN or inf") as seen:
        history = net.fit(X, Y, optimizer="adam", learning_rate=1.0, max_epochs=3,
                          epsilon=None, checkpoint=ckpt)
    assert history.epochs == 3 and np.isfinite(net.layers[1].W).all()
    assert sum("cannot write checkpoint" in str(w.message) for w in seen) == 1  # warned once
    assert not ckpt.exists()
    log = log_path(ckpt)
    assert not log.exists() or log.read_text() == ""  # nothing appended for a refused save


def test_a_negative_running_variance_is_refused_at_save(tmp_path):
    from mlplab.layers import BatchNorm, Dense, Input

    net = Network.from_layers([Input(2), Dense(2, 3, "relu"), BatchNorm(3),
                               Dense(3, 1, "sigmoid")], loss="mse", seed=0)
    net.layers[2].running_var[0] = -1.0
    with pytest.raises(ModelFileError, match="running_var holds a negative variance"):
        save(net, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def _header_of(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def _rewrite(tmp_path, header, body):
    hb = json.dumps(header).encode()
    out = tmp_path / "crafted.safetensors"
    out.write_bytes(struct.pack("<Q", len(hb)) + hb + body)
    return out


def test_a_lone_surrogate_or_a_numeric_version_is_refused_at_load(tmp_path):
    bad = _extra_file(tmp_path, {"training": {"data": "\ud800"}})
    with pytest.raises(ModelFileError, match="lone UTF-16 surrogate"):
        load(bad)
    r = CliRunner().invoke(app, ["show", str(bad)])
    assert r.exit_code == 2 and r.output.startswith("error: ") and "Traceback" not in r.output
    header, body = _header_of(save(Network([2, 3, 1], seed=0), tmp_path / "v.safetensors"))
    header["__metadata__"]["format_version"] = 1
    with pytest.raises(ModelFileError, match="metadata values must be strings"):
        load(_rewrite(tmp_path, header, body))


def test_a_malformed_list_of_dropped_columns_is_refused_at_load(tmp_path):
    for dropped in ([1], "abc", [{"distinct": 3}]):
        record = _tabular()
        record["tabular"]["encoder"]["dropped"] = dropped
        with pytest.raises(ModelFileError, match=r"encoder\.dropped"):
            load(_extra_file(tmp_path, record))


def test_show_writes_a_files_control_characters_as_escapes(tmp_path):
    net = Network([2, 3, 1], seed=0)
    net.fit(np.eye(2), np.array([[0.0], [1.0]]), max_epochs=1)
    net.history.stop_reason = "a\nb\x1b[31mRED"
    path = save(net, tmp_path / "m.safetensors",
                extra={"training": {"data": "x\x07y", "by": "名\u3000字"}})
    r = CliRunner().invoke(app, ["show", str(path)])
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output
    assert "a\\nb\\x1b[31mRED" in r.output and "x\\x07y" in r.output
    assert "名\u3000字" in r.output  # an ideographic space is text, shown as it is
    r = CliRunner().invoke(app, ["show", str(tmp_path / "no\x1b[2Jsuch.safetensors")])
    assert r.exit_code == 2 and "\x1b" not in r.output  # errors print escapes as text too
    assert "no\\x1b[2Jsuch.safetensors" in r.output, r.output


def _regression_file(tmp_path, **column):
    record = _tabular(**{"target": {"name": "y", "task": "regression", "mean": 0.0,
                                    "std": 1.0}})
    record["tabular"]["encoder"]["columns"][0].update(column)
    return _extra_file(tmp_path, record)


def test_predict_scores_a_regression_only_against_numbers(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n0.1,0.2,high\n0.3,0.1,low\n")
    r = CliRunner().invoke(app, ["predict", str(_regression_file(tmp_path)), str(data)])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "Traceback" not in r.output
    assert "column 'y' holds values that are not finite numbers" in r.output
    data.write_text("a,b,y\n0.1,0.2,1.5\n0.3,0.1,-2\n")
    r = CliRunner().invoke(app, ["predict", str(_regression_file(tmp_path)), str(data)])
    assert r.exit_code == 0 and "R²" in r.output, r.output


def test_an_encoding_that_overflows_the_data_is_one_line_naming_it(tmp_path):
    bad = _regression_file(tmp_path, mean=1e308, std=1e-308)
    data = tmp_path / "d.csv"
    data.write_text("a,b\n0.1,0.2\n-5,0.1\n")
    r = CliRunner().invoke(app, ["predict", str(bad), str(data)])
    assert r.exit_code == 2 and r.output.count("\n") == 1, r.output
    assert "column 'a' cannot be standardized with the stored mean 1e+308" in r.output
    assert TABULAR["encoder"]["columns"][0]["mean"] == 0.0  # the shared record untouched


def test_a_poisson_regressors_network_is_refused_and_the_old_file_kept(tmp_path):
    """Its loss and exp output are scikit-learn's: load refused the file save had written
    over a good one."""
    import warnings

    from mlplab import MLPRegressor

    good = tmp_path / "m.safetensors"
    save(Network([3, 2, 1], seed=0), good)
    before = good.read_bytes()
    X = np.random.default_rng(0).random((30, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", max_iter=5).fit(X, X[:, 0])
    with pytest.raises(ModelFileError, match=r"loss 'sklearn_poisson' is a scikit-learn "
                                             r"estimator's own.*joblib.dump\(est, path\)"):
        save(est.net_, good)
    assert good.read_bytes() == before
    load(good)
