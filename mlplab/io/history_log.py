"""The per-epoch history of a checkpointed run, in an append-only file beside the checkpoint.

A checkpoint rewritten every epoch must not carry the whole history: that made
``--checkpoint-every 1`` quadratic (8,000 epochs: 87.5 s, against 2 s without checkpoints).
The lists of :class:`~mlplab.train.loop.History` (``loss``, ``max_change``, ``val_loss``,
``val_accuracy``) go instead to ``{checkpoint}.history.jsonl``, one JSON line per save
holding only the values added since the previous save. A save therefore costs the same at
epoch 10 and at epoch 10,000.

Each line is ``{"run": id, "start": {list: index}, "values": {list: [numbers]}}``. Reading
replays the lines of the checkpoint's run in order, each putting its values at ``start``
(so values a killed run appended after its last checkpoint are overwritten when the resumed
run gets there). Lines of other runs (an older run at the same path) are skipped; a torn
last line (a kill mid-append) is ignored. The first save of every run rewrites the log
atomically with that run's values only (:meth:`HistoryLog.compact`).

Durability without an fsync per save: the log is fsynced at most once a second (or every
``LINE_VALUES`` values), and each checkpoint carries the *tail*, the values appended since
the log's last fsync (``synced`` counts the values before it). A power loss can cost the
log its unsynced tail, never the checkpoint that counts it: reading takes the log's first
``synced`` values and then the checkpoint's tail. A killed process loses nothing written.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from ..errors import ModelFileError
from .files import _CLOEXEC, MAX_FILE_BYTES, atomic_write, check_target, open_regular
from .records import HISTORY_LISTS, Check, parse_json

SUFFIX = ".history.jsonl"
LINE_VALUES = 4096  # values of one list per line: a line stays under ~100 KB
SYNC_S = 1.0  # the log is fsynced at most this often; checkpoints carry what came after
MAX_LINE_BYTES = 2**20


def log_path(checkpoint) -> Path:
    """Where the history of the checkpoint at ``checkpoint`` is logged."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name + SUFFIX)


class HistoryLog:
    """The history log of one run: what it appended and synced so far, and how to append.

    Parameters
    ----------
    checkpoint : path
        The checkpoint this log sits beside.
    run : str, optional
        The run's id (a new one by default); a resumed run keeps the checkpoint's.
    synced : dict, optional
        How many values of each list the log durably holds for this run (a resumed run:
        the checkpoint's ``synced``; appending starts there, so the checkpoint's tail is
        written again).
    """

    def __init__(self, checkpoint, run: str | None = None, synced: dict | None = None):
        self.path = log_path(checkpoint)
        self.run = run or secrets.token_hex(8)
        self.synced = dict(synced or {name: 0 for name in HISTORY_LISTS})
        self.logged = dict(self.synced)
        self.synced_at = time.monotonic()
        self.compacted = False

    def __repr__(self) -> str:
        return f"HistoryLog({str(self.path)!r}, run={self.run!r}, logged={self.logged})"

    def _lines(self, history, since: dict) -> bytes:
        lists = {name: getattr(history, name) for name in HISTORY_LISTS}
        lines = []
        while any(len(lists[n]) > since[n] for n in HISTORY_LISTS) or not lines:
            chunk = {n: lists[n][since[n]:since[n] + LINE_VALUES] for n in HISTORY_LISTS}
            lines.append(_dumps({"run": self.run, "start": dict(since), "values": chunk}))
            since = {n: since[n] + len(chunk[n]) for n in HISTORY_LISTS}
        return b"".join(lines)

    def append(self, history) -> dict:
        """Append the values ``history`` gained since the last call; fsync the log when a
        second has passed or the unsynced tail reached ``LINE_VALUES`` values.

        Returns the record the checkpoint keeps: ``{"run", "synced", "tail"}``.
        """
        lengths = {name: len(getattr(history, name)) for name in HISTORY_LISTS}
        data = self._lines(history, self.logged)
        sync = (time.monotonic() - self.synced_at >= SYNC_S
                or any(lengths[n] - self.synced[n] >= LINE_VALUES for n in HISTORY_LISTS))
        target = check_target(self.path, "history log")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _CLOEXEC, 0o666)
            try:
                if os.fstat(fd).st_size + len(data) > MAX_FILE_BYTES:
                    raise ModelFileError(f"history log {target} would exceed {MAX_FILE_BYTES} "
                                         "bytes; checkpoint less often")
                os.write(fd, data)
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"cannot append to history log {target}: "
                                 f"{exc.strerror or exc}; check free space") from None
        self.logged = lengths
        if sync:
            self.synced, self.synced_at = dict(lengths), time.monotonic()
        return self.record(history)

    def record(self, history) -> dict:
        """What the checkpoint keeps: the run, the synced counts, and the tail after them."""
        return {"run": self.run, "synced": dict(self.synced),
                "tail": {n: getattr(history, n)[self.synced[n]:] for n in HISTORY_LISTS}}

    def compact(self, history) -> None:
        """Rewrite the log (atomically, so durably) with this run's values only; once."""
        atomic_write(self.path, self._lines(history, {name: 0 for name in HISTORY_LISTS}),
                     "history log")
        self.compacted = True
        self.synced = {name: len(getattr(history, name)) for name in HISTORY_LISTS}
        self.logged, self.synced_at = dict(self.synced), time.monotonic()


