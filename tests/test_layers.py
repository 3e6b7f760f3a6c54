"""The layout holds: imports point down ARCHITECTURE.md's layers, never up or sideways,
and no module grows past 400 lines.

Every import statement of every module is read (those inside functions too, which is
where TensorFlow-heavy imports hide), so a shortcut taken anywhere fails here.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Each package and the packages of ours it may import (besides itself).
ALLOWED = {
    "data": set(),
    "features": {"data"},
    "detector": {"data", "features"},
    "matching": {"data", "features"},
    "text": {"data"},
    "retrieval": {"data", "features", "detector", "matching", "text"},
    "server": {"data", "features", "detector", "matching", "text", "retrieval"},
    "scraper": {"data", "features", "detector", "matching", "text", "retrieval"},
    "kyb": {"data", "features", "detector", "matching", "text", "retrieval", "server", "scraper"},
}


def imported_packages(path: Path) -> set[str]:
    """Our top-level packages that the module at `path` imports, anywhere in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("import numpy\n\ndef f():\n    from retrieval.pipeline import Pipeline\n")
    assert imported_packages(module) == {"retrieval"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down_the_layers(package):
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = imported_packages(path) - ALLOWED[package] - {package}
        if extra:
            wrong[str(path.relative_to(ROOT))] = sorted(extra)
    assert not wrong, f"imports that point up or sideways: {wrong}"


def test_no_module_is_over_400_lines():
    """Small modules with one job each: a module past 400 lines is doing two."""
    folders = [*ALLOWED, "tests", "benchmarks"]
    long = {str(path.relative_to(ROOT)): count for folder in folders for path in (ROOT / folder).rglob("*.py")
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"
