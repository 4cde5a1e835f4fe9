"""The package's shape: dependencies point one way, no import cycles, small functions and
modules. Read from the source with ``ast`` (imports inside functions count too)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "mlplab"
# each package may import only those of a lower level (and itself)
LEVELS = {"errors": 0, "extras": 0, "core": 1, "accel": 2, "train": 3, "datasets": 4, "io": 5,
          "sklearn": 6, "lab": 7, "apps": 8}
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The mlplab modules ``name`` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mlplab"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("mlplab"):
                mod = node.module
            else:
                continue
            for alias in node.names:  # `from . import x` may name a module
                sub = f"{mod}.{alias.name}"
                found.add(sub if sub in MODULES else mod)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _level(name: str) -> int | None:
    parts = name.split(".")
    return LEVELS.get(parts[1]) if len(parts) > 1 else None


def test_every_package_has_a_level():
    top = {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    assert top - {"__main__"} <= set(LEVELS), f"give {sorted(top - set(LEVELS))} a level"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _level(n) is not None))
def test_dependencies_point_one_way(name):
    mine = _level(name)
    upward = sorted(dep for dep in GRAPH[name]
                    if _level(dep) is not None and _level(dep) > mine)
    assert not upward, (f"{name} (level {mine}) imports {upward}: only packages below it "
                        f"({', '.join(k for k, v in LEVELS.items() if v < mine)}) may be imported")


def test_no_import_cycles():
    # a package's __init__ importing its own submodules is not a cycle between concepts
    edges = {a: {b for b in deps if b in GRAPH and not b.startswith(a + ".")}
             for a, deps in GRAPH.items()}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    cross = [c for c in cycles if len({_top(m) for m in c}) > 1 or not _within_package(c)]
    assert not cross, "import cycles:\n" + "\n".join(" → ".join(c) for c in cross)


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _within_package(cycle) -> bool:
    """A cycle through a package's __init__ and its own submodules (``from . import X``)."""
    return any(all(m == pkg or m.startswith(pkg + ".") for m in cycle)
               and pkg in cycle for pkg in cycle)


def test_functions_and_modules_stay_small():
    too_long = []
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines (module)")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {n} lines (function)")
    assert not too_long, "\n".join(too_long)


def test_the_core_imports_no_accelerator_and_nothing_above_it():
    for name in MODULES:
        if name.startswith("mlplab.core"):
            assert not any(dep.startswith(("mlplab.accel", "mlplab.train", "mlplab.io"))
                           for dep in GRAPH[name]), name