def _dumps(record: dict) -> bytes:
    # repr-exact floats: a resumed run's history equals an uninterrupted one's, bit for bit
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def read_history(checkpoint, record: dict, shown=None) -> dict:
    """The history lists of the checkpoint's ``record`` (``{"run", "synced", "tail"}``): the
    first ``synced`` values of its run from the log beside ``checkpoint``, then the tail.
    A missing, short or corrupt log is a :class:`ModelFileError`."""
    c = Check(shown or checkpoint, "history record")
    run = c.text(record.get("run"), "history.run")
    synced, tail = c.dict(record.get("synced"), "history.synced"), c.dict(record.get("tail"),
                                                                           "history.tail")
    for name in HISTORY_LISTS:
        c.integer(synced.get(name), f"history.synced.{name}")
        if not isinstance(tail.get(name), list):
            c.fail(f"history.tail.{name} must be a list")
    path = log_path(checkpoint)
    lists: dict[str, list] = {name: [] for name in HISTORY_LISTS}
    with open_regular(path, "history log") as (f, _):
        while True:
            line = f.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            if len(line) > MAX_LINE_BYTES:
                raise ModelFileError(f"history log {path} has a line over {MAX_LINE_BYTES} bytes")
            if not line.endswith(b"\n"):
                break  # torn by a kill mid-append: its checkpoint never counted it
            _replay(parse_json(line, path, "history line"), run, lists, path)
    short = [n for n in HISTORY_LISTS if len(lists[n]) < synced[n]]
    if short:
        raise ModelFileError(f"history log {path} holds {len(lists[short[0]])} values of "
                             f"{short[0]}, its checkpoint counts {synced[short[0]]}: the log "
                             "was truncated or replaced; resume is impossible without it")
    return {name: lists[name][:synced[name]] + tail[name] for name in HISTORY_LISTS}


def _replay(record, run: str, lists: dict, path) -> None:
    c = Check(path, "history line")
    c.dict(record, "line")
    if record.get("run") != run:
        return
    start, values = c.dict(record.get("start"), "start"), c.dict(record.get("values"), "values")
    for name in HISTORY_LISTS:
        at = c.integer(start.get(name), f"start.{name}", 0, len(lists[name]))
        new = values.get(name)
        if not isinstance(new, list) or not all(type(v) in (int, float) for v in new):
            c.fail(f"values.{name} must be a list of numbers")
        lists[name][at:] = new
