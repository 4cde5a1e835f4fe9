"""Crash-safe training checkpoints: stop anywhere, resume bit for bit.

A checkpoint is one safetensors file, written atomically (temp file in the same folder, fsync,
rename: :func:`mlplab.io.atomic_write_bytes`), so a crash leaves either the previous
checkpoint or the new one, never half of one. It holds

- the weights ``layers.{l}.W``, ``layers.{l}.b``, or a layer stack's tensors with the
  batch-norm running statistics (as in a model file, :mod:`mlplab.io`),
- the optimizer's state arrays ``optimizer.{i}.{name}`` (velocity, Adam's moments) and step t,
- the states of the shuffle generator and of the network's own generators (dropout masks):
  ``bit_generator.state`` as JSON (nothing is pickled),
- the epoch just finished, the :class:`~mlplab.training.History` so far, and the settings of
  the run (optimizer, learning rate, batch size, …) so that a resume with different settings
  is refused rather than silently producing a different model.

Resuming restores all of it and continues with the next epoch; because every random choice
comes from the restored generator, the resumed run ends with bit-identical weights to an
uninterrupted one. Callbacks that define ``state_dict`` (EarlyStopping: its patience counter
and best weights) are saved too, by position, and restored into the same callbacks of the
resumed run (``callbacks.{i}.{name}.{j}`` tensors, the rest JSON).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.xp import place, to_numpy
from ..errors import ConfigError, ModelFileError
from .model import (_as_path, _read_header, atomic_write_bytes, build_network, check_metadata,
                 describe, fill_weights, load_tensors, network_config, read_model_bytes,
                 state_arrays)

FORMAT = "mlplab-checkpoint"
FORMAT_VERSION = 1


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


def _layer_rngs(net) -> dict:
    """The states of the generators inside the network (dropout masks, the network's own)."""
    owners = {"net": net, **{str(l): layer for l, layer in enumerate(net.layers)}}
    return {key: obj.rng.bit_generator.state for key, obj in owners.items()
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
                    epoch: int, history, settings: dict, callbacks=()) -> Path:
    """Write a checkpoint of the run after ``epoch`` to ``path``, atomically."""
    from safetensors.numpy import save as st_save

    path = Path(path)
    tensors = {name: np.ascontiguousarray(to_numpy(a)) for name, a in state_arrays(net)}
    opt = optimizer.state_dict()
    keys = []
    for i, s in enumerate(opt["state"]):
        keys.append(sorted(s))
        for k, v in s.items():
            tensors[f"optimizer.{i}.{k}"] = np.ascontiguousarray(v)
    state = {"epoch": epoch, "optimizer": {"t": opt["t"], "keys": keys},
             "rng": rng.bit_generator.state, "layer_rngs": _layer_rngs(net),
             "history": asdict(history), "settings": settings,
             "callbacks": _callback_records(callbacks, tensors)}
    try:
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "config": json.dumps({"network": network_config(net)}),
                "state": json.dumps(state)}
    except (TypeError, ValueError) as exc:  # a callback's state_dict returned something odd
        raise ConfigError(f"cannot write checkpoint {path}: its state is not JSON ({exc}); a "
                          "callback's state_dict may hold numbers, strings, None, and lists "
                          "of NumPy arrays") from None
    atomic_write_bytes(path, st_save(tensors, metadata=meta))
    return path


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (an untrusted file, like a model)."""
    data = read_model_bytes(path, "checkpoint")
    header = _read_header(data, path)
    meta = check_metadata(header, path, FORMAT, FORMAT_VERSION)
    try:
        net_record = json.loads(meta["config"])["network"]
        state = json.loads(meta["state"])
        epoch, opt, rng_state = state["epoch"], state["optimizer"], state["rng"]
        history, settings = state["history"], state["settings"]
        layer_rngs = state.get("layer_rngs", {})
        if type(epoch) is not int or epoch < 1 or type(opt["t"]) is not int or opt["t"] < 0:
            raise ValueError(f"bad epoch {epoch!r} or step count")
        if not all(isinstance(d, dict) for d in (rng_state, history, settings, layer_rngs)):
            raise ValueError("rng, history and settings must be JSON objects")
        keys = [list(map(str, k)) for k in opt["keys"]]
        cb_records = state.get("callbacks", [])
        if not isinstance(cb_records, list) or not all(
                isinstance(r, dict) and type(r.get("index")) is int and r["index"] >= 0
                and isinstance(r.get("class"), str) and isinstance(r.get("values"), dict)
                and isinstance(r.get("arrays"), dict)
                and all(type(n) is int and 0 < n <= 10_000 for n in r["arrays"].values())
                for r in cb_records):
            raise ValueError("callbacks must be a list of callback records")
    except Exception as exc:
        raise ModelFileError(f"{path} has an invalid training-state record: "
                             f"{type(exc).__name__} {str(exc)[:120]}") from None
    net = build_network(net_record, path, len(data))
    tensors = load_tensors(data, path)
    expected = fill_weights(net, tensors, path)
    params = net.params
    if keys and len(keys) != len(params):
        raise ModelFileError(f"{path}: optimizer state covers {len(keys)} arrays, the network "
                             f"has {len(params)}")
    opt_state = []
    for i, (names, p) in enumerate(zip(keys, params)):
        s = {}
        for k in names:
            t = tensors.get(f"optimizer.{i}.{k}")
            if t is None or t.shape != p.shape or t.dtype != p.dtype:
                raise ModelFileError(f"{path}: optimizer tensor optimizer.{i}.{k} is missing or "
                                     f"does not match parameter shape {p.shape}")
            s[k] = t.copy()
            expected.add(f"optimizer.{i}.{k}")
        opt_state.append(s)
    callbacks = []
    for r in cb_records:
        cb_state = dict(r["values"])
        for k, n in r["arrays"].items():
            names = [f"callbacks.{r['index']}.{k}.{j}" for j in range(n)]
            missing = [name for name in names if name not in tensors]
            if missing:
                raise ModelFileError(f"{path} lacks tensor {missing[0]}")
            cb_state[k] = [tensors[name].copy() for name in names]
            expected.update(names)
        callbacks.append((r["index"], r["class"], cb_state))
    unknown = sorted(set(tensors) - expected)
    if unknown:
        raise ModelFileError(f"{path} holds unexpected tensor {unknown[0]!r}")
    return Checkpoint(net, epoch, {"t": opt["t"], "state": opt_state}, rng_state, layer_rngs,
                      history, settings, callbacks)


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
    for (_, p), (_, q) in zip(state_arrays(net), state_arrays(ck.net)):
        p[...] = place(p).asarray(q)  # weights, and batch norm's running statistics
    optimizer.load_state_dict(ck.optimizer_state, net.params)
    try:
        owners = {"net": net, **{str(l): layer for l, layer in enumerate(net.layers)}}
        for key, state in ck.layer_rngs.items():
            owners[key].rng.bit_generator.state = state
        rng.bit_generator.state = ck.rng_state
        for name, value in ck.history.items():
            default = getattr(history, name, None)
            if isinstance(default, list) and not (
                    isinstance(value, list) and all(isinstance(v, (int, float)) for v in value)):
                raise TypeError(f"history.{name} must be a list of numbers")
            if hasattr(history, name):
                setattr(history, name, value)
        if type(history.epochs) is not int or not isinstance(history.stop_reason, str):
            raise TypeError("history.epochs must be an int and stop_reason a string")
    except Exception as exc:
        raise ModelFileError(f"{path} has an invalid generator or history record: "
                             f"{str(exc)[:120]}") from None
    return ck.epoch


class Checkpointer:
    """The training loop's side of checkpoints: resume at the start, save every N epochs."""

    def __init__(self, path, every: int, settings: dict, callbacks=()):
        from ..core.validation import check_positive_int

        self.path, self.settings, self.callbacks = _as_path(path), settings, list(callbacks)
        self.loaded: Checkpoint | None = None
        self.every = check_positive_int(every, "checkpoint_every")
        if not self.path.parent.is_dir():
            raise ConfigError(f"checkpoint {self.path}: folder {self.path.parent} does not exist; "
                              "create it first")
        if self.path.is_dir():
            raise ConfigError(f"checkpoint {self.path} is a folder; give a file path such as "
                              f"{self.path / 'checkpoint.safetensors'}")

    def start(self, trainer, rng, resume: bool) -> int:
        """The first epoch to run: 1, or the one after the checkpoint when resuming."""
        try:
            state_arrays(trainer.net)
        except ModelFileError as exc:
            raise ConfigError(f"{exc} (checkpoint {self.path})") from None
        if not resume:
            return 1
        if not self.path.exists():
            raise ConfigError(f"cannot resume: no checkpoint at {self.path}; run once without "
                              "resume (--resume) to create it")
        self.loaded = load_checkpoint(self.path)
        return restore(self.path, trainer.net, trainer.optimizer, rng, trainer.history,
                       self.settings, self.loaded) + 1

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
            save_checkpoint(self.path, trainer.net, trainer.optimizer, rng, epoch,
                            trainer.history, self.settings, self.callbacks)
