"""The packages' imports point down ARCHITECTURE.md's layers and never up or sideways.

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
    "retrieval": {"data", "features", "detector", "matching"},
    "server": {"data", "features", "detector", "matching", "retrieval"},
    "scraper": {"data", "features", "detector", "matching", "retrieval"},
    "kyb": {"data", "features", "detector", "matching", "retrieval", "server", "scraper"},
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
