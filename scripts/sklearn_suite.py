"""Run scikit-learn's own tests for its MLP and its Perceptron against mlplab's estimators.

    python scripts/sklearn_suite.py [mlp] [perceptron] [--json OUT.json] [--device DEVICE]

The test files are read from the *installed* scikit-learn at run time
(``sklearn/neural_network/tests/test_mlp.py``, ``sklearn/linear_model/tests/test_perceptron.py``);
no copy lives in this repository. Only their import line changes, to mlplab's classes. The
modified file goes to a temporary folder with a small ``conftest.py`` that supplies what
scikit-learn's own conftest would (the ``global_random_seed`` fixture, seed 42 unless
``SKLEARN_TESTS_GLOBAL_RANDOM_SEED`` says otherwise), deselects the tests listed in
``LEFT_OUT`` (each with the reason, printed), and records every outcome. pytest runs in a
subprocess, without xdist or its cache.

``--device torch`` (or ``cuda``) runs the MLP file against estimators whose ``device``
defaults to it: subclasses written next to the test file, with scikit-learn's view of their
parameters unchanged but for that default.

Prints one line per test and a summary; exits 0 only when every test that is not left out
passed (and every left-out name still exists in the file), 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Suite:
    """One test file of scikit-learn, and how it is pointed at mlplab."""

    name: str
    path: str                      # relative to the installed sklearn package
    imports: dict[str, str]        # scikit-learn's import line -> mlplab's
    left_out: dict[str, str] = field(default_factory=dict)  # test function -> why


SUITES = {
    "mlp": Suite(
        "mlp", "neural_network/tests/test_mlp.py",
        {"from sklearn.neural_network import MLPClassifier, MLPRegressor":
         "from mlplab import MLPClassifier, MLPRegressor"},
        left_out={},
    ),
    "perceptron": Suite(
        "perceptron", "linear_model/tests/test_perceptron.py",
        {"from sklearn.linear_model import Perceptron": "from mlplab import Perceptron"},
    ),
}

CONFTEST = '''\
"""Written by mlplab's scripts/sklearn_suite.py: what scikit-learn's conftest would supply."""
import json
import os

import pytest

LEFT_OUT = json.loads({left_out!r})
RESULTS = {results!r}
outcomes = {{}}


def pytest_generate_tests(metafunc):
    # scikit-learn's rule: seed 42, or the SKLEARN_TESTS_GLOBAL_RANDOM_SEED value/range/"all"
    if "global_random_seed" in metafunc.fixturenames:
        spec = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
        if spec is None:
            seeds = [42]
        elif spec == "all":
            seeds = list(range(100))
        else:
            lo, _, hi = spec.partition("-")
            seeds = list(range(int(lo), int(hi or lo) + 1))
        metafunc.parametrize("global_random_seed", seeds)


def pytest_collection_modifyitems(config, items):
    left = [item for item in items if item.originalname in LEFT_OUT]
    for item in left:
        outcomes[item.nodeid] = {{"outcome": "left out", "why": LEFT_OUT[item.originalname]}}
    config.hook.pytest_deselected(items=left)
    items[:] = [item for item in items if item.originalname not in LEFT_OUT]


def pytest_runtest_logreport(report):
    entry = outcomes.setdefault(report.nodeid, {{"outcome": "passed", "why": "", "seconds": 0.0}})
    entry["seconds"] = entry.get("seconds", 0.0) + report.duration
    if report.skipped:
        entry["outcome"] = "skipped"
        entry["why"] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    elif report.failed:
        entry["outcome"] = "failed" if report.when == "call" else "error"
        crash = getattr(report.longrepr, "reprcrash", None)
        entry["why"] = (crash.message if crash else str(report.longrepr)).splitlines()[0][:300]


def pytest_sessionfinish(session):
    with open(RESULTS, "w") as f:
        json.dump(outcomes, f, indent=1)
'''


ON_DEVICE = '''\
"""Written by mlplab's scripts/sklearn_suite.py: mlplab's MLPs, device={device!r} by default."""
import inspect

import mlplab


def _on_device(base):
    signature = inspect.signature(base.__init__)
    signature = signature.replace(parameters=[
        p.replace(default={device!r}) if p.name == "device" else p
        for p in signature.parameters.values()])

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        base.__init__(*bound.args, **bound.kwargs)

    __init__.__signature__ = signature  # what scikit-learn's get_params reads
    return type(base.__name__, (base,), {{"__init__": __init__, "__module__": __name__}})


MLPClassifier, MLPRegressor = _on_device(mlplab.MLPClassifier), _on_device(mlplab.MLPRegressor)
'''


def installed_test_file(suite: Suite) -> Path:
    """The test file inside the installed scikit-learn (found without importing it)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise SystemExit("error: scikit-learn is not installed: pip install scikit-learn")
    path = Path(spec.origin).parent / suite.path
    if not path.is_file():
        raise SystemExit(f"error: {path} is missing: this scikit-learn was installed without "
                         "its tests (reinstall it from a wheel, which ships them)")
    return path


