"""Crash-safe training checkpoints: stop anywhere, resume bit for bit.

A checkpoint is one safetensors file, written atomically (:func:`mlplab.io.files.atomic_write`:
temp file in the same folder, fsync, rename), so a crash leaves either the previous
checkpoint or the new one, never half of one. It holds

- the weights ``layers.{l}.W``, ``layers.{l}.b``, or a layer stack's tensors with the
  batch-norm running statistics (as in a model file, :mod:`mlplab.io.model`),
- the optimizer's state arrays ``optimizer.{i}.{name}`` (velocity, Adam's moments) and step t,
- the states of the shuffle generator and of the network's own generators (dropout masks):
  ``bit_generator.state`` as JSON (nothing is pickled),
- the epoch just finished, the :class:`~mlplab.train.loop.History` summary, and the settings
  of the run (optimizer, learning rate, batch size, …) so that a resume with different
  settings is refused rather than silently producing a different model.

The per-epoch history lists (format version 2) are not in the file: they are appended to
``{checkpoint}.history.jsonl`` beside it (:mod:`mlplab.io.history_log`), and the file
records the run's id, how many values the log holds durably, and the few values after those
(the tail). So a save costs the same at any epoch, and the two files travel together (copy
or move both). Version 1 files, with the lists inside, are still read.

Resuming restores all of it and continues with the next epoch; because every random choice
comes from the restored generator, the resumed run ends with bit-identical weights to an
uninterrupted one. Callbacks that define ``state_dict`` (EarlyStopping: its patience counter
and best weights) are saved too, by position, and restored into the same callbacks of the
resumed run (``callbacks.{i}.{name}.{j}`` tensors, the rest JSON).

Reading is as careful as for a model file: header first, every field of the training state
checked (:func:`check_state`) before anything uses it, tensors read only after the tensor
table matches the network and its optimizer.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from ..core.xp import place, to_numpy
from ..errors import ConfigError, ModelFileError
from .container import (NonFiniteState, check_metadata, check_table, load_tensors,
                        read_container, refuse_unloadable, tensor_problem)
from .files import as_path, atomic_write, check_target, remove_orphans
from .history_log import HistoryLog, log_path, read_history
from .model import build_network, describe, fill_weights, network_config, state_arrays
from .records import HISTORY_LISTS, Check, check_history, parse_json

FORMAT = "mlplab-checkpoint"
FORMAT_VERSION = 2  # 2: the history lists live in the log beside the file
READS = (1, 2)
GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
MAX_CALLBACK_COPIES = 8  # callback tensors may hold this many copies of the parameters


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: a network with the saved weights, and the rest."""

    net: object
    epoch: int
    optimizer_state: dict
    rng_state: dict
    layer_rngs: dict
    history: dict
    settings: dict
    callbacks: list = field(default_factory=list)  # [(position, class name, state)]
    log: dict | None = None  # the history log's {"run", "synced"} (None: a version 1 file)


def _layer_rngs(net) -> dict:
    """The generators inside the network (dropout masks, the network's own), by owner."""
    owners = {"net": net, **{str(l): layer for l, layer in enumerate(net.layers)}}
    return {key: obj.rng for key, obj in owners.items()
            if isinstance(getattr(obj, "rng", None), np.random.Generator)}


def _callback_records(callbacks, tensors: dict) -> list[dict]:
    """The saved state of every callback that has one; its arrays go into ``tensors``."""
    records = []
    for i, cb in enumerate(callbacks):
        state = cb.state_dict()
        if state is None:
            continue
        values, arrays = {}, {}
        for k, v in state.items():
            if isinstance(v, list) and all(isinstance(a, np.ndarray) for a in v) and v:
                arrays[k] = len(v)
                for j, a in enumerate(v):
                    tensors[f"callbacks.{i}.{k}.{j}"] = np.ascontiguousarray(a)
            else:
                values[k] = float(v) if isinstance(v, np.floating) else v
        records.append({"index": i, "class": type(cb).__name__, "values": values,
                        "arrays": arrays})
    return records


