"""Where the real training material lives: `../shared/train-real` (or $KYB_TRAIN_REAL_DIR).

Real photographs and real band logo designs make the synthetic world look like the real
one; they are read in place, never copied into the repository. A plain clone has no
such folder: the generator then falls back to what the machine has, and says so once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TRAIN_REAL_ENV = "KYB_TRAIN_REAL_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
_SAID = {"warned": False, "silent": False}


def train_real_dir() -> Path | None:
    """The train-real folder ($KYB_TRAIN_REAL_DIR, else <repo>/../shared/train-real), or None."""
    folder = Path(os.environ.get(TRAIN_REAL_ENV) or REPO_ROOT.parent / "shared" / "train-real")
    return folder if folder.is_dir() else None


def warn_missing_once() -> None:
    """One line on stderr per process: real material is absent, the fallback is used."""
    if _SAID["warned"] or _SAID["silent"]:
        return
    _SAID["warned"] = True
    where = os.environ.get(TRAIN_REAL_ENV) or REPO_ROOT.parent / "shared" / "train-real"
    print(f"kyb synth: no real training material at {where}: using the machine's photographs "
          "and generated logo designs only", file=sys.stderr)


def silence_warnings() -> None:
    """No more of those lines in this process (a worker: its parent has said so already)."""
    _SAID["silent"] = True
