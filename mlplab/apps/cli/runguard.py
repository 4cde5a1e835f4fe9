"""Two things that keep an ``mlplab train`` run's work: Ctrl-C, and ``--resume`` on other data.

- **Ctrl-C** during training stops it at the end of the epoch under way: the run then reports
  and saves (``--out``, ``--checkpoint``) as usual, its stop reason saying so. A second Ctrl-C
  quits at once, saving nothing new (a checkpoint already written stays). A checkpoint of an
  interrupted run resumes (``--resume``) where it stopped.
- **--resume** continues a checkpoint's weights on the data the command line rebuilds: for a
  CSV file the split and the encoding come from the file, ``--seed`` and ``--test-size``. With
  another seed, or a changed file, the held-out rows would not be the ones held out before
  (the report would score rows the network trained on): refused, naming what differs.

Both ride on one callback, :class:`RunRecord`, first in the fit's callbacks: its state (the
data's fingerprint, and whether the run was interrupted) is kept in the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
from contextlib import contextmanager

from ...errors import ConfigError, MlplabError
from ...train.callbacks import Callback

INTERRUPTED = "interrupted (Ctrl-C)"


def data_record(prepared, o: dict, data) -> dict:
    """What identifies the data a run trains on: for a CSV file the target, the hold-out
    (``--seed``, ``--test-size``) and a fingerprint of the fitted encoding (it changes with the
    rows held out and with the file's contents); else the data's name."""
    if prepared is None or not hasattr(prepared, "encoder"):
        return {"data": str(getattr(prepared, "path", None) or data or "xor")}
    encoding = json.dumps([prepared.encoder.to_dict(), prepared.target.to_dict(),
                           len(prepared.X_train), len(prepared.X_test)], sort_keys=True,
                          default=str)
    return {"data": prepared.path.name, "target": prepared.target.name,
            "seed": o["seed"], "test_size": o["test_size"],
            "encoding": hashlib.sha256(encoding.encode()).hexdigest()[:16]}


class RunRecord(Callback):
    """Stops at the end of an epoch after Ctrl-C; keeps the data's record in checkpoints."""

    def __init__(self, record: dict):
        self.record, self.requested = record, False

    def on_epoch_end(self, trainer, epoch, logs):
        if self.requested and not trainer.stop_reason:
            trainer.stop(f"{INTERRUPTED} after epoch {epoch}")

    def state_dict(self) -> dict:
        return {"data": json.dumps(self.record), "interrupted": self.requested}

    def load_state_dict(self, trainer, state: dict) -> None:
        # an interrupted run goes on when resumed (a converged or early-stopped one does not)
        if state.get("interrupted") and trainer.history.stop_reason.startswith(INTERRUPTED):
            trainer.history.stop_reason = ""


def check_resume(checkpoint, record: dict) -> None:
    """Refuse to resume ``checkpoint`` on data other than that it was written on."""
    from ...io.checkpoint import load_checkpoint

    try:
        saved = load_checkpoint(checkpoint).callbacks
    except MlplabError:
        return  # no checkpoint, or a bad one: fit says which, in its words
    states = [state for _, name, state in saved if name == RunRecord.__name__]
    try:
        before = json.loads(states[0]["data"]) if states else None
    except (TypeError, ValueError, KeyError):
        before = None
    if not isinstance(before, dict):
        return  # written by an earlier mlplab, or from Python: nothing to compare
    _compare(checkpoint, before, record)


def _compare(checkpoint, before: dict, now: dict) -> None:
    fresh = "or train afresh without --resume"
    if "encoding" not in before or "encoding" not in now:
        if before.get("data") != now.get("data"):
            raise ConfigError(f"checkpoint {checkpoint} was written training on "
                              f"{before.get('data')}, not {now.get('data')}; resume with the "
                              f"same data, {fresh}")
        return
    for key, option in (("target", "--target"), ("seed", "--seed"), ("test_size", "--test-size")):
        if before.get(key) != now.get(key):
            raise ConfigError(f"checkpoint {checkpoint} was written with {option} "
                              f"{before.get(key)}, this run has {now.get(key)}: the held-out "
                              "rows would differ from those held out before; resume with "
                              f"{option} {before.get(key)}, {fresh}")
    if before["encoding"] != now["encoding"]:
        raise ConfigError(f"checkpoint {checkpoint} was written on other contents of "
                          f"{now['data']} (its rows or values changed since): resume with the "
                          f"file as it was, {fresh}")


@contextmanager
def stop_on_ctrl_c(record: RunRecord, console):
    """While training: the first Ctrl-C asks ``record`` to stop at the epoch's end, a second
    one interrupts at once (KeyboardInterrupt)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield  # Ctrl-C ignored (a background job) or handled by someone else: leave it be
        return

    def on_ctrl_c(signum, frame):
        if record.requested:
            raise KeyboardInterrupt
        record.requested = True
        console.print(f"warning: {INTERRUPTED}: training stops at the end of this epoch, then "
                      "reports and saves as usual; press Ctrl-C again to quit at once",
                      markup=False, highlight=False)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
