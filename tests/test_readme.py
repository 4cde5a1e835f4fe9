"""The README stays true: its lecture-to-code table points at the lines that compute each
equation (scripts/lecture_table.py), and the commands and files it names exist."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_lecture_table_points_at_the_lines_that_compute_each_equation():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "lecture_table.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert README.count("](mlplab/") >= 15


def test_every_file_the_readme_links_exists():
    links = re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", README)
    assert links, "the README links its docs"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing


def test_the_readme_is_short():
    assert len(README) < 12_000, f"{len(README)} characters"


def test_the_readmes_python_runs_and_prints_what_it_says(tmp_path):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "converged: every |ΔW|, |Δb| < ε = 0.0001 after 18267 epochs"
    assert lines[1] == "1.0"
    assert (tmp_path / "xor.safetensors").exists()
    assert float(result.stdout.split("Network(")[0].split()[-1]) > 0.95  # the digits' score
