"""The image store: downloaded logos and covers, one file per distinct content.

Files are named `<sha256>.<ext>` (the extension of the decoded format), in a
subfolder named by the hash's first two hex digits so that no folder grows to a
hundred thousand entries. The name is the content, so the same image reached from two
URLs is stored once, and re-running a killed scrape rewrites nothing. Writes go to a
temporary file renamed into place: a file under its final name is always complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from retrieval.images import ImageFacts, NotAnImage, describe_image

#: Largest download accepted as a logo or cover (real ones are well under 2 MB).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_PARTIAL_PREFIX = ".incoming-"


class ImageRefused(ValueError):
    """Bytes not stored: not a decodable image, or over the size cap."""


@dataclass(frozen=True)
class StoredImage:
    path: Path
    facts: ImageFacts
    new: bool  # False where an identical file was already in the store


class ImageStore:
    """A folder of content-addressed images."""

    def __init__(self, root: str | Path, max_bytes: int = DEFAULT_MAX_BYTES):
        self.root = Path(root).expanduser().resolve()
        self.max_bytes = max_bytes

    def sweep_partial_files(self, older_than_s: float = 3600.0) -> int:
        """Delete temporary files a killed run left behind. Only old ones: a file being
        written right now by another process is seconds old at most."""
        removed = 0
        cutoff = time.time() - older_than_s
        for partial in self.root.glob(f"??/{_PARTIAL_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()
                    removed += 1
        return removed

    def path_for(self, facts: ImageFacts) -> Path:
        return self.root / facts.sha256[:2] / f"{facts.sha256}.{facts.extension}"

    def add(self, data: bytes) -> StoredImage:
        """Validate `data` as an image and store it once; raise ImageRefused otherwise."""
        if len(data) > self.max_bytes:
            raise ImageRefused(f"{len(data)} bytes is over the {self.max_bytes}-byte cap")
        try:
            facts = describe_image(data)
        except NotAnImage as exc:
            raise ImageRefused(str(exc)) from exc
        path = self.path_for(facts)
        if path.exists():
            return StoredImage(path, facts, new=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=_PARTIAL_PREFIX)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return StoredImage(path, facts, new=True)