def save_checkpoint(path: str | os.PathLike, net, optimizer, rng: np.random.Generator,
                    epoch: int, history, settings: dict, callbacks=(),
                    log: HistoryLog | None = None) -> Path:
    """Write a checkpoint of the run after ``epoch`` to ``path``, atomically.

    With ``log`` the history lists are appended to it before the file is renamed into
    place, the file keeping what the log has not yet synced, and the run's first save then
    compacts the log; without, they go inside the file (a save then costs time in
    proportion to the epochs so far).
    """
    from safetensors.numpy import save as st_save

    path = as_path(path)
    tensors = {name: np.ascontiguousarray(to_numpy(a)) for name, a in state_arrays(net)}
    opt = optimizer.state_dict()
    keys = []
    for i, s in enumerate(opt["state"]):
        keys.append(sorted(s))
        for k, v in s.items():
            tensors[f"optimizer.{i}.{k}"] = np.ascontiguousarray(v)
    refuse_unloadable(tensors, path, "checkpoint")  # the last good checkpoint stays, its log too
    record = {f.name: getattr(history, f.name) for f in fields(history)  # no copy of the lists
              if log is None or f.name not in HISTORY_LISTS}
    if log is not None:
        record.update(log.append(history))  # the run, and the values the log may yet lose
    state = {"epoch": epoch, "optimizer": {"t": opt["t"], "keys": keys},
             "rng": rng.bit_generator.state,
             "layer_rngs": {k: g.bit_generator.state for k, g in _layer_rngs(net).items()},
             "history": record, "settings": settings,
             "callbacks": _callback_records(callbacks, tensors)}
    try:
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "config": json.dumps({"network": network_config(net)}),
                "state": json.dumps(state)}
    except (TypeError, ValueError) as exc:  # a callback's state_dict returned something odd
        raise ConfigError(f"cannot write checkpoint {path}: its state is not JSON ({exc}); a "
                          "callback's state_dict may hold numbers, strings, None, and lists "
                          "of NumPy arrays") from None
    atomic_write(path, st_save(tensors, metadata=meta), "checkpoint")
    if log is not None and not log.compacted:
        log.compact(history)  # drops older runs' lines, once the new checkpoint is in place
    return path


def _check_generator(c: Check, state, name: str) -> dict:
    """A ``bit_generator.state`` record that a fresh generator of its kind accepts."""
    c.dict(state, name)
    kind = state.get("bit_generator")
    if kind not in GENERATORS:
        c.fail(f"{name}.bit_generator must be one of {', '.join(GENERATORS)}")
    try:
        getattr(np.random, kind)().state = state
    except Exception as exc:  # ValueError, TypeError, KeyError, OverflowError from NumPy
        c.fail(f"{name} is not a {kind} state ({type(exc).__name__})")
    return state


def check_state(state, path) -> dict:
    """Every field of a checkpoint's training state, checked before anything uses it."""
    c = Check(path, "training-state record")
    c.dict(state, "state")
    epoch = c.integer(state.get("epoch"), "epoch", 1, 10**12)
    opt = c.dict(state.get("optimizer"), "optimizer")
    c.integer(opt.get("t"), "optimizer.t", 0, 10**15)
    keys = opt.get("keys")
    if not isinstance(keys, list) or not all(
            isinstance(k, list) and len(k) <= 8 and all(isinstance(n, str) and 0 < len(n) <= 64
                                                        for n in k) for k in keys):
        c.fail("optimizer.keys must be a list of lists of state names")
    _check_generator(c, state.get("rng"), "rng")
    layer_rngs = c.dict(state.get("layer_rngs", {}), "layer_rngs")
    for key, value in layer_rngs.items():
        if key != "net" and not key.isdigit():
            c.fail(f"layer_rngs has an unknown owner {key[:20]!r}")
        _check_generator(c, value, f"layer_rngs.{key[:20]}")
    c.dict(state.get("history"), "history")
    c.dict(state.get("settings"), "settings")
    records = state.get("callbacks", [])
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and type(r.get("index")) is int and 0 <= r["index"] <= 10_000
            and isinstance(r.get("class"), str) and isinstance(r.get("values"), dict)
            and isinstance(r.get("arrays"), dict)
            and all(type(n) is int and 0 < n <= 10_000 for n in r["arrays"].values())
            for r in records):
        c.fail("callbacks must be a list of callback records")
    return {**state, "epoch": epoch, "layer_rngs": layer_rngs, "callbacks": records}


