"""Reference extractions on disk: one file per chunk of references, read back exactly.

Why: a build's cost is the extraction of its references (CNN passes over every copy,
SIFT); the fit that follows is minutes. Writing each chunk's extractions as soon as it
is done lets a killed build resume where it stopped, and lets shards extracted on other
processes or machines be fitted together as if one process had extracted them all.
Arrays are stored as they are (float32), so a reloaded extraction encodes to the very
vector the original would. The file is written atomically (`features.npz_file`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from features.extract import Extraction
from features.local import LocalFeatures
from features.npz_file import READ_ERRORS, open_npz, write_npz

HEADER_KEY = "__extractions__"
#: Extraction fields holding local features, and those holding one global vector.
LOCAL_FIELDS = ("sift", "conv5", "ink")
VECTOR_FIELDS = ("gem", "learned")


class ExtractionFileError(ValueError):
    """A chunk file is missing, damaged or not one of ours."""


@dataclass
class ChunkExtractions:
    """The extractions of a chunk of references: per reference, its image's (height,
    width) and its list of extractions (`features.reference_vector`)."""

    ref_ids: list[int]
    sizes: list[tuple[int, int]]
    extractions: list[list[Extraction]]


def save_chunk(path: str | Path, chunk: ChunkExtractions, tag: str) -> Path:
    """Write `chunk` to `path` atomically; `tag` (the build's fingerprint) is stored with it."""
    flat = [extraction for copies in chunk.extractions for extraction in copies]
    if any(extraction.inverted is not None for extraction in flat):
        raise ValueError("reference extractions have no inverted view to store")
    arrays = {"width": np.array([e.width for e in flat], np.int64),
              "height": np.array([e.height for e in flat], np.int64)}
    for name in LOCAL_FIELDS:
        parts = [getattr(e, name) for e in flat]
        present = [p for p in parts if p is not None]
        arrays[f"{name}.counts"] = np.array([-1 if p is None else len(p) for p in parts], np.int64)
        if present:
            arrays[f"{name}.keypoints"] = np.concatenate([p.keypoints for p in present])
            arrays[f"{name}.descriptors"] = np.concatenate([p.descriptors for p in present])
    for name in VECTOR_FIELDS:
        vectors = [getattr(e, name) for e in flat]
        arrays[f"{name}.present"] = np.array([v is not None for v in vectors], bool)
        if any(v is not None for v in vectors):
            arrays[f"{name}.vectors"] = np.stack([v for v in vectors if v is not None])
    header = {"tag": tag, "ref_ids": [int(r) for r in chunk.ref_ids],
              "sizes": [[int(h), int(w)] for h, w in chunk.sizes],
              "copies": [len(copies) for copies in chunk.extractions]}
    return write_npz(path, header, arrays, header_key=HEADER_KEY)


def load_chunk(path: str | Path, tag: str) -> ChunkExtractions:
    """The chunk saved at `path`; `ExtractionFileError` when it is unreadable or was
    written by a build with another fingerprint than `tag`."""
    header, archive = open_npz(path, header_key=HEADER_KEY, error=ExtractionFileError,
                               what="reference extractions")
    with archive:
        if header.get("tag") != tag:
            raise ExtractionFileError(f"{path}: extracted by another build (fingerprint "
                                      f"{str(header.get('tag'))[:12]}, this build's {tag[:12]})")
        try:
            arrays = {name: archive[name] for name in archive.files if name != HEADER_KEY}
        except READ_ERRORS as exc:
            raise ExtractionFileError(f"{path}: damaged ({exc}); delete it and build again") from exc
    flat = [Extraction(int(w), int(h)) for w, h in zip(arrays["width"], arrays["height"], strict=True)]
    for name in LOCAL_FIELDS:
        _fill_local(flat, name, arrays)
    for name in VECTOR_FIELDS:
        rows = iter(arrays.get(f"{name}.vectors", ()))
        for extraction, present in zip(flat, arrays[f"{name}.present"], strict=True):
            if present:
                setattr(extraction, name, next(rows))
    per_ref, start = [], 0
    for count in header["copies"]:
        per_ref.append(flat[start:start + count])
        start += count
    return ChunkExtractions(header["ref_ids"], [tuple(size) for size in header["sizes"]], per_ref)


def _fill_local(flat: Sequence[Extraction], name: str, arrays: dict[str, np.ndarray]) -> None:
    """Set field `name` of each extraction from the concatenated arrays and their counts."""
    start = 0
    for extraction, count in zip(flat, arrays[f"{name}.counts"].tolist(), strict=True):
        if count < 0:
            continue
        setattr(extraction, name, LocalFeatures(arrays[f"{name}.keypoints"][start:start + count],
                                                arrays[f"{name}.descriptors"][start:start + count]))
        start += count
