"""The index bundle's storage: generations of files, checksummed, swapped in atomically.

```
INDEX/
  CURRENT                  "gen-000002 <sha256 of its manifest.json>"
  gen-000001/              an older generation (kept a while for readers that opened it)
  gen-000002/
    manifest.json          format, format_version, preset, parameters, versions, counts,
                           and every other file's size and sha256
    ...                    the files the index writes (see matching/index.py)
  .lock                    held by writers only
```

Why generations: `kyb index add` must never block or break a running reader (the
server). A writer builds a complete new generation in a temporary folder beside the
others, fsyncs it, renames it into place and then swaps the one-line CURRENT pointer
with an atomic rename. A reader resolves CURRENT once and keeps using its generation;
a crash at any moment leaves CURRENT naming a complete generation. Unchanged large files
are hard-linked from the previous generation instead of copied. Writers exclude each
other with an flock on ``.lock``; readers take no lock.

Opening checks everything before anything is used: the pointer, the manifest's own
checksum (recorded in CURRENT), the format and its version, and each file's size and
sha256. Any failure is a `BundleError` whose message says what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "kyb-index"
#: Bumped on any change old readers would misread; readers refuse other versions.
FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
LOCK = ".lock"
TEMP_PREFIX = ".tmp-gen-"
#: Generations kept besides the current one, for readers that opened them before a swap.
KEEP_OLD = 2
_GENERATION = re.compile(r"^gen-(\d{6,})$")


class BundleError(RuntimeError):
    """The bundle is missing, corrupt or of another format version; the message says which."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_path(path: Path) -> None:
    """fsync a file or a directory (a directory's entries must be synced for a rename to last)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _generation_names(root: Path) -> list[str]:
    """Generation folder names under `root`, oldest first."""
    names = [p.name for p in root.iterdir() if p.is_dir() and _GENERATION.match(p.name)]
    return sorted(names, key=lambda name: int(_GENERATION.match(name).group(1)))


def is_bundle(root: str | os.PathLike) -> bool:
    return (Path(root) / CURRENT).is_file()


@dataclass(frozen=True)
class Generation:
    """One opened, verified generation of a bundle (read-only)."""

    root: Path
    name: str
    manifest: dict

    @property
    def path(self) -> Path:
        return self.root / self.name

    def file(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            raise BundleError(f"{self.path}: the manifest lists no file {name!r}")
        return self.path / name

    def array(self, name: str) -> np.ndarray:
        """A stored .npy array, read whole."""
        return np.load(self.file(name), allow_pickle=False)

    def rows(self, name: str) -> StoredRows:
        """A stored .npy array whose rows are read only when asked for (`StoredRows`)."""
        return StoredRows(self.file(name))

    def json(self, name: str):
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    def bytes(self, name: str) -> bytes:
        return self.file(name).read_bytes()


def _read_pointer(root: Path) -> tuple[str, str]:
    if not root.is_dir():
        raise BundleError(f"{root}: no index bundle here (not a directory)")
    try:
        text = (root / CURRENT).read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise BundleError(f"{root}: not an index bundle (no {CURRENT} file); "
                          "build one with `kyb index build`") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{root}/{CURRENT}: unreadable ({exc}); the bundle is corrupt") from exc
    parts = text.split()
    if len(parts) != 2 or not _GENERATION.match(parts[0]) or not re.fullmatch(r"[0-9a-f]{64}", parts[1]):
        raise BundleError(f"{root}/{CURRENT}: malformed pointer {text[:80]!r}; the bundle is corrupt")
    return parts[0], parts[1]


def open_generation(root: str | os.PathLike, verify: bool = True) -> Generation:
    """Open the current generation of the bundle at `root`, checking it (see module doc).

    `verify=False` skips the sha256 of the data files (sizes are still checked); the
    manifest's checksum is always checked.
    """
    root = Path(root)
    name, manifest_sha = _read_pointer(root)
    path = root / name
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"{manifest_path}: missing; the bundle is corrupt (rebuild it)")
    if sha256_file(manifest_path) != manifest_sha:
        raise BundleError(f"{manifest_path}: checksum mismatch; the bundle is corrupt (rebuild it)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BundleError(f"{manifest_path}: not valid JSON ({exc}); the bundle is corrupt") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: not a {FORMAT} bundle")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {version!r}, but this program reads version "
                          f"{FORMAT_VERSION}; rebuild the index with `kyb index build`")
    for file_name, info in manifest.get("files", {}).items():
        file_path = path / file_name
        if not file_path.is_file():
            raise BundleError(f"{file_path}: missing; the bundle is corrupt (rebuild it)")
        if file_path.stat().st_size != info["bytes"]:
            raise BundleError(f"{file_path}: size {file_path.stat().st_size} differs from the manifest's "
                              f"{info['bytes']}; the bundle is corrupt (rebuild it)")
        if verify and sha256_file(file_path) != info["sha256"]:
            raise BundleError(f"{file_path}: checksum mismatch; the bundle is corrupt (rebuild it)")
    return Generation(root, name, manifest)


class GenerationWriter:
    """Write one new generation; use as a context manager and call `commit` at the end.

    Leaving the block without `commit` (an exception, a crash) discards the temporary
    folder and leaves the bundle exactly as it was.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._checksums: dict[str, dict] = {}
        self._lock = None
        self.temp: Path | None = None

    def __enter__(self) -> GenerationWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.root / LOCK, "a+")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        for stale in self.root.glob(f"{TEMP_PREFIX}*"):  # left by a writer that crashed
            shutil.rmtree(stale, ignore_errors=True)
        self.temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=self.root))
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self.temp is not None and self.temp.exists():
                shutil.rmtree(self.temp, ignore_errors=True)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def path(self, name: str) -> Path:
        """Where to write file `name` (parent folders are created)."""
        target = self.temp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def save_array(self, name: str, array: np.ndarray) -> None:
        with open(self.path(name), "wb") as handle:
            np.save(handle, np.asarray(array), allow_pickle=False)

    def save_json(self, name: str, value) -> None:
        self.path(name).write_text(json.dumps(value, indent=1, sort_keys=True), encoding="utf-8")

    def save_bytes(self, name: str, data: bytes) -> None:
        self.path(name).write_bytes(data)

    def reuse(self, name: str, source: Generation) -> None:
        """Take `name` unchanged from `source`: a hard link (a copy where links fail)."""
        target = self.path(name)
        try:
            os.link(source.file(name), target)
        except OSError:
            shutil.copy2(source.file(name), target)
        self._checksums[name] = source.manifest["files"][name]

    def commit(self, manifest: dict) -> Generation:
        """Checksum, fsync and publish the generation; returns it opened."""
        files = {}
        for path in sorted(p for p in self.temp.rglob("*") if p.is_file()):
            name = path.relative_to(self.temp).as_posix()
            files[name] = self._checksums.get(name) or {"bytes": path.stat().st_size,
                                                       "sha256": sha256_file(path)}
            _fsync_path(path)
        full = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest, "files": files}
        self.save_json(MANIFEST, full)
        _fsync_path(self.temp / MANIFEST)
        for folder in sorted({p.parent for p in self.temp.rglob("*")}, key=lambda p: -len(p.parts)):
            _fsync_path(folder)
        existing = _generation_names(self.root)
        number = int(_GENERATION.match(existing[-1]).group(1)) + 1 if existing else 1
        name = f"gen-{number:06d}"
        os.rename(self.temp, self.root / name)
        _fsync_path(self.root)
        pointer = self.root / f"{CURRENT}.tmp"
        with open(pointer, "w", encoding="ascii") as handle:
            handle.write(f"{name} {sha256_file(self.root / name / MANIFEST)}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer, self.root / CURRENT)
        _fsync_path(self.root)
        self.temp = None
        for old in _generation_names(self.root)[:-(KEEP_OLD + 1)]:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.root / old)
        return Generation(self.root, name, full)


