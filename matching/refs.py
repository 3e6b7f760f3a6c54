"""The index's id map: one row per reference, in the order references were indexed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data.dataset import Reference

REF_DTYPE = np.dtype([("ref_id", "<i8"), ("band_id", "<i8"), ("album_id", "<i8"), ("kind", "<U5"),
                      ("width", "<i4"), ("height", "<i4")])
#: `album_id` of a reference that belongs to no album (a logo).
NO_ALBUM = -1


def ref_rows(references: Sequence[Reference], sizes: Sequence[tuple[int, int]]) -> np.ndarray:
    """Id-map rows for `references`, with their images' (height, width) `sizes`."""
    rows = np.zeros(len(references), REF_DTYPE)
    for row, (ref, (height, width)) in zip(rows, zip(references, sizes, strict=True), strict=True):
        row["ref_id"], row["band_id"] = ref.ref_id, ref.band_id
        row["album_id"] = NO_ALBUM if ref.album_id is None else ref.album_id
        row["kind"], row["width"], row["height"] = ref.kind, width, height
    return rows


def album_of(row: np.void) -> int | None:
    """The row's album id, None for a reference of no album."""
    album = int(row["album_id"])
    return None if album == NO_ALBUM else album
