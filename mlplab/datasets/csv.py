"""CSV files, read safely whatever the path turns out to be.

:func:`read_frame` reads any CSV table into a pandas DataFrame for
:mod:`mlplab.datasets.csv_model` (``mlplab train FILE.csv``); :func:`load_csv` reads a
numeric CSV as it is, for Python users who want the raw numbers.

Before pandas sees a byte, :func:`read_frame` checks what the path is (a folder, a FIFO, a
device, a symbolic-link loop are each named, and nothing blocks or reads forever), that the
file fits in memory, that it holds no NUL byte (a binary file), that no line is longer than
:data:`MAX_LINE_BYTES`, and which text encoding it uses (UTF-8, else Windows-1252/Latin-1
with a warning, or the one given); the same pass finds the line each row is on
(:class:`RowLines`). After parsing, header names must be unique (pandas would rename a
second ``y`` to ``y.1`` and train on the target as a feature) and no text cell may be longer
than :data:`MAX_CELL_CHARS`. Every problem is a :class:`~mlplab.errors.DataError` naming
the file, and the line of the file where there is one (blank lines counted, as an editor).
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError
from .csv_lines import MAX_LINE_BYTES, RowLines
from .preprocessing import LINES, ColumnWarning, file_line, available_memory, format_bytes

MAX_CELL_CHARS = 10_000  # a category is a short label, not a text to read
READ_FACTOR = 6  # pandas holds a table in about this many times its file size, at most
_CHUNK = 2**20
DELIMITERS = ",;\t|"
_DECIMAL_COMMA = r"[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?"
_NODES = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def node_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words ("a FIFO (named pipe)", ...)."""
    return _NODES.get(stat.S_IFMT(mode), "not a regular file")


def check_csv_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path, after checking that it is a regular file this process can read.

    Never opens a FIFO or a device (which would block or read forever); a symbolic-link loop,
    a folder, a missing file and a file it may not read are each named.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(f"CSV file {path} does not exist; check the path") from None
    except NotADirectoryError:
        raise DataError(f"CSV file {path} does not exist: a part of its path is a file, not a "
                        "folder") from None
    except OSError as exc:  # ELOOP, ENAMETOOLONG, EACCES on a folder on the way
        raise DataError(f"CSV file {path} cannot be opened: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"CSV file {path} is a folder; give the CSV file inside it")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"CSV file {path} is {node_kind(st.st_mode)}, not a regular file; save the table to a "
                        "file and give its path")
    if not os.access(path, os.R_OK):
        raise DataError(f"CSV file {path} cannot be read: permission denied")
    available = available_memory()
    if available is not None and st.st_size * READ_FACTOR > available:
        raise DataError(f"CSV file {path} is {format_bytes(st.st_size)}; reading it needs up "
                        f"to {format_bytes(st.st_size * READ_FACTOR)} but this machine has "
                        f"{format_bytes(available)} available: use a sample of its rows")
    return path


