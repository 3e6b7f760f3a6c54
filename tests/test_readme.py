"""The README's map of the query is right: each file it names exists and defines the
functions and classes named beside it (a newcomer follows it to the code)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def step_rows() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("Where each step of a query lives", 1)[1].split("\n\n", 2)[1]
    return [line for line in table.splitlines() if re.match(r"\| \d ", line)]


def defined_names(path: Path) -> set[str]:
    """Top-level functions and classes, and methods as Class.method."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(f"{node.name}.{item.name}" for item in node.body
                         if isinstance(item, ast.FunctionDef))
    return names


def test_the_readme_names_where_each_of_the_five_steps_lives():
    rows = step_rows()
    assert [row.split("|")[1].strip()[0] for row in rows] == list("12345")
    for row in rows:
        where = row.split("|")[3]
        # `file.py` (`Name`, `Other`): each name must be defined in the file before it.
        for path, names in re.findall(r"`([\w/]+\.py)`(?: \(([^)]*)\))?", where):
            assert (ROOT / path).is_file(), f"README names {path}, which does not exist"
            for name in re.findall(r"`([\w.]+)`", names):
                assert name in defined_names(ROOT / path), f"README: {path} has no {name}"
