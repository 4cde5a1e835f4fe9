"""The benchmarks' output checks: a ``--json`` path is tried before minutes of measuring."""

from __future__ import annotations

import argparse
import os


def check_json(parser: argparse.ArgumentParser, path: str | None) -> None:
    """Exit with argparse's one-line error (code 2) when ``path`` cannot be written; a file that
    exists is left as it is until the results replace it."""
    if not path:
        return
    existed = os.path.exists(path)
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        parser.error(f"--json {path}: cannot write there ({e.strerror}); choose another path")
    if not existed:
        os.remove(path)  # only tried: no empty file left behind if the run is stopped
