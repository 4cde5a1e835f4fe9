"""Crash-safe checkpoints: SIGKILL mid-run, resume, and end bit-identical; saving never leaves
a broken file where a good one was."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import mlplab
from mlplab import Network, load, load_checkpoint
from mlplab.cli import app

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

# The run under test: Adam on minibatches, so the optimizer state (moments, t) and the shuffle
# generator both matter for the result.
RUN = textwrap.dedent("""
    import sys, time
    import numpy as np
    import mlplab

    def data():
        rng = np.random.default_rng(0)
        X = rng.normal(size=(96, 2))
        return X, (X[:, 0] * X[:, 1] > 0).astype(float)

    def train(checkpoint=None, resume=False, callbacks=()):
        X, Y = data()
        net = mlplab.Network([2, 8, 1], activation="tanh", seed=3)
        net.fit(X, Y, optimizer="adam", learning_rate=0.01, batch_size=16, max_epochs=300,
                epsilon=None, seed=7, checkpoint=checkpoint, checkpoint_every=2,
                resume=resume, callbacks=list(callbacks))
        return net

    class Slow(mlplab.Callback):  # gives the test time to kill mid-run; weights unaffected
        def on_epoch_end(self, trainer, epoch, logs):
            time.sleep(0.01)

    if __name__ == "__main__":
        train(sys.argv[1], callbacks=[Slow()])
""")


def _module(tmp_path):
    script = tmp_path / "run_ck.py"
    script.write_text(RUN)
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        import run_ck
        return importlib.reload(run_ck), script
    finally:
        sys.path.remove(str(tmp_path))


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_sigkill_mid_run_then_resume_gives_bit_identical_weights(tmp_path):
    run, script = _module(tmp_path)
    ck = tmp_path / "run.ckpt"
    proc = subprocess.Popen([sys.executable, str(script), str(ck)], cwd=ROOT, env=_env())
    try:
        deadline = time.monotonic() + 120
        epoch = 0
        while epoch < 20:
            assert proc.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
            if ck.exists():
                epoch = load_checkpoint(ck).epoch
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    state = load_checkpoint(ck)  # the file the kill left behind is a whole checkpoint
    assert 20 <= state.epoch < 300 and state.epoch % 2 == 0
    assert len(state.history["loss"]) == state.epoch

    resumed = run.train(ck, resume=True)
    straight = run.train()
    assert resumed.history.epochs == straight.history.epochs == 300
    for p, q in zip(resumed.params, straight.params):
        assert np.array_equal(p, q)  # bit-identical, not merely close
    assert resumed.history.loss == straight.history.loss


def test_resume_after_convergence_does_not_train_further(tmp_path):
    X, Y = mlplab.datasets.xor()
    ck = tmp_path / "xor.ckpt"
    a = Network([2, 2, 1], seed=1)
    ha = a.fit(X, Y, learning_rate=1.0, epsilon=1e-3, checkpoint=ck, checkpoint_every=500)
    b = Network([2, 2, 1], seed=1)
    hb = b.fit(X, Y, learning_rate=1.0, epsilon=1e-3, checkpoint=ck, resume=True)
    assert ha.converged and hb.converged and hb.epochs == ha.epochs
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params))


def test_cli_resume_matches_an_uninterrupted_run(tmp_path):
    runner = CliRunner()
    common = ["train", "xor", "--layers", "2,3,1", "--optimizer", "momentum", "--lr", "0.5",
              "--epsilon", "1e-9", "--no-progress", "--seed", "4"]
    r = runner.invoke(app, common + ["--max-epochs", "40", "--checkpoint", str(tmp_path / "c"),
                                     "--checkpoint-every", "7"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, common + ["--max-epochs", "90", "--checkpoint", str(tmp_path / "c"),
                                     "--resume", "--out", str(tmp_path / "resumed")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, common + ["--max-epochs", "90", "--out", str(tmp_path / "straight")])
    assert r.exit_code == 0, r.output
    a, b = load(tmp_path / "resumed/model.safetensors"), load(tmp_path / "straight/model.safetensors")
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params))


SAVER = textwrap.dedent("""
    import sys
    import mlplab
    net = mlplab.Network([1000, 2000, 2000, 10], seed=1)  # a 48 MB file: saving takes a while
    print("saving", flush=True)
    while True:
        for p in net.params:
            p += 1.0
        mlplab.save(net, sys.argv[1])
