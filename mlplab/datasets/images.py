"""Images as ``(m, channels, height, width)`` arrays, the layout of mlplab's convolutions.

- :func:`load_digits_images`: scikit-learn's bundled handwritten digits (1,797 images of
  8 × 8 pixels, ten classes) as ``(m, 1, 8, 8)``, offline;
- :func:`load_cifar10`: CIFAR-10 from the official *binary* distribution (never the pickled
  Python version), which the user downloads once; nothing is downloaded at run time;
- :func:`shift_images`: every image moved by whole pixels, the gap filled with zeros (the
  convolution lab's test of translation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CIFAR10_RECORD = 1 + 3 * 32 * 32  # one label byte, then the red, green and blue 32 × 32 planes
CIFAR10_FILES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)],
                 "test": ["test_batch.bin"]}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"


def load_digits_images(dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as images: ``X`` ``(1797, 1, 8, 8)`` in [0, 1], ``y`` 0…9.

    The pixels are the data set's ink counts 0…16 divided by 16.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(dtype)[:, None, :, :]
    return X, digits.target.astype(np.int64)


def _cifar_folder(path) -> Path:
    """The folder holding the ``*.bin`` files: ``path`` or its ``cifar-10-batches-bin``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"CIFAR-10 folder {path} does not exist. Download the binary version "
                        f"once ({CIFAR10_URL}, 162 MB), extract it with tar -xzf, and pass the "
                        "folder cifar-10-batches-bin")
    inner = path / "cifar-10-batches-bin"
    if inner.is_dir():
        return inner
    if (path / "data_batch_1").exists() and not (path / "data_batch_1.bin").exists():
        raise DataError(f"{path} holds the Python (pickled) version of CIFAR-10, which mlplab "
                        f"never unpickles; download the binary version ({CIFAR10_URL})")
    return path


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path} is missing: the CIFAR-10 binary version has data_batch_1.bin "
                        f"… data_batch_5.bin and test_batch.bin ({CIFAR10_URL})")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR10_RECORD:
        raise DataError(f"{path} has {raw.size} bytes, not a whole number of CIFAR-10 records "
                        f"({CIFAR10_RECORD} bytes each: 1 label, 3072 pixels); the file is "
                        "truncated or not CIFAR-10's binary version: download it again")
    records = raw.reshape(-1, CIFAR10_RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        row = int(np.argmax(labels > 9))
        raise DataError(f"{path}: record {row} has label {labels[row]}, CIFAR-10's are 0…9; "
                        "the file is not CIFAR-10's binary version")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(path, split: str = "train", max_samples: int | None = None,
                 dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 read from its official binary files.

    Parameters
    ----------
    path : str or Path
        The folder ``cifar-10-batches-bin`` of the extracted binary archive (or the folder
        holding it). Get the archive once from https://www.cs.toronto.edu/~kriz/cifar-10.html
        ("CIFAR-10 binary version"); mlplab never downloads it.
    split : "train" or "test"
        ``data_batch_1.bin`` … ``data_batch_5.bin`` (50,000 images) or ``test_batch.bin``
        (10,000).
    max_samples : int, optional
        Read only the first ones (a quick run).
    dtype : float32 or float64

    Returns
    -------
    X : (m, 3, 32, 32) array
        Pixels in [0, 1] (the bytes divided by 255), red, green and blue planes.
    y : (m,) int64 array
        Labels 0…9, named in :data:`CIFAR10_CLASSES`.
    """
    if split not in CIFAR10_FILES:
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if max_samples is not None and (isinstance(max_samples, bool) or not isinstance(
            max_samples, int) or max_samples < 1):
        raise ConfigError(f"max_samples must be a positive integer, got {max_samples!r}")
    folder = _cifar_folder(path)
    images, labels, seen = [], [], 0
    for name in CIFAR10_FILES[split]:
        X, y = _read_batch(folder / name)
        images.append(X)
        labels.append(y)
        seen += len(y)
        if max_samples is not None and seen >= max_samples:
            break
    X, y = np.concatenate(images)[:max_samples], np.concatenate(labels)[:max_samples]
    return X.astype(dtype) / np.asarray(255, dtype), y


def shift_images(X: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Every image of ``X`` (m, C, H, W) moved ``dy`` pixels down and ``dx`` right (negative:
    up, left); what leaves the frame is lost, what enters is 0."""
    out = np.zeros_like(X)
    H, W = X.shape[2:]
    if abs(dy) >= H or abs(dx) >= W:
        return out
    out[:, :, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        X[:, :, max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out
