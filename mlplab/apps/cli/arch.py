"""``mlplab train DATA --arch FILE``: a network of any layers (a CNN, say) from an architecture
file (:mod:`mlplab.io.architecture`), trained on images or on the usual data.

DATA is ``digits`` (scikit-learn's digits as 1 × 8 × 8 images, 75/25 stratified split, seed
0), a folder of CIFAR-10's binary files (its training and test batches), or anything plain
``mlplab train`` takes (a built-in table, a CSV file with ``--target``; no test set then).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .app import console, err_console, output_folder


def image_data(data: str):
    """``(X, y, X_test, y_test)`` for ``digits`` or a CIFAR-10 folder; None for other data."""
    from ...datasets import load_cifar10, load_digits_images, train_test_split

    if data.lower() == "digits":
        X, y = load_digits_images(np.float32)
        X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, seed=0)
        return X, y, X_test, y_test
    if Path(data).is_dir():
        return (*load_cifar10(data, "train"), *load_cifar10(data, "test"))
    return None


def train_arch_command(arch: Path, data: str, target, *, optimizer, lr, max_epochs,
                       batch_size, epsilon, seed, out, progress, checkpoint, checkpoint_every,
                       resume, on_divergence) -> None:
    """Build the network of ``arch``, train it on ``data``, print and save what plain
    ``mlplab train`` does (and the test accuracy where the data has a test set)."""
    from ...io.architecture import network_from_architecture, read_architecture
    from ...io.model import save
    from ...train.callbacks import ProgressBar
    from .engine import load_data

    spec = read_architecture(arch)
    images = image_data(data)
    if images is None:
        X, Y, extra = load_data(data, target)
        X_test = Y_test = None
    else:
        X, Y, X_test, Y_test = images
        extra = None
    net = network_from_architecture(spec, seed=seed, dtype="float32" if X.dtype == np.float32
                                    else "float64", where=str(arch))
    callbacks = [ProgressBar(max_epochs, console=err_console)] if progress else []
    history = net.fit(X, Y, optimizer=optimizer, learning_rate=lr, epsilon=epsilon,
                      max_epochs=max_epochs, batch_size=batch_size, callbacks=callbacks,
                      checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
                      on_divergence=on_divergence)
    console.print(f"stopped: {history.stop_reason}", highlight=False)
    if history.loss:
        console.print(f"final loss {history.loss[-1]:.6g} after {history.epochs} epochs "
                      f"({history.time_s:.2f} s, {history.backend})", highlight=False)
    if net.output in ("sigmoid", "softmax"):
        console.print(f"training accuracy {net.score(X, Y):.1%}", highlight=False)
        if X_test is not None:
            console.print(f"test accuracy {net.score(X_test, Y_test):.1%} "
                          f"({len(X_test)} held-out images)", highlight=False)
    console.print(net.summary(), highlight=False, markup=False)
    if out is not None:
        output_folder(out)
        path = save(net, out / "model.safetensors", extra=extra)
        (out / "history.json").write_text(json.dumps(
            {"loss": history.loss, "epochs": history.epochs,
             "stop_reason": history.stop_reason, "architecture": spec}, indent=1))
        console.print(f"saved {path}", highlight=False)
