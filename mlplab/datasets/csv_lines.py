"""The line of a CSV file each row of data is on, found in the byte scan that
:func:`mlplab.datasets.csv.scan_csv` makes anyway: error messages name the line a user sees in
an editor, where pandas' row numbers skip blank lines and quoted line breaks."""

from __future__ import annotations

import codecs
import functools
import re
from pathlib import Path

import numpy as np

from ..errors import DataError
from .preprocessing import format_bytes

MAX_LINE_BYTES = 4 * 2**20  # 4 MiB: 100,000 numeric columns fit; a pasted document does not


class RowLines:
    """The line of the file (1-based, as an editor counts) each data row is on: pandas skips
    blank lines and reads a quoted cell across line breaks as one row, so row ``r`` (0-based)
    is on line ``r + 2`` only in a file with neither. Kept as the rows where that offset changes,
    in ``frame.attrs`` (:func:`read_frame`). :func:`scan_csv` takes every line not blank for a
    row; where pandas reads fewer rows, or fails, the file is read again following ``quotes``
    (``runs``: the (first, last) lines inside quoted cells; ``opened``: an unclosed one's)."""

    def __init__(self, path: Path, sep: str, quotes: bool = False):
        self.path, self.sep, self.quotes = path, sep, quotes
        self.rest, self.line, self.quoted = b"", 0, False  # the scan: a line's start, lines, quotes
        self.n_rows, self.opened, self._last, self.runs = -1, 0, 0, []  # the header is row -1
        self._at, self._gap = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]

    def __getitem__(self, row) -> int:  # data row (0-based, as pandas numbers it) → line
        at, gap = self._at[0], self._gap[0]  # one array each once the scan ended (feed)
        i = int(np.searchsorted(at, row, side="right")) - 1
        return int(row) + 2 + (int(gap[i]) if i >= 0 else 0)

    def __deepcopy__(self, memo) -> "RowLines":
        return self  # never changed once read: pandas copies a frame's attrs at every step

    def from_pandas(self, line: int) -> int:
        """The file line pandas' parser errors call ``line`` (they skip quoted line breaks)."""
        found, before = line, None
        while found != before:  # found = line + the quoted lines up to it, till that settles
            inside = sum(min(last, found) - first + 1 for first, last in self.runs if first <= found)
            before, found = found, line + inside
        return found

    def feed(self, data: bytes, end: bool = False) -> None:
        """The next bytes of the file (``end``: the last); refuses a line over MAX_LINE_BYTES."""
        buf = self.rest + data
        a = np.frombuffer(buf, np.uint8)
        nl = a == 10
        stop = nl | (a == 13) & ~np.r_[nl[1:], not end] if b"\r" in buf else nl  # or a lone CR
        ends = np.flatnonzero(stop)
        if end and len(a) and not stop[-1]:
            ends = np.append(ends, len(a))  # the last line, without a line break
        starts = np.r_[0, ends[:-1] + 1][:len(ends)]
        self.rest = b"" if end else buf[ends[-1] + 1:] if len(ends) else buf
        lengths = np.r_[ends - starts, len(self.rest)]  # the rest: a line not ended yet
        if lengths.max() > MAX_LINE_BYTES:
            raise DataError(f"{self.path}: line {self.line + 1 + np.argmax(lengths > MAX_LINE_BYTES)}"
                            f" is longer than {format_bytes(MAX_LINE_BYTES)} (the longest line "
                            "mlplab reads); is it a CSV table? Shorten or drop its long text cells")
        first = a[np.minimum(starts, len(a) - 1)]
        record, bom = ends > starts, self.line == 0 and buf.startswith(codecs.BOM_UTF8)
        if bom or (record & ((first == 32) | (first == 9) | (first == 13))).any():
            ink = ~(nl | (a == 13) | (a == 32) | ((a == 9) if self.sep != "\t" else False))
            ink[:3 * bom] = False  # pandas skips lines of spaces and tabs (after a BOM too)
            ink_sum = np.r_[0, np.cumsum(ink, dtype=np.int64)]
            record = ink_sum[ends] - ink_sum[starts] > 0
        if self.quotes and (self.quoted or b'"' in buf):
            quote_sum = np.r_[0, np.cumsum(a == 34, dtype=np.int64)]
            quoted = np.flatnonzero(quote_sum[ends] - quote_sum[starts])
            self._quotes(buf, starts, ends, record, quoted)
        lines = self.line + 1 + np.flatnonzero(record)  # where records (the header first) start
        gaps = lines - np.arange(self.n_rows, self.n_rows + len(lines)) - 2
        change = np.flatnonzero(np.diff(gaps, prepend=self._last) != 0)
        self._at.append(change + self.n_rows)
        self._gap.append(gaps[change])
        self._last = int(gaps[-1]) if len(gaps) else self._last
        self.n_rows, self.line = self.n_rows + len(lines), self.line + len(ends)
        if end and self.quoted:
            self.runs.append((self.opened + 1, self.line))
        if end:
            self._at, self._gap = [np.concatenate(self._at)], [np.concatenate(self._gap)]

    def _quotes(self, buf: bytes, starts, ends, record, quoted) -> None:
        """Lines inside a quoted cell start no row: pandas reads the cell across them."""
        outside, inside = _quote_patterns(self.sep)
        done = 0
        for i in quoted.tolist() + [len(ends)]:
            if self.quoted:
                record[done:i + 1] = False
            if i == len(ends):
                return
            was, line = self.quoted, self.line + 1 + i
            text = buf[starts[i]:ends[i]].removesuffix(b"\r")
            self.quoted = not (inside if was else outside).fullmatch(text)
            if was and not self.quoted:
                self.runs.append((self.opened + 1, line))
            if was != self.quoted:
                self.opened = line if self.quoted else 0
            done = i + 1


@functools.cache
def _quote_patterns(sep: str):
    """Regexes for a whole line ending outside quotes, starting outside / inside a quoted cell,
    as pandas reads quotes (at a cell's start, after spaces; ``""`` in one; text after kept)."""
    s = re.escape(sep.encode())
    quoted = rb'"(?:[^"]++|"")*+"[^%s]*+' % s
    field = rb'(?: *+%s| *+[^%s" ][^%s]*+| *+)' % (quoted, s, s)
    rest = rb'(?:%s%s)*+' % (s, field)
    return re.compile(field + rest), re.compile(quoted[1:] + rest)
