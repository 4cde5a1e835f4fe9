"""Images: digits as (m, 1, 8, 8), CIFAR-10 read from files in its binary format that the tests
write (a few records each), bad files refused by name, and whole-pixel shifts."""

import numpy as np
import pytest

from mlplab import ConfigError, DataError
from mlplab.datasets import load_cifar10, load_digits_images, shift_images
from mlplab.datasets.images import CIFAR10_RECORD


def write_cifar(folder, n_per_file=3, seed=0):
    """The six files of CIFAR-10's binary version, ``n_per_file`` random records each;
    returns the images and labels written, per file name."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, n_per_file, dtype=np.uint8)
        pixels = rng.integers(0, 256, (n_per_file, 3, 32, 32), dtype=np.uint8)
        records = np.concatenate([labels[:, None], pixels.reshape(n_per_file, -1)], axis=1)
        (folder / name).write_bytes(records.tobytes())
        written[name] = (pixels, labels)
    return written


def test_digits_are_one_channel_eight_by_eight_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 1 and set(y) == set(range(10))
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(X.reshape(1797, 64) * 16, load_digits().data)


def test_cifar10_reads_the_binary_records_in_order(tmp_path):
    written = write_cifar(tmp_path / "cifar-10-batches-bin")
    X, y = load_cifar10(tmp_path)  # the folder holding cifar-10-batches-bin is fine too
    assert X.shape == (15, 3, 32, 32) and X.dtype == np.float32 and y.dtype == np.int64
    first, labels = written["data_batch_1.bin"]
    np.testing.assert_array_equal(X[:3], first / np.float32(255))  # red, green, blue planes
    np.testing.assert_array_equal(y[:3], labels)
    np.testing.assert_array_equal(y[12:], written["data_batch_5.bin"][1])
    Xt, yt = load_cifar10(tmp_path / "cifar-10-batches-bin", split="test", dtype=np.float64)
    np.testing.assert_array_equal(Xt * 255, written["test_batch.bin"][0])
    Xs, ys = load_cifar10(tmp_path, max_samples=4)
    assert len(Xs) == 4 and np.array_equal(ys, y[:4])


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "data_batch_3.bin").write_bytes((f / "data_batch_3.bin").read_bytes()[:-10]),
     r"data_batch_3.bin has 9209 bytes, not a whole number of CIFAR-10 records \(3073"),
    (lambda f: (f / "data_batch_2.bin").write_bytes(b""), "has 0 bytes"),
    (lambda f: (f / "data_batch_4.bin").unlink(), r"data_batch_4.bin is missing.*binary version"),
    (lambda f: (f / "data_batch_1.bin").write_bytes(bytes([12]) + bytes(CIFAR10_RECORD - 1)),
     "record 0 has label 12"),
])
def test_damaged_cifar10_files_are_refused_by_name(tmp_path, damage, message):
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar(folder)
    damage(folder)
    with pytest.raises(DataError, match=message):
        load_cifar10(folder)


def test_a_missing_folder_or_the_pickled_version_says_where_to_get_the_binary_one(tmp_path):
    with pytest.raises(DataError, match=r"does not exist\. Download the binary version once "
                                        r"\(https://www\.cs\.toronto\.edu/~kriz/cifar-10-binary"):
        load_cifar10(tmp_path / "nowhere")
    (tmp_path / "data_batch_1").write_bytes(b"\x80\x04pickle")
    with pytest.raises(DataError, match="Python \\(pickled\\) version .* never unpickles"):
        load_cifar10(tmp_path)
    with pytest.raises(ConfigError, match="split must be 'train' or 'test'"):
        load_cifar10(tmp_path, split="validation")
    with pytest.raises(ConfigError, match="max_samples must be a positive integer"):
        load_cifar10(tmp_path, max_samples=0)


def test_shifts_move_whole_pixels_and_fill_with_zeros():
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    down_left = shift_images(X, 1, -2)[0, 0]
    np.testing.assert_array_equal(down_left, [[0, 0, 0, 0], [2, 3, 0, 0], [6, 7, 0, 0],
                                              [10, 11, 0, 0]])
    np.testing.assert_array_equal(shift_images(X, 0, 0), X)
    assert not shift_images(X, 4, 0).any()
