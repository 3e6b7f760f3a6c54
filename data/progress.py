"""The one progress bar of every long `kyb` job (tqdm), silenced by ``KYB_NO_PROGRESS=1``.

Tests and scripts that parse a command's output set the variable; a person at a terminal
sees the bar on standard error, gone once the work is done unless `leave` says otherwise.
"""

from __future__ import annotations

import os

from tqdm import tqdm

#: Set to "1" to silence every progress bar (tests, logs).
NO_PROGRESS_ENV = "KYB_NO_PROGRESS"


def progress_bar(iterable=None, enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm bar over `iterable` (or a manual one with `total`), off when not `enabled`
    or when ``KYB_NO_PROGRESS=1``; it leaves no line behind unless `leave=True`."""
    disabled = not enabled or os.environ.get(NO_PROGRESS_ENV) == "1"
    kwargs.setdefault("leave", False)
    return tqdm(iterable, disable=disabled, **kwargs)


def write_line(message: str) -> None:
    """Print a log line above any open bar without breaking it."""
    tqdm.write(message)
