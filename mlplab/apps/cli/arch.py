"""``mlplab train DATA --arch FILE``: a network of any layers (a CNN, say) from an architecture
file (:mod:`mlplab.io.architecture`).

DATA is ``digits`` (scikit-learn's digits as 1 × 8 × 8 images, 75/25 stratified split, seed
0), a folder of CIFAR-10's binary files (its training and test batches), or a truth table
(xor, and, or; no test set then). The network is then trained, reported and saved by the
train command's own route (:mod:`mlplab.apps.cli.train`): the held-out images play the part of
a CSV file's held-out rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ConfigError

# what a network from an architecture file trains with unless told otherwise
DEFAULTS = {"optimizer": "adam", "lr": 0.001, "max_epochs": 20, "batch_size": 32}


@dataclass
class ImageRun:
    """The held-out images scored: what the train command prints and the model file keeps."""

    n_test: int
    accuracy: float
    report: str

    def extra(self) -> dict:
        return {"images": {"test_accuracy": self.accuracy, "n_test": self.n_test}}


@dataclass
class ImageData:
    """Images to train on and images held out (the train command's ``prepared`` data)."""

    path: str
    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def validation_data(self) -> tuple:
        """The held-out images, watched every epoch, never trained on."""
        return self.X_test, self.y_test

    def evaluate(self, net) -> ImageRun:
        from sklearn.metrics import classification_report

        predictions = net.predict(self.X_test)
        accuracy = float(np.mean(predictions == self.y_test))
        return ImageRun(len(self.y_test), accuracy,
                        classification_report(self.y_test, predictions, zero_division=0))


def image_data(data: str) -> ImageData | None:
    """``digits`` or a CIFAR-10 folder as :class:`ImageData`; None for other data."""
    from ...datasets import load_cifar10, load_digits_images, train_test_split

    if data.lower() == "digits":
        X, y = load_digits_images(np.float32)
        X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, seed=0)
        return ImageData("digits", X, y, X_test, y_test)
    if Path(data).is_dir():
        X, y = load_cifar10(data, "train")
        return ImageData(data, X, y, *load_cifar10(data, "test"))
    return None


def with_defaults(o: dict) -> dict:
    """The train command's options, :data:`DEFAULTS` where none was given."""
    return {**o, **{key: value for key, value in DEFAULTS.items() if o.get(key) is None}}


def arch_network(arch: Path, data: str | None, o: dict):
    """``(net, X, Y, prepared)`` for the train command: the network of ``arch`` and its data;
    sets ``o["test_size"]`` to the held-out fraction."""
    from ...datasets import BUILTIN, load_builtin
    from ...io.architecture import network_from_architecture, read_architecture
    from .app import console
    from .describe import layer_table

    # the network first: a bad file fails before any data is read (fit casts it to the data)
    net = network_from_architecture(read_architecture(arch), seed=o["seed"], where=str(arch))
    data = data or "xor"
    images = image_data(data)
    if images is None and data.lower() not in BUILTIN:
        raise ConfigError(f"with --arch, DATA is digits, a folder of CIFAR-10's binary files or "
                          f"a truth table ({', '.join(BUILTIN)}); got {data!r}")
    X, Y = load_builtin(data) if images is None else (images.X_train, images.Y_train)
    if images is not None:
        o["test_size"] = len(images.y_test) / (len(images.y_test) + len(X))
    console.print(f"{data}: {len(X)} training samples of shape {net.input_shape}"
                  + ("" if images is None else f", {len(images.y_test)} held out"),
                  highlight=False)
    console.print(layer_table(net), highlight=False, markup=False)
    return net, X, Y, images