def pointed_at_mlplab(suite: Suite, source: str) -> str:
    """The test file's text with scikit-learn's import lines swapped for mlplab's."""
    for old, new in suite.imports.items():
        count = source.count(old + "\n")
        if count != 1:
            raise SystemExit(f"error: {suite.path} holds {count} copies of {old!r} (expected 1): "
                             "this scikit-learn's tests changed; update SUITES in "
                             "scripts/sklearn_suite.py")
        source = source.replace(old + "\n", new + "\n")
    return source


def run_suite(suite: Suite, folder: Path, device: str | None = None) -> dict[str, dict]:
    """Write the suite into ``folder``, run pytest on it, return {test id: outcome}."""
    source = pointed_at_mlplab(suite, installed_test_file(suite).read_text())
    if device is not None:  # the same classes, with another default device
        (folder / "mlplab_on_device.py").write_text(ON_DEVICE.format(device=device))
        source = source.replace("from mlplab import", "from mlplab_on_device import")
    test_file = folder / f"test_{suite.name}_vs_mlplab.py"
    test_file.write_text(source)
    results = folder / "results.json"
    (folder / "conftest.py").write_text(CONFTEST.format(left_out=json.dumps(suite.left_out),
                                                        results=str(results)))
    (folder / "pytest.ini").write_text("[pytest]\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")  # the suites' matrices are small: one BLAS thread is fastest
    cmd = [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
           "-p", "no:xdist", "-p", "no:randomly", "-c", str(folder / "pytest.ini"),
           "--rootdir", str(folder)]
    if hasattr(pytest, "PytestRemovedIn9Warning"):  # pytest 9.0 makes them errors; 9.1 drops it
        cmd += ["-W", "ignore::pytest.PytestRemovedIn9Warning"]
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
    if not results.is_file():  # pytest failed before the session ended (an import error)
        raise SystemExit(f"error: pytest did not run {suite.path}:\n{proc.stdout}{proc.stderr}")
    outcomes = json.loads(results.read_text())
    return {test_id.split("::", 1)[1]: entry for test_id, entry in outcomes.items()}


def report(suite: Suite, outcomes: dict[str, dict], device: str | None = None) -> bool:
    """Print one line per test and the summary; True when the suite passed."""
    import sklearn

    label = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP",
             "left out": "LEFT OUT"}
    for test_id, entry in outcomes.items():
        why = f"  ({entry['why']})" if entry["why"] else ""
        secs = f" {entry['seconds']:.2f} s" if "seconds" in entry else ""
        print(f"{label[entry['outcome']]:8} {test_id}{secs}{why}")
    counts = {kind: sum(e["outcome"] == kind for e in outcomes.values()) for kind in label}
    seen = {test_id.split("[")[0] for test_id in outcomes}
    stale = sorted(set(suite.left_out) - seen)
    for name in stale:
        print(f"STALE    {name}: listed in LEFT_OUT but not in scikit-learn's file")
    total = len(outcomes)
    on = f" on device={device!r}" if device is not None else ""
    print(f"{suite.name}{on}: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['error']} errors, {counts['skipped']} skipped, {counts['left out']} left out "
          f"(of {total}; scikit-learn {sklearn.__version__}, {suite.path})")
    return counts["passed"] > 0 and not (counts["failed"] or counts["error"] or stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", metavar="SUITE",
                        help=f"any of {', '.join(SUITES)} (default: all)")
    parser.add_argument("--json", type=Path, help="also write every outcome to this file")
    parser.add_argument("--device", help="the MLPs' default device (torch, cuda, cuda:N); "
                                         "the mlp suite only")
    args = parser.parse_args(argv)
    unknown = set(args.suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown suite {sorted(unknown)[0]!r}; choose from {', '.join(SUITES)}")
    if args.device is not None and set(args.suites or SUITES) != {"mlp"}:
        parser.error("--device applies to the mlp suite only: python scripts/sklearn_suite.py "
                     "mlp --device torch")
    ok, everything = True, {}
    for name in args.suites or SUITES:
        with tempfile.TemporaryDirectory(prefix=f"sklearn-{name}-") as tmp:
            outcomes = run_suite(SUITES[name], Path(tmp), args.device)
        ok &= report(SUITES[name], outcomes, args.device)
        everything[name] = outcomes
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
