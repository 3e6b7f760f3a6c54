"""Where the band database lives when nobody says otherwise.

`KYB_DATABASE_URL` picks the database (ARCHITECTURE.md: a SQLAlchemy URL, MySQL/MariaDB
through pymysql or SQLite). Without it a developer still gets a working embedded
database: `sqlite:///<data dir>/kyb.sqlite`, the data dir being `$KYB_DATA_DIR` or
`~/.local/share/kyb`. Kept apart from the store so the CLI can show the resolved
location without opening anything.
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_URL_ENV = "KYB_DATABASE_URL"
DATA_DIR_ENV = "KYB_DATA_DIR"


def data_dir() -> Path:
    """The per-user folder for the embedded database and the image store."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "kyb"


def database_url() -> str:
    """`$KYB_DATABASE_URL`, or the embedded SQLite file in the data dir."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{data_dir() / 'kyb.sqlite'}"