def _plan(header: dict, table: dict, size: int, path):
    """The network and training state a checkpoint declares, checked against its tensor table
    before the tensors are read."""
    meta = check_metadata(header, path, FORMAT, READS)
    config = parse_json(meta.get("config"), path, "config record")
    state = check_state(parse_json(meta.get("state"), path, "training-state record"), path)
    net = build_network(config.get("network") if isinstance(config, dict) else None, path,
                        size)
    params = net.params
    keys = state["optimizer"]["keys"]
    if keys and len(keys) != len(params):
        raise ModelFileError(f"{path}: optimizer state covers {len(keys)} arrays, the network "
                             f"has {len(params)}")
    expected = state_arrays(net) + [(f"optimizer.{i}.{k}", p)
                                    for i, (names, p) in enumerate(zip(keys, params))
                                    for k in names]
    check_table(table, expected, path, net.dtype)
    extra = [f"callbacks.{r['index']}.{k}.{j}" for r in state["callbacks"]
             for k, n in r["arrays"].items() for j in range(n)]
    unknown = sorted(set(table) - {name for name, _ in expected} - set(extra))
    if unknown:
        raise ModelFileError(f"{path} holds unexpected tensor {unknown[0]!r}")
    budget = MAX_CALLBACK_COPIES * sum(p.nbytes for p in params) + 2**20
    if sum(table[name][2] for name in extra if name in table) > budget:
        raise ModelFileError(f"{path}: its callback tensors are larger than "
                             f"{MAX_CALLBACK_COPIES} copies of the network's parameters")
    return net, state


