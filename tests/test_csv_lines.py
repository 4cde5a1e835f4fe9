"""Line numbers in CSV messages are the file's own (as an editor numbers them): pandas skips
blank lines and reads a quoted cell across line breaks as one row, so "row + 2" is wrong in
such a file. And '?' in the bundled mushroom file: one category in every route."""

import random
import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mlplab.datasets.csv as csvmod
from mlplab.apps.cli.describe import _column_line
from mlplab.cli import app
from mlplab.datasets import load_mushrooms
from mlplab.datasets.csv import read_frame
from mlplab.datasets.csv_model import encode_csv, prepare_csv
from mlplab.datasets.preprocessing import LINES
from mlplab.errors import DataError

pytestmark = pytest.mark.usefixtures("one_blas_thread")

runner = CliRunner()
MUSHROOMS = resources.files("mlplab.datasets") / "data" / "mushrooms.csv"


def error_line(tmp_path, text: str | bytes, *args: str, target: str = "y") -> str:
    """The one line ``mlplab train FILE --target y`` prints for ``text`` (exit code 2)."""
    path = tmp_path / "data.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = runner.invoke(app, ["train", str(path), "--target", target, "--max-epochs", "1",
                                 "--out", str(tmp_path / "run"), *args])
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    return lines[0]


# line 1 blank, 2 blank, 3 header, 4 row, 5 blank, 6 row, 7 spaces, 8 a tab, 9 no target
MISSING_TARGET = ["", "", "a,y", "1,0", "", "2,1", "  ", "\t", "3,", "4,1", "", ""]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_a_missing_target_is_named_on_its_line_whatever_the_blank_lines(tmp_path, eol):
    line = error_line(tmp_path, eol.join(MISSING_TARGET))
    assert "target column 'y' is missing on line 9;" in line  # was line 4 (row 2 + 2)


def test_the_python_loader_names_the_same_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\n".join(MISSING_TARGET))
    with pytest.raises(DataError, match="target column 'y' is missing on line 9;"):
        prepare_csv(path, "y")
    frame = read_frame(path)
    assert frame["a"].tolist() == [1, 2, 3, 4]  # trailing blank lines are no rows
    assert [frame.attrs[LINES][r] for r in range(4)] == [4, 6, 9, 10]


@pytest.mark.parametrize("text, expected", [
    # several blank lines in a row, then a number too large to standardize on line 7
    ("a,y\n1,0\n\n\n\n2,1\n1e308,0\n3,1\n", "column 'a' holds 1e+308 on line 7,"),
    ("a,y\r\n1,0\r\n\r\n\r\n\r\n2,1\r\n1e308,0\r\n3,1\r\n", "column 'a' holds 1e+308 on line 7,"),
    # a 20,000-character cell on line 5, after a blank line 2 and 4
    ("a,y\n\nx,0\n\n" + "b" * 20_000 + ",1\nz,0\n", "line 5, column 'a' holds a cell of 20,000"),
    # a quoted cell over lines 2-4 (one row for pandas, which calls line 6 "line 4")
    ('a,b,y\n1,"two\n\nlines",0\n\n2,x,1,5\n', "Expected 3 fields in line 6, saw 4"),
    # pandas names an unclosed quote's row ("row 3"); the quote opens on line 4
    ('a,y\n1,0\n\n2,"open\n3,1\n', "the quote (\") that opens a cell on line 4 never closes"),
    # old Mac line ends (a lone CR): the long line is line 3, not line 1
    ("a,y\r\r" + "1" * (5 * 2**20) + ",0\r", "line 3 is longer than 4 MiB"),
    # a row of one cell more than the header: pandas indexes the rows by their first cell, so
    # labels are no row numbers (the map is left out; the row's position + 2 is the line)
    ("x,c,y\n,,,\n", "target column 'y' is missing on line 2;"),
], ids=["blank-lines", "crlf", "long-cell", "quoted-cell", "unclosed-quote", "cr-long-line",
        "indexed-rows"])
def test_every_message_names_the_files_line(tmp_path, text, expected):
    assert expected in error_line(tmp_path, text)


def test_a_quoted_cell_across_lines_is_one_row_and_the_next_row_keeps_its_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b,y\r\n1,"x\r\n\r\ny",0\r\n\r\n2,"he said ""hi""",1\r\n, "z",\r\n')
    with pytest.raises(DataError, match="target column 'y' is missing on line 7;"):
        prepare_csv(path, "y")


