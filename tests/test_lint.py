"""The code passes the project's lint (`make lint`: ruff, configured in pyproject.toml), so
`make test`, which CI runs, also fails on a lint slip."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent


def test_the_code_passes_ruff():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        skip_or_fail("ruff is not installed (pip install -e '.[dev]')")
    checked = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
