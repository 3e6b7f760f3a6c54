"""Model files as one ``.npz``: a JSON header beside named arrays.

Why one module: the detector (detector/io.py) and the logo descriptor
(features/logo_descriptor.py) both ship their weights this way, and both need the same
two guarantees. A file is written atomically (a killed process leaves the old file, never
half a new one), and every way a file can be unreadable (missing, truncated, not a zip, a
corrupt header) becomes one error of the caller's type whose message names the file.
What a header must contain is the caller's business.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

#: What reading a damaged archive raises, from numpy's loader or its zip reader.
READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def write_npz(path: str | Path, header: dict, arrays: dict[str, np.ndarray], *, header_key: str,
              compressed: bool = False) -> Path:
    """Write `header` (as UTF-8 JSON under `header_key`) and `arrays` to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = {header_key: np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8), **arrays}
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        (np.savez_compressed if compressed else np.savez)(handle, **entries)
    os.replace(partial, path)
    return path


def open_npz(path: str | Path, *, header_key: str, error: type[Exception],
             what: str) -> tuple[dict, np.lib.npyio.NpzFile]:
    """The decoded header (a dict) and the open archive, for the caller to check and read.

    Raises `error` naming `path` and `what` the file should have been when it is missing,
    not a readable archive, or has no header or a corrupt one.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} file not found")
    try:
        archive = np.load(path, allow_pickle=False)
    except READ_ERRORS as exc:
        raise error(f"{path}: not a {what} file (not a readable .npz archive, perhaps truncated "
                    f"or corrupt: {exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile) or header_key not in archive.files:
        raise error(f"{path}: not a {what} file (no {header_key} entry)")
    try:
        header = json.loads(archive[header_key].tobytes().decode("utf-8"))
    except (*READ_ERRORS, UnicodeDecodeError) as exc:
        archive.close()
        raise error(f"{path}: the {what} header is corrupt ({exc})") from exc
    if not isinstance(header, dict):
        archive.close()
        raise error(f"{path}: the {what} header is corrupt (not a JSON object)")
    return header, archive