def test_blank_lines_before_a_semicolon_header_still_find_the_semicolon(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("\ufeff\n \na;y\n1,5;0\n\n2,5;1\n")  # sniffed from a blank line, it was ","
    frame = read_frame(path)
    assert list(frame.columns) == ["a", "y"] and frame["a"].tolist() == [1.5, 2.5]
    assert [frame.attrs[LINES][r] for r in range(2)] == [4, 6]


@pytest.mark.parametrize("encoding, header", [("big5", "醫院四,y"), ("shift_jis", "竹の掛け数,y")])
def test_the_delimiter_is_found_in_the_encoding_given(tmp_path, encoding, header):
    """A second byte of some Big5 and Shift-JIS characters is 0x7C, '|': read as UTF-8 the
    header had more bars than commas, and the file was one column."""
    path = tmp_path / "data.csv"
    path.write_bytes(f"{header}\n1,0\n2,1\n3,0\n".encode(encoding))
    assert b"|" in header.encode(encoding)
    frame = read_frame(path, encoding)
    assert list(frame.columns) == header.split(",") and frame.shape == (3, 2)


def test_a_frame_indexed_otherwise_falls_back_to_its_row_positions(tmp_path):
    """The line map holds the rows as read_frame numbered them; a frame indexed by names (or
    past the file's rows) gets position + 2, never a crash."""
    from mlplab.datasets.preprocessing import TabularEncoder

    path = tmp_path / "data.csv"
    path.write_text("name,a,y\nn1,1,0\n\nn2,2,1\nn3,foo,1\n")
    frame = read_frame(path)
    with pytest.raises(DataError, match="line 5 holds 'foo'"):  # the file's line: a blank one above
        TabularEncoder().fit(frame.iloc[:2][["a"]]).transform(frame[["a"]])
    by_name = frame.set_index("name")
    with pytest.raises(DataError, match="line 4 holds 'foo'"):  # row 2 + 2: the names are no rows
        TabularEncoder().fit(by_name.iloc[:2][["a"]]).transform(by_name[["a"]])


def test_text_in_a_numeric_column_of_the_held_out_rows_names_its_line(tmp_path):
    """The held-out rows are a shuffled subset: their position is no line at all."""
    rows = [f"{i % 7},{i % 2}" for i in range(40)]
    rows[17] = "foo,1"
    path = tmp_path / "split.csv"
    path.write_text("\na,y\n" + "\n\n".join(rows) + "\n")  # row r on line 3 + 2r
    found = []
    for seed in range(12):
        try:
            prepare_csv(path, "y", seed=seed)
        except DataError as exc:
            found.append(str(exc))
    assert found and all("numeric in training but line 37 holds 'foo'" in e for e in found)


def test_predict_names_the_line_of_a_text_cell(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    model = tmp_path / "m"
    assert runner.invoke(app, ["train", str(train), "--target", "y", "--max-epochs", "2",
                               "--out", str(model)]).exit_code == 0
    new = tmp_path / "new.csv"
    new.write_text("\r\na,y\r\n1,0\r\n\r\n\r\nfoo,1\r\n")
    result = runner.invoke(app, ["predict", str(model / "model.safetensors"), str(new)])
    assert result.exit_code == 2
    assert "column 'a' is numeric in training but line 6 holds 'foo'" in result.output


def _random_file(rng: random.Random, sep: str) -> tuple[str, list[int]]:
    """A CSV with blank lines, quoted cells over several lines, stray quotes and any line
    end; and the line each data row starts on, counted while writing it."""
    eol = rng.choice(["\n", "\r\n", "\r"])
    blank = ["", " ", "  \t "] if sep != "\t" else ["", " "]
    text, line, starts = "\ufeff" * (rng.random() < 0.3), 1, []
    for _ in range(rng.randrange(3)):
        text, line = text + rng.choice(blank) + eol, line + 1
    text, line = text + sep.join(["id", "b", "c"]) + eol, line + 1
    for r in range(rng.randrange(1, 30)):
        for _ in range(rng.choice([0, 0, 1, 3])):
            text, line = text + rng.choice(blank) + eol, line + 1
        starts.append(line)
        cell = rng.choice(["x", '5"in', " y", "", "?"])
        if rng.random() < 0.3:  # a quoted cell, perhaps over several lines
            breaks = rng.randrange(3)
            inner = rng.choice(["a", 'a""b', "", sep]) + (eol + rng.choice(["", " ", "z"])) * breaks
            cell, line = rng.choice(["", "  "]) + f'"{inner}"' + rng.choice(["", "t"]), line + breaks
        text, line = text + sep.join([str(r), cell, str(r % 3)]) + eol, line + 1
    text += "".join(rng.choice(blank) + eol for _ in range(rng.randrange(3)))
    return text[:-len(eol)] if rng.random() < 0.3 else text, starts


@pytest.mark.parametrize("chunk", [3, 2**20])
def test_the_line_map_agrees_with_the_file_as_written(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(csvmod, "_CHUNK", chunk)  # 3 bytes: every line break split across reads
    for seed in range(60):
        rng = random.Random(seed)
        text, starts = _random_file(rng, rng.choice(",;\t|"))
        path = tmp_path / f"f{seed}.csv"
        path.write_text(text, newline="")
        frame = read_frame(path)
        assert frame["id"].tolist() == list(range(len(starts))), (seed, text)
        assert [frame.attrs[LINES][r] for r in range(len(frame))] == starts, (seed, text)


# ------------------------------------------------------------------ '?' in the mushroom file

def test_mushroom_question_marks_are_one_category_in_the_loader_and_the_csv_route():
    frame = read_frame(MUSHROOMS)  # the CLI's reader: '?' is missing (the UCI convention)
    missing = frame.isna().sum()
    assert missing[missing > 0].to_dict() == {"stalk-root": 2480}
    X_loader, _ = load_mushrooms(return_X_y=True, as_frame=True)  # '?' kept as it is
    assert (X_loader["stalk-root"] == "?").sum() == 2480
    X, y, encoder, _ = encode_csv(MUSHROOMS, "class")  # the CLI's encoding, fitted on every row
    root = next(c for c in encoder.columns if c["name"] == "stalk-root")
    assert root["missing"] == 2480 and root["fill"] == "?"
    assert root["categories"] == ["?", "b", "c", "e", "r"]
    assert sum(c["missing"] for c in encoder.columns) == 2480
    dummies = pd.get_dummies(X_loader)  # the course's one-hot of the loader's frame
    assert X.shape == dummies.shape == (8124, 117)
    assert encoder.feature_names == [c.replace("_", "=", 1) for c in dummies.columns]
    np.testing.assert_array_equal(X, dummies.to_numpy(float))


def test_the_cli_trains_on_mushrooms_with_the_question_mark_as_an_input_and_says_so(tmp_path):
    out = tmp_path / "run"
    trained = runner.invoke(app, ["train", str(MUSHROOMS), "--target", "class", "--max-epochs",
                                  "1", "--out", str(out), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    assert "0 numeric and 22 categorical columns → 117 inputs" in trained.output
    shown = runner.invoke(app, ["show", str(out / "model.safetensors")])
    assert shown.exit_code == 0, shown.output
    data = prepare_csv(MUSHROOMS, "class", seed=1)  # the CLI's default seed and hold-out
    n_train = next(c["missing"] for c in data.encoder.columns if c["name"] == "stalk-root")
    held_out = int(read_frame(MUSHROOMS)["stalk-root"].iloc[data.rows_test - 1].isna().sum())
    assert n_train + held_out == 2480 and 1800 < n_train < 2200
    assert (f"stalk-root: text, one-hot over ?, b, c, e, r; {n_train:,} missing ('?' or empty) "
            "in training → the category ?, an input of its own") in shown.output
    assert "odor: text, one-hot over a, c, f, l, m, n, p, s, y; no missing value in training " \
           "(one → all zeros)" in shown.output


def test_the_descr_says_what_each_route_does_with_the_question_mark():
    descr = load_mushrooms().DESCR
    assert "2480" in descr and "mlplab train mushrooms.csv" in descr
    assert re.search(r"missing values become the category '\?', an input of its own", descr)


@pytest.mark.parametrize("record, expected", [
    ({"name": "age", "kind": "numeric", "mean": 54.5, "std": 8.6, "median": 55.0, "missing": 0},
     "age: number, standardized with mean 54.5, std 8.6; no missing value in training "
     "(one → the median 55)"),
    ({"name": "ca", "kind": "numeric", "mean": 0.7, "std": 0.9, "median": 0.0, "missing": 3},
     "ca: number, standardized with mean 0.7, std 0.9; 3 missing ('?' or empty) in training "
     "→ the median 0"),
    ({"name": "c", "kind": "categorical", "fill": "?", "categories": ["?", "x"], "missing": 1},
     "c: text, one-hot over ?, x; 1 missing ('?' or empty) in training → the category ?, an "
     "input of its own"),
    # a model file saved before the counts: the most frequent value filled in, as it says
    ({"name": "c", "kind": "categorical", "fill": "x", "categories": ["x", "y"]},
     "c: text, one-hot over x, y; missing → x"),
])
def test_show_says_how_many_values_were_missing_and_what_they_became(record, expected):
    assert _column_line(record) == "  " + expected
