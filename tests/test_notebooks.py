"""The notebooks under notebooks/ run top to bottom, each well within a minute (nbclient)."""

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install 'mlplab[test]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="pip install 'mlplab[test]' (nbclient)")
pytest.importorskip("ipykernel", reason="pip install 'mlplab[test]' (ipykernel)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_one_notebook_per_lecture_part():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_neuron_perceptron", "02_forward_backward", "03_gradient_descent",
                     "04_vanishing_gradients", "05_overfitting", "06_decision_boundaries"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        text = "".join(c.source for c in book.cells if c.cell_type == "markdown")
        assert "Exercises" in text, path.name
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), \
            f"{path.name}: commit notebooks without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    book = nbformat.read(path, as_version=4)
    # the kernel inherits this environment: the repository's mlplab, one BLAS thread, no window
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    start = time.perf_counter()
    client = nbclient.NotebookClient(book, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    assert time.perf_counter() - start < 60, f"{path.name} took over a minute"