def scan_csv(path: Path, sep: str = ",", quotes: bool = False) -> tuple[int | None, RowLines]:
    """Read ``path`` once in 1 MiB chunks: refuse NUL bytes and over-long lines; return the
    offset of its first non-UTF-8 byte (None) and the :class:`RowLines` of its ``sep`` rows."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    bad_utf8, offset, rows = None, 0, RowLines(path, sep, quotes)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            if b"\0" in chunk:
                raise DataError(f"{path} could not be read as CSV: it holds NUL bytes (a binary "
                                "file, or a UTF-16 text: save it as UTF-8)")
            if bad_utf8 is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad_utf8 = offset + exc.start
            rows.feed(chunk)
            offset += len(chunk)
    rows.feed(b"", end=True)
    return bad_utf8, rows


def choose_encoding(path: Path, encoding: str | None, bad: int | None) -> str:
    """The text encoding to read ``path`` with: ``encoding`` when given (checked), else UTF-8,
    else (``bad``: a non-UTF-8 byte's offset) Windows-1252 or Latin-1, with a warning."""
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise DataError(f"unknown text encoding {encoding!r}; use e.g. utf-8, latin-1 or "
                            "cp1252") from None
        if name == "utf-8" and bad is not None:
            raise DataError(_not_utf8(path, bad) + "; if it was saved as Latin-1 (Excel, older "
                            "Windows programs) pass --encoding latin-1")
        return name
    if bad is None:
        return "utf-8-sig"  # UTF-8, and a byte-order mark (Excel's "CSV UTF-8") is dropped
    chosen = "cp1252" if _decodes(path, "cp1252") else "latin-1"
    warnings.warn(f"{_not_utf8(path, bad)}; read it as {chosen} (Latin-1); pass --encoding "
                  "(encoding=) if its text looks wrong", ColumnWarning, stacklevel=3)
    return chosen


def _not_utf8(path: Path, offset: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        byte = f.read(1)
    return f"{path} is not UTF-8 text (byte 0x{byte.hex()} at offset {offset})"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as f:
        try:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    return True


def read_frame(path: str | os.PathLike, encoding: str | None = None):
    """Read a CSV table with pandas, after the checks of the module docstring.

    Parameters
    ----------
    path : a CSV file with a header line.
    encoding : its text encoding; None detects UTF-8 or Windows-1252/Latin-1.

    Returns
    -------
    pandas.DataFrame
        ``?`` and empty cells are NaN; leading spaces after a comma are dropped.
    """
    import pandas as pd

    path = check_csv_path(path)
    try:  # the encoding given (a second byte of Big5 or Shift-JIS may be '|'), else UTF-8
        sep = sniff_delimiter(path, encoding or "utf-8")  # (cp1252, Latin-1: the same ASCII)
    except LookupError:
        sep = ","  # an unknown encoding: choose_encoding names it
    bad, lines = scan_csv(path, sep)
    chosen = choose_encoding(path, encoding, bad)
    options = dict(na_values=["?"], skipinitialspace=True, encoding=chosen, sep=sep)
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, **options)
        frame = pd.read_csv(path, **options)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError,
            ValueError, OverflowError, MemoryError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        lines = scan_csv(path, sep, quotes=True)[1]  # pandas' line numbers skip quoted breaks
        message = re.sub(r"(?<=in line )\d+", lambda m: str(lines.from_pandas(int(m[0]))), message)
        if "EOF inside string" in message and lines.opened:  # pandas names a row, not a line
            message = (f"the quote (\") that opens a cell on line {lines.opened} never closes; "
                       "close it (a quote inside a quoted cell is written twice: \"\")")
        raise DataError(f"{path} could not be read as CSV: {message}") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path} has a header but no data rows")
    if lines.n_rows != len(frame):  # fewer rows than lines: a quoted cell has line breaks
        lines = scan_csv(path, sep, quotes=True)[1]
    plain = lines.n_rows == len(frame) and frame.index.equals(pd.RangeIndex(len(frame)))
    frame.attrs[LINES] = lines if plain else None  # None (rows that pandas indexed): row + 2
    _check_names(path, [str(v) for v in header.iloc[0].tolist()])
    _check_index(path, header.iloc[0, 0], frame.iloc[:, 0])
    _check_cells(path, frame)
    return _decimal_commas(frame) if sep != "," else frame


def sniff_delimiter(path: Path, encoding: str) -> str:
    """The character between the header's names: a comma, else the semicolon (Excel in much of
    Europe), tab or bar that splits the header line into the most names (outside quotes)."""
    with open(path, encoding=encoding, errors="replace", newline="") as f:  # blank lines skipped
        lines = iter(lambda: f.readline(MAX_LINE_BYTES), "")
        header = next((line for line in lines if line.strip(" \t\r\n\ufeff")), "")
    counts, quoted = dict.fromkeys(DELIMITERS, 0), False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the first, the comma
    return best if counts[best] else ","