""")


@pytest.mark.parametrize("delay", [0.03, 0.1, 0.2, 0.35, 0.5])
def test_sigkill_while_saving_over_a_model_keeps_a_loadable_file(tmp_path, delay):
    path = tmp_path / "model.safetensors"
    old = Network([1000, 2000, 2000, 10], seed=1)
    mlplab.save(old, path)
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    proc = subprocess.Popen([sys.executable, str(script), str(path)], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "saving"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    net = load(path)  # the old file, or one complete newer version: never a torn one
    shift = net.params[-1][0] - old.params[-1][0]
    n_saves = round(shift)  # each save adds 1.0 to every weight
    assert n_saves >= 0 and abs(shift - n_saves) < 1e-9
    for p, q in zip(net.params, old.params):
        assert np.allclose(p - q, n_saves)


def _resumed_equals_straight(run, path, cut: int, total: int, every: int):
    """``run(epochs, **fit_kw)`` stopped after ``cut`` epochs with checkpoints, then resumed to
    ``total``, ends with the weights of one uninterrupted run of ``total`` epochs."""
    run(cut, checkpoint=path, checkpoint_every=every)
    resumed = run(total, checkpoint=path, resume=True)
    straight = run(total)
    assert all(np.array_equal(p, q) for p, q in zip(resumed.params, straight.params))
    return resumed, straight


def test_resume_with_dropout_restores_the_mask_generator(tmp_path):
    from mlplab.layers.dropout import with_dropout

    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    Y = (X[:, 0] > X[:, 1]).astype(float)

    def run(max_epochs, **kw):
        net = with_dropout(Network([2, 8, 1], activation="relu", seed=2), p=0.3, seed=9)
        net.fit(X, Y, optimizer="momentum", learning_rate=0.1, batch_size=8, seed=4,
                max_epochs=max_epochs, epsilon=None, **kw)
        return net

    _resumed_equals_straight(run, tmp_path / "d.ckpt", cut=12, total=25, every=4)


def test_batchnorm_and_residual_networks_resume_bit_for_bit(tmp_path):
    from mlplab.layers import BatchNorm, Dense, Input, Residual

    rng = np.random.default_rng(5)
    X = rng.normal(size=(48, 3))
    y = rng.integers(0, 3, 48)

    def run(max_epochs, **kw):
        r = np.random.default_rng(6)
        net = Network.from_layers(
            [Input(3), Dense(3, 5, "identity", rng=r), BatchNorm(5, "tanh"),
             Residual([Dense(5, 5, "identity", rng=r), BatchNorm(5, "relu")]),
             Dense(5, 3, "softmax", rng=r)], loss="cross_entropy", seed=7)
        net.fit(X, y, optimizer="adam", learning_rate=0.01, batch_size=12, seed=8,
                max_epochs=max_epochs, epsilon=None, **kw)
        return net

    resumed, straight = _resumed_equals_straight(run, tmp_path / "bn.ckpt", cut=5, total=11,
                                                 every=2)
    for a, b in ((resumed.layers[2], straight.layers[2]),
                 (resumed.layers[3].layers[1], straight.layers[3].layers[1])):
        assert np.array_equal(a.running_mean, b.running_mean)
        assert np.array_equal(a.running_var, b.running_var)
    with pytest.raises(mlplab.ConfigError, match=r"is of network \[3: dense 5, batchnorm 5"):
        Network([3, 5, 3], loss="cross_entropy").fit(
            X, y, checkpoint=tmp_path / "bn.ckpt", resume=True)


def test_a_network_with_a_custom_layer_is_refused_a_checkpoint(tmp_path):
    from mlplab import ConfigError
    from mlplab.layers import Dense, Input, Layer

    class Twice(Layer):
        n_in = n_out = 3

        def forward(self, A_prev, training=False):
            return 2 * A_prev

    rng = np.random.default_rng(0)
    net = Network.from_layers([Input(2), Dense(2, 3, "identity", rng=rng), Twice(),
                               Dense(3, 1, "sigmoid", rng=rng)], loss="mse", seed=0)
    with pytest.raises(ConfigError, match=r"not .*Twice.*checkpoint"):
        net.fit(np.zeros((4, 2)), np.zeros(4), checkpoint=tmp_path / "ck.safetensors")
    assert not (tmp_path / "ck.safetensors").exists()


def test_early_stopping_resumes_with_its_counter_and_best_weights(tmp_path):
    from mlplab import EarlyStopping

    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2))
    Y = (X[:, 0] + 0.8 * rng.normal(size=40) > 0).astype(float)  # noisy: validation turns
    val = (rng.normal(size=(30, 2)), rng.integers(0, 2, 30).astype(float))

    def run(max_epochs, **kw):
        net = Network([2, 16, 1], activation="tanh", loss="cross_entropy", seed=1)
        stop = EarlyStopping(patience=6)
        h = net.fit(X, Y, optimizer="adam", learning_rate=0.05, batch_size=8, seed=2,
                    max_epochs=max_epochs, epsilon=None, validation_data=val,
                    callbacks=[stop], **kw)
        return net, h, stop

    straight, h, stop = run(200)
    assert h.stop_reason.startswith("early stopping") and 3 < stop.best_epoch < h.epochs - 3
    cut = stop.best_epoch + 2  # after the best epoch, before the patience runs out
    run(cut, checkpoint=tmp_path / "es.ckpt", checkpoint_every=1)
    state = load_checkpoint(tmp_path / "es.ckpt").callbacks
    assert state[0][:2] == (0, "EarlyStopping") and state[0][2]["wait"] == 2
    resumed, h2, stop2 = run(200, checkpoint=tmp_path / "es.ckpt", resume=True)
    assert (h2.epochs, h2.best_epoch, h2.stop_reason) == (h.epochs, h.best_epoch, h.stop_reason)
    assert all(np.array_equal(p, q) for p, q in zip(resumed.params, straight.params))
    with pytest.raises(mlplab.ConfigError, match="callback EarlyStopping at position 0"):
        Network([2, 16, 1], activation="tanh", loss="cross_entropy", seed=1).fit(
            X, Y, optimizer="adam", learning_rate=0.05, batch_size=8, seed=2, max_epochs=200,
            epsilon=None, validation_data=val, checkpoint=tmp_path / "es.ckpt", resume=True)


def test_a_callback_state_that_is_not_json_is_refused_with_a_reason(tmp_path):
    class Odd(mlplab.Callback):
        def state_dict(self):
            return {"when": object()}

    with pytest.raises(mlplab.ConfigError, match="state is not JSON.*state_dict"):
        Network([2, 3, 1], seed=0).fit(np.zeros((4, 2)), np.zeros(4), max_epochs=2,
                                       checkpoint=tmp_path / "o.ckpt", callbacks=[Odd()])
    assert not (tmp_path / "o.ckpt").exists()


# ------------------------------------------------------------------ the history log (issue 24)
def _xor_run(max_epochs, **kw):
    X, Y = mlplab.datasets.xor()
    net = Network([2, 3, 1], activation="tanh", seed=3)
    net.fit(X, Y, optimizer="momentum", learning_rate=0.3, batch_size=2, seed=5,
            max_epochs=max_epochs, epsilon=None, **kw)
    return net


def test_a_save_costs_the_same_at_epoch_10_and_at_epoch_100000(tmp_path):
    """What a save writes does not grow with the history: the lists are appended to the log,
    the checkpoint keeps only what the log has not synced (the old format rewrote all)."""
    from mlplab.io.checkpoint import save_checkpoint
    from mlplab.io.history_log import HistoryLog
    from mlplab.optimizers import get_optimizer
    from mlplab.training import History

    net, rng = Network([2, 3, 1], seed=0), np.random.default_rng(0)
    written = {}
    for epochs in (10, 100_000):
        history = History(loss=list(np.linspace(1, 0, epochs)), epochs=epochs,
                          max_change=list(np.linspace(1, 0, epochs)))
        path = tmp_path / f"{epochs}.ckpt"
        log = HistoryLog(path)
        save_checkpoint(path, net, get_optimizer("adam", 0.1), rng, epochs, history, {},
                        log=log)  # the run's first save: the log gets everything, once
        size = Path(f"{path}.history.jsonl").stat().st_size
        history.loss.append(0.5)
        history.max_change.append(0.5)
        history.epochs += 1
        save_checkpoint(path, net, get_optimizer("adam", 0.1), rng, epochs + 1, history, {},
                        log=log)
        written[epochs] = (path.stat().st_size,
                           Path(f"{path}.history.jsonl").stat().st_size - size)
        assert len(load_checkpoint(path).history["loss"]) == epochs + 1
    small, large = written[10], written[100_000]
    assert abs(large[0] - small[0]) < 64 and abs(large[1] - small[1]) < 64, written


def test_the_history_log_survives_kills_power_loss_and_other_runs(tmp_path, monkeypatch):
    from mlplab.io import history_log
    from mlplab.io.history_log import HistoryLog

    ck, log = tmp_path / "x.ckpt", tmp_path / "x.ckpt.history.jsonl"
    straight = _xor_run(60)
    monkeypatch.setattr(history_log, "SYNC_S", 1e9)  # never synced after the first save
    _xor_run(30, checkpoint=ck, checkpoint_every=1)
    state = load_checkpoint(ck)
    assert len(state.history["loss"]) == 30
    # power loss: the unsynced appends vanish; the checkpoint's tail has them
    first_line = log.read_bytes().split(b"\n")[0] + b"\n"
    log.write_bytes(first_line)
    # a fresh run at the same path killed before its first checkpoint: only its log lines
    other = HistoryLog(ck)
    other.append(mlplab.training.History(loss=[9.0, 9.0], max_change=[9.0, 9.0], epochs=2))
    with open(log, "ab") as f:
        f.write(b'{"run": "torn by a kill mid-app')  # no newline: ignored
    resumed = _xor_run(60, checkpoint=ck, resume=True)
    assert resumed.history.loss == straight.history.loss
    assert all(np.array_equal(p, q) for p, q in zip(resumed.params, straight.params))
    import json  # the resumed run's first save compacted the log: its own lines only

    assert {json.loads(line)["run"] for line in open(log)} == {state.log["run"]}


@pytest.mark.parametrize("damage,message", [
    (lambda log: log.unlink(), "history log .* does not exist"),
    (lambda log: log.write_bytes(b""), "holds 0 values of loss"),
    (lambda log: log.write_bytes(b"{oops\n"), "invalid history line"),
    (lambda log: log.write_bytes(b"[" * 200 + b"]" * 200 + b"\n"), "nested"),
    (lambda log: (log.unlink(), os.mkfifo(log)), "is a FIFO"),
])
def test_a_damaged_history_log_is_a_clear_error(tmp_path, damage, message):
    ck = tmp_path / "x.ckpt"
    _xor_run(5, checkpoint=ck)
    damage(tmp_path / "x.ckpt.history.jsonl")
    with pytest.raises(mlplab.MlplabError, match=message):
        _xor_run(10, checkpoint=ck, resume=True)


def test_version_1_checkpoints_with_the_history_inside_still_resume(tmp_path):
    import json
    import struct

    ck = tmp_path / "v1.ckpt"
    _xor_run(8, checkpoint=ck, checkpoint_every=4)
    full = load_checkpoint(ck).history
    raw = ck.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    state = json.loads(header["__metadata__"]["state"])
    for key in ("run", "synced", "tail"):
        state["history"].pop(key)
    state["history"].update({k: full[k] for k in ("loss", "val_loss", "val_accuracy",
                                                  "max_change")})
    header["__metadata__"].update(format_version="1", state=json.dumps(state))
    hb = json.dumps(header).encode()
    ck.write_bytes(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
    (tmp_path / "v1.ckpt.history.jsonl").unlink()
    resumed, straight = _xor_run(15, checkpoint=ck, resume=True), _xor_run(15)
    assert resumed.history.loss == straight.history.loss


def test_orphaned_temporary_files_of_killed_runs_are_cleaned_on_the_next_run(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a finished process
    ck = tmp_path / "run.ckpt"
    orphans = [tmp_path / f".run.ckpt.{gone}-0123abcd.tmp",
               tmp_path / f".run.ckpt.history.jsonl.{gone}-89abcdef.tmp"]
    alive = tmp_path / f".run.ckpt.{os.getppid()}-00ff00ff.tmp"  # a writer still running
    for path in orphans + [alive]:
        path.write_bytes(b"half a checkpoint")
    _xor_run(3, checkpoint=ck)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, "run.ckpt", "run.ckpt.history.jsonl"])


def test_sigkill_while_checkpointing_leaves_nothing_behind_after_the_next_run(tmp_path):
    run, script = _module(tmp_path)
    ck = tmp_path / "k.ckpt"
    for delay in (0.4, 0.7, 1.0):
        proc = subprocess.Popen([sys.executable, str(script), str(ck)], cwd=ROOT, env=_env())
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run.train(ck, resume=ck.exists())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".", "k."))) == [
        "k.ckpt", "k.ckpt.history.jsonl"]  # no .tmp left by the kills
