"""The notebooks under notebooks/ run top to bottom (nbclient; each cell within its timeout), and
print what their text says: every claim a markdown cell makes about the numbers is checked
here against the printed output."""

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install 'mlplab[test]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="pip install 'mlplab[test]' (nbclient)")
pytest.importorskip("ipykernel", reason="pip install 'mlplab[test]' (ipykernel)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NUMBER = r"([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)"


def test_one_notebook_per_lecture_part():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_neuron_perceptron", "02_forward_backward", "03_gradient_descent",
                     "04_vanishing_gradients", "05_overfitting", "06_decision_boundaries",
                     "07_cnn_rnn"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        text = "".join(c.source for c in book.cells if c.cell_type == "markdown")
        assert "Exercises" in text, path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in book.cells if c.cell_type == "code"), \
            f"{path.name}: commit notebooks without outputs"
        assert "/work/" not in "".join(c.source for c in book.cells), f"{path.name}: absolute path"


def _printed(book, index=None) -> str:
    """Everything the notebook (or its cell ``index``) printed to stdout."""
    cells = book.cells if index is None else [book.cells[index]]
    return "".join(o.get("text", "") for c in cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _find(pattern: str, text: str) -> tuple:
    match = re.search(pattern, text)
    assert match, f"not printed: {pattern!r}\n--- printed ---\n{text}"
    return match.groups()


def _floats(pattern: str, text: str) -> list[float]:
    return [float(v) for v in _find(pattern, text)]


def _outputs(line: str) -> list[float]:
    return [float(v) for v in _find(r"outputs \[([^\]]*)\]", line)[0].split()]


def check_01(book, out):
    # "Stopped after 50 epochs, the run above has not converged yet (one sample still wrong);
    # given 300, it converges and every sample is right."
    accuracy, wrong = _floats(r"at most 50 epochs: converged=False after 50 epochs, accuracy "
                              + NUMBER + r"% \((\d+) of 80 samples wrong\)", out)
    assert wrong == 1 and accuracy == 98.8
    epochs, = _floats(r"at most 300 epochs: converged=True after (\d+) epochs, accuracy 100.0% "
                      r"\(0 of 80 samples wrong\)", out)
    assert 50 < epochs <= 300
    # scikit-learn's default tol stops short of 100 %; tol=None ends with every sample right
    default, = _floats(r"scikit-learn's defaults: accuracy " + NUMBER + "% after \\d+ epochs: "
                       r"the training loss did not improve by more than tol", out)
    assert default < 100
    _find(r"tol=None: accuracy 100.0% after 300 epochs", out)
    _find(r"XOR converged: False", out)


def check_02(book, out):
    # the "your turn" cells hold placeholders, not the solution
    turns = [c for c in book.cells if c.cell_type == "code" and c.source.startswith("# your turn")]
    assert len(turns) == 2
    for cell in turns:
        assert "= None" in cell.source and "sigma(" not in cell.source and "@" not in cell.source
    check_cell = next(i for i, c in enumerate(book.cells) if "def check(mine)" in c.source)
    assert _printed(book, check_cell).count("fill in above") == 10
    solution = next(c for c in book.cells if c.cell_type == "code" and "delta2 = (a2 - y)" in c.source)
    assert solution.metadata.get("jupyter", {}).get("source_hidden") is True
    assert "## Solution (open after trying)" in "".join(c.source for c in book.cells)
    # Mazur's worked example, and the solution agrees with mlplab.trace entry by entry
    _find(r"a⁽²⁾ = 0\.751365, δ⁽²⁾ = 0\.138499, δ⁽¹⁾ = \[0\.013368 0\.014996\], C = 0\.274811", out)
    assert _printed(book, book.cells.index(solution)).count(" ok\n") == 10
    _find(r"C = 0\.274811\n", out)
    _find(r"PASS: max", out)


def check_03(book, out):
    best, = _floats(r"alpha=1, eps=1e-4: stopped after \d+ epochs, outputs \[[^\]]*\], C = "
                    + NUMBER + r", accuracy 100%", out)
    assert best < 0.01
    rows = re.findall(r"eps=(\S+)\s+alpha=(\S+)\s*:\s+(\d+) epochs, (outputs \[[^\]]*\]), "
                      r"C = (\S+), accuracy (\d+)%", out)
    table = {(float(eps), float(alpha)): (int(e), line, float(c), int(acc))
             for eps, alpha, e, line, c, acc in rows}
    assert set(table) == {(eps, alpha) for eps in (1e-3, 1e-4) for alpha in (0.25, 0.5, 1.0)}
    for alpha in (0.25, 0.5, 1.0):
        # "with ε = 1e-3 every α stops within a few hundred epochs on the starting plateau: all
        # four outputs near 0.5, C near 0.125 and accuracy 50 %"
        epochs, line, cost, accuracy = table[1e-3, alpha]
        assert epochs < 1000 and accuracy == 50 and abs(cost - 0.125) < 0.005
        assert all(abs(v - 0.5) < 0.1 for v in _outputs(line))
        # "with ε = 1e-4 every α gets past the plateau and solves XOR"
        assert table[1e-4, alpha][3] == 100
    # exercise 3: "α = 20 still solves XOR, in fewer epochs than α = 1; α = 50 stops with three
    # outputs equal and α = 300 with all four at 1"
    e20, acc20 = _floats(r"alpha=20: (\d+) epochs, outputs \[[^\]]*\], C = \S+, accuracy (\d+)%", out)
    assert acc20 == 100 and e20 < table[1e-4, 1.0][0]
    line50, acc50 = _find(r"alpha=50: \d+ epochs, (outputs \[[^\]]*\]), C = \S+, accuracy (\d+)%", out)
    o50 = _outputs(line50)
    assert int(acc50) < 100 and o50[1] == o50[2] == o50[3] != o50[0]
    line300, = _find(r"alpha=300: \d+ epochs, (outputs \[[^\]]*\])", out)
    assert all(v == 1.0 for v in _outputs(line300))


def check_04(book, out):
    factors = [float(v) for v in _find(r"factor per layer going back: ([\d. ]+)\n", out)[0].split()]
    assert len(factors) == 5 and all(3 < f < 7 for f in factors)   # "between 3 and 7 per layer"
    first, = _floats(r"first / last hidden layer: " + NUMBER, out)
    sigmoid = _floats(r"\nsigmoid\s+" + r"\s+".join([NUMBER] * 3), out)
    relu = _floats(r"\nrelu\s+" + r"\s+".join([NUMBER] * 3), out)
    ratio = {(a, i): v for a, row in (("sigmoid", sigmoid), ("relu", relu))
             for i, v in zip(("normal", "lecun_normal", "he_normal"), row)}
    assert first == ratio["sigmoid", "lecun_normal"] < 1e-3                       # vanishes
    assert ratio["sigmoid", "lecun_normal"] < ratio["sigmoid", "he_normal"] < ratio["sigmoid", "normal"] < 1
    assert 100 * ratio["sigmoid", "lecun_normal"] < ratio["relu", "lecun_normal"] < 0.5  # ReLU alone
    assert 0.5 < ratio["relu", "he_normal"] < 2                                   # both: close to 1
    assert ratio["relu", "normal"] > 100                                          # explodes
    normal, lecun = _floats(r"\|z\| > 3: normal (\d+)%, lecun_normal (\d+)%", out)
    assert normal > 25 and lecun < 5                                              # saturation
    assert any("matplotlib" in c.source and "semilogy" in c.source for c in book.cells)


def check_05(book, out):
    plain = _floats(r"no regularization: train (\d+)%, test (\d+)%", out)
    l2 = _floats(r"L2 λ=0\.01:\s+train (\d+)%, test (\d+)%", out)
    assert plain[0] == 100 and plain[1] < plain[0]          # fits all 40, worse on new points
    assert l2[0] < plain[0] and l2[1] > plain[1]            # trades training accuracy for the test
    source = "".join(c.source for c in book.cells)
    assert "X_val, y_val = moons(" in source and "validation_data=(X_val, y_val)" in source


def check_06(book, out):
    error, = _floats(r"deep linear = one layer, to " + NUMBER, out)
    assert error < 1e-10
    rows = [tuple(map(float, r)) for r in re.findall(
        r"seed \d: accuracy on XOR ([\d.]+)%, outputs from ([\d.]+) to ([\d.]+)", out)]
    assert len(rows) == 5
    accuracies = [r[0] for r in rows]
    assert max(accuracies) <= 75 and min(accuracies) < 50 < max(accuracies)
    assert all(0.15 < low and high < 0.85 for _, low, high in rows)   # "between about 0.2 and 0.8"
    _find(r"best of 5000 straight lines: 75\.0%", out)
    net, line = _floats(r"one hidden tanh layer: ([\d.]+)% \| line in hidden space: ([\d.]+)%", out)
    assert net == line >= 95
    assert any("matplotlib" in c.source and "contour" in c.source for c in book.cells)


def check_07(book, out):
    _find(r"Conv2D\(1 → 8, 3, relu, padding='same'\)\s+output \(8, 8, 8\), 80 parameters", out)
    train, test = _floats(r"CNN: train accuracy ([\d.]+)%, test accuracy ([\d.]+)%", out)
    assert test > 90
    _find(r"PASS: max", out)
    mean, = _floats(r"predicting the mean: test MSE " + NUMBER, out)
    rnn, = _floats(r"SimpleRNN \(32 units, 10 epochs\): test MSE " + NUMBER, out)
    lstm, = _floats(r"LSTM\s+\(32 units, 10 epochs\): test MSE " + NUMBER, out)
    assert abs(mean - 1 / 6) < 0.02
    assert abs(rnn - mean) < 0.2 * mean          # "scores about what predicting the mean does"
    assert lstm < 0.1 * mean                     # "the LSTM learns the task"
    text = "".join(c.source for c in book.cells if c.cell_type == "markdown")
    assert "mlplab lab cnn" in text and "mlplab lab rnn" in text


CHECKS = {"01_neuron_perceptron": check_01, "02_forward_backward": check_02,
          "03_gradient_descent": check_03, "04_vanishing_gradients": check_04,
          "05_overfitting": check_05, "06_decision_boundaries": check_06, "07_cnn_rnn": check_07}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    book = nbformat.read(path, as_version=4)
    # the kernel inherits this environment: the repository's mlplab, one BLAS thread, no window
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(book, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # (no time is asserted: how long it takes depends on the machine's load)
    # what the text says is what the cells print
    CHECKS[path.stem](book, _printed(book))