def _history(state: dict, path) -> dict:
    """The full history record: the file's summary with the lists from the log (version 2)
    or from the file itself (version 1), checked."""
    record = dict(state["history"])
    if "run" in record:
        record.update(read_history(path, record))
        for key in ("run", "synced", "tail"):
            record.pop(key, None)
    return check_history(record, state["epoch"], path)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (an untrusted file, like a model),
    with the history lists from its log."""
    path = as_path(path)
    (net, state), data = read_container(path, "checkpoint",
                                        lambda header, table, size: _plan(header, table, size, path))
    tensors = load_tensors(data, path)
    fill_weights(net, tensors, path)
    opt_state = []
    for i, names in enumerate(state["optimizer"]["keys"]):
        s = {k: tensors[f"optimizer.{i}.{k}"].copy() for k in names}
        problem = next((p for k, v in s.items() if (p := tensor_problem(k, v))), None)
        if problem is not None:
            raise ModelFileError(f"{path}: optimizer state {i} {problem}")
        opt_state.append(s)
    callbacks = []
    for r in state["callbacks"]:
        cb_state = dict(r["values"])
        for k, n in r["arrays"].items():
            names = [f"callbacks.{r['index']}.{k}.{j}" for j in range(n)]
            missing = [name for name in names if name not in tensors]
            if missing:
                raise ModelFileError(f"{path} lacks tensor {missing[0]}")
            cb_state[k] = [tensors[name].copy() for name in names]
        callbacks.append((r["index"], r["class"], cb_state))
    log = {k: state["history"][k] for k in ("run", "synced") if k in state["history"]}
    return Checkpoint(net, state["epoch"], {"t": state["optimizer"]["t"], "state": opt_state},
                      state["rng"], state["layer_rngs"], _history(state, path),
                      state["settings"], callbacks, log or None)


def restore(path, net, optimizer, rng: np.random.Generator, history, settings: dict,
            ck: Checkpoint | None = None) -> int:
    """Load the checkpoint at ``path`` (or the already loaded ``ck``) into this run's objects;
    returns the epoch it ended.

    Refuses (ConfigError) a checkpoint of another architecture or other settings.
    """
    ck = load_checkpoint(path) if ck is None else ck
    if network_config(ck.net) != network_config(net):
        raise ConfigError(f"checkpoint {path} is of network {describe(network_config(ck.net))}, "
                          f"not {describe(network_config(net))} with the same activations, loss "
                          "and dtype; resume with the network that wrote it")
    differ = sorted(k for k in set(settings) | set(ck.settings)
                    if settings.get(k) != ck.settings.get(k))
    if differ:
        k = differ[0]
        raise ConfigError(f"checkpoint {path} was written with {k}={ck.settings.get(k)!r} but this "
                          f"run has {k}={settings.get(k)!r}; resume with the same settings")
    want = [sorted(optimizer.init_state(p)) for p in net.params]
    got = [sorted(s) for s in ck.optimizer_state["state"]]
    if got and got != want:
        raise ModelFileError(f"{path}: optimizer state {got[0]} does not fit optimizer "
                             f"{type(optimizer).__name__} (needs {want[0]})")
    owners = _layer_rngs(net)
    missing = sorted(set(ck.layer_rngs) - set(owners))
    if missing:
        raise ModelFileError(f"{path} holds a generator state for {missing[0]!r}, which this "
                             "network does not have")
    for (_, p), (_, q) in zip(state_arrays(net), state_arrays(ck.net)):
        p[...] = place(p).asarray(q)  # weights, and batch norm's running statistics
    optimizer.load_state_dict(ck.optimizer_state, net.params)
    try:  # checked by check_state; the kinds of generator may still differ from this run's
        for key, state in ck.layer_rngs.items():
            owners[key].bit_generator.state = state
        rng.bit_generator.state = ck.rng_state
    except Exception as exc:
        raise ModelFileError(f"{path} has a generator state this run cannot take: "
                             f"{str(exc)[:120]}") from None
    for name, value in ck.history.items():
        if hasattr(history, name):
            setattr(history, name, list(value) if isinstance(value, list) else value)
    return ck.epoch


class Checkpointer:
    """The training loop's side of checkpoints: resume at the start, save every N epochs."""

    def __init__(self, path, every: int, settings: dict, callbacks=()):
        from ..core.validation import check_positive_int

        self.path, self.settings, self.callbacks = as_path(path), settings, list(callbacks)
        self.loaded: Checkpoint | None = None
        self.log: HistoryLog | None = None
        self.warned = False  # a save was refused for a state no file may hold
        self.every = check_positive_int(every, "checkpoint_every")
        if not self.path.parent.is_dir():
            raise ConfigError(f"checkpoint {self.path}: folder {self.path.parent} does not exist; "
                              "create it first")
        if self.path.is_dir():
            raise ConfigError(f"checkpoint {self.path} is a folder; give a file path such as "
                              f"{self.path / 'checkpoint.safetensors'}")
        try:  # a device, FIFO or odd symlink is refused before training, not at the first save
            check_target(self.path, "checkpoint")
            check_target(log_path(self.path), "history log")
        except ModelFileError as exc:
            raise ConfigError(str(exc)) from None

    def start(self, trainer, rng, resume: bool) -> int:
        """The first epoch to run: 1, or the one after the checkpoint when resuming."""
        try:
            state_arrays(trainer.net)
        except ModelFileError as exc:
            raise ConfigError(f"{exc} (checkpoint {self.path})") from None
        for path in (self.path, log_path(self.path)):
            remove_orphans(path)  # temporary files of a killed run
        if not resume:
            self.log = HistoryLog(self.path)
            return 1
        if not self.path.exists():
            raise ConfigError(f"cannot resume: no checkpoint at {self.path}; run once without "
                              "resume (--resume) to create it")
        self.loaded = ck = load_checkpoint(self.path)
        epoch = restore(self.path, trainer.net, trainer.optimizer, rng, trainer.history,
                        self.settings, ck)
        self.log = HistoryLog(self.path, **ck.log) if ck.log else HistoryLog(self.path)
        return epoch + 1

    def restore_callbacks(self, trainer) -> None:
        """After ``on_train_begin``: give the resumed callbacks their saved state."""
        if self.loaded is None:
            return
        for i, name, state in self.loaded.callbacks:
            cb = self.callbacks[i] if i < len(self.callbacks) else None
            if type(cb).__name__ != name:
                raise ConfigError(f"checkpoint {self.path} was written with callback {name} at "
                                  f"position {i} of callbacks, this run has "
                                  f"{type(cb).__name__ if cb is not None else 'none'}; resume "
                                  "with the same callbacks")
            try:
                cb.load_state_dict(trainer, state)
            except Exception as exc:
                raise ModelFileError(f"{self.path} has an invalid {name} state: "
                                     f"{type(exc).__name__} {str(exc)[:120]}") from None

    def epoch_end(self, trainer, rng, epoch: int, last: bool) -> None:
        """Save after every ``every``-th epoch, and after the last one."""
        if last or trainer.stop_reason or epoch % self.every == 0:
            trainer.history.stop_reason = trainer.stop_reason or ""
            try:
                save_checkpoint(self.path, trainer.net, trainer.optimizer, rng, epoch,
                                trainer.history, self.settings, self.callbacks, self.log)
            except NonFiniteState as exc:  # e.g. Adam's v overflowed while W stayed finite:
                if not self.warned:  # training goes on; the last good checkpoint is kept
                    warnings.warn(f"{exc} (epoch {epoch}); the last checkpoint written is "
                                  "kept, and later epochs are saved when they can be",
                                  RuntimeWarning, stacklevel=2)
                self.warned = True