def _decimal_commas(frame):
    """Columns of numbers written with a decimal comma (``3,5``: a semicolon-separated file
    from a European Excel) as numbers."""
    import pandas as pd

    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            continue
        text = col.dropna().astype(str).str.strip()
        if len(text) and text.str.fullmatch(_DECIMAL_COMMA).all() and text.str.contains(",").any():
            frame[name] = pd.to_numeric(col.astype(str).str.strip().str.replace(",", ".")
                                        .where(col.notna()), errors="coerce")
    return frame


def _check_index(path: Path, name, column) -> None:
    """A first column without a name that counts the rows 0, 1, 2, … is the row index pandas'
    ``to_csv()`` writes by default: a network would learn from the rows' order."""
    import pandas as pd

    if not pd.isna(name) or not pd.api.types.is_integer_dtype(column.dtype):
        return
    start = int(column.iloc[0])
    if start in (0, 1) and np.array_equal(column.to_numpy(), np.arange(start, start + len(column))):
        raise DataError(f"{path}: its first column has no name and counts the rows {start}, "
                        f"{start + 1}, {start + 2}, …: the row index pandas writes with "
                        "to_csv(); a network would learn the rows' order from it. Write the "
                        "file with to_csv(index=False), or name the column if it is a feature")


def _check_names(path: Path, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(f"{path} has two columns named {name!r} (columns {seen[name]} and "
                            f"{i}); rename one: a second target column would be read as a "
                            f"feature and leak the answer{no_header_hint([name])}")
        seen[name] = i


def no_header_hint(names) -> str:
    """A hint when the first line, read as the column names, holds numbers: a file without a
    header line, whose first row of data was taken for the names."""
    numbers = [str(n) for n in names if _is_number(str(n))]
    if not numbers:
        return ""
    return (f" (a first line holding {numbers[0]} is a row of data, not names: add a header "
            "line naming the columns, e.g. x1,x2,…,y)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_cells(path: Path, frame) -> None:
    from pandas.api.types import is_numeric_dtype

    for name in frame.columns:
        col = frame[name]
        if is_numeric_dtype(col.dtype):
            continue
        lengths = col.astype(str).str.len().where(col.notna(), 0).to_numpy()
        if len(lengths) and lengths.max() > MAX_CELL_CHARS:
            line = file_line(col, int(np.argmax(lengths)))
            raise DataError(f"{path}: line {line}, column {name!r} holds a cell of "
                            f"{int(lengths.max()):,} characters; mlplab reads text cells of up "
                            f"to {MAX_CELL_CHARS:,} (a category is a short label): drop the "
                            "column or shorten the cell")


def load_csv(path: str | os.PathLike, target: str, encoding: str | None = None
             ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features X, target Y (one column) and the feature names, from a numeric CSV, as they
    are (no scaling, no encoding; :func:`mlplab.datasets.csv_model.train_csv` does both)."""
    from pandas.api.types import is_numeric_dtype

    frame = read_frame(path, encoding)
    if target not in frame.columns:
        raise DataError(f"{path} has no column {target!r}; its columns are: "
                        f"{', '.join(map(str, frame.columns))}")
    features = [c for c in frame.columns if c != target]
    if not features:
        raise DataError(f"{path} has only the target column {target!r}; it needs at least one "
                        "feature column")
    X = frame[features]
    bad = [c for c in features if not is_numeric_dtype(X[c].dtype)]
    if bad:
        raise DataError(f"{path}: column {bad[0]!r} is not numeric; encode it as numbers first")
    if X.isna().any().any():
        col = X.columns[X.isna().any()][0]
        raise DataError(f"{path}: column {col!r} has missing values; fill or drop them first")
    y = frame[target]
    if not is_numeric_dtype(y.dtype) or y.isna().any():
        raise DataError(f"{path}: target column {target!r} must be numeric with no missing values")
    X, Y = X.to_numpy(np.float64), y.to_numpy(np.float64).reshape(-1, 1)
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise DataError(f"{path} contains inf or a number too large for float64; "
                        "remove or clip those values")
    return X, Y, [str(c) for c in features]

