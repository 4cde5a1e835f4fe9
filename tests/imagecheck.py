"""Helpers for figure tests: a written image is readable and not blank."""

import numpy as np
from PIL import Image


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=float)


def assert_not_blank(path, min_std: float = 10.0) -> None:
    """The image exists, is of a sensible size, and is not one flat colour."""
    a = pixels(path)
    assert a.shape[0] > 100 and a.shape[1] > 100, f"{path} is only {a.shape}"
    assert a.std() > min_std, f"{path} looks blank (pixel std {a.std():.1f})"