class StoredRows:
    """The rows of a stored .npy array, read on demand with `os.pread`: nothing is loaded
    or mapped.

    Why not a memory map: a touched page of a mapped file counts in the resident memory
    of every process that maps it, and where the file sits in the page cache in large
    folios (just written, or read ahead) one touch maps the whole folio, so a server's
    workers each seemed to hold gigabytes of a million-reference keypoint store.
    Read through the page cache, the workers share one cached copy and each holds only
    the few kilobytes it reads.
    """

    def __init__(self, path: Path):
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran_order, dtype = read_header(file)
            self.offset = file.tell()
        if dtype.hasobject or not shape or (fortran_order and len(shape) > 1):
            raise BundleError(f"{path}: not an array of rows of numbers in C order; rebuild the bundle")
        self.path, self.dtype, self.shape = path, dtype, tuple(shape)
        self.row_bytes = dtype.itemsize * int(np.prod(shape[1:]))
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, count: int) -> np.ndarray:
        """Rows start .. start + count - 1, a read-only array of their own."""
        if start < 0 or count < 0 or start + count > len(self):
            raise IndexError(f"rows {start}..{start + count} of {self.path}, which has {len(self)}")
        size = count * self.row_bytes
        data = os.pread(self._fd, size, self.offset + start * self.row_bytes)
        if len(data) != size:
            raise BundleError(f"{self.path}: shorter than its header says; the bundle is damaged")
        return np.frombuffer(data, self.dtype).reshape((count, *self.shape[1:]))
