"""The compact keypoint store that geometric verification reads, lazily, from the bundle.

Verification needs the local features of only the few references on a query's
shortlist, so the store must not be loaded whole: a gallery of a million covers holds
gigabytes of descriptors. Features are written in shards, each a pair of .npy files
(positions and descriptor codes, `matching.keypoint_codec`), plus one table of
(shard, start, count) per reference row. Every shard file is opened when the index is
opened (nothing is read then; holding them open also keeps a reader working after a
later writer prunes its generation) and a reference's rows are read on demand
(`matching.bundle.StoredRows`); serving workers reading the same files share one copy
in the page cache.

A ``pq16`` store keeps its codebook beside the shards (``codebook.npy``); a store
without one is ``uint8``, as every bundle built before the codec existed.
`kyb index add` appends new shards, in the store's own codec, and reuses the old ones
untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from features.local import LocalFeatures
from matching.bundle import Generation, GenerationWriter
from matching.keypoint_codec import PQCodec, Uint8Codec


def table_name(prefix: str) -> str:
    return f"{prefix}/keypoints/table.npy"


def codebook_name(prefix: str) -> str:
    return f"{prefix}/keypoints/codebook.npy"


def shard_names(prefix: str, shard: int) -> tuple[str, str]:
    stem = f"{prefix}/keypoints/shard-{shard:05d}"
    return f"{stem}.kp.npy", f"{stem}.desc.npy"


def save_codec(writer: GenerationWriter, prefix: str, codec: Uint8Codec | PQCodec) -> None:
    """Record the store's codec (nothing to write for ``uint8``)."""
    if isinstance(codec, PQCodec):
        writer.save_array(codebook_name(prefix), codec.centroids)


def stored_codec(generation: Generation, prefix: str) -> Uint8Codec | PQCodec:
    """The codec the store under `prefix` was written with."""
    if codebook_name(prefix) in generation.manifest["files"]:
        return PQCodec(generation.array(codebook_name(prefix)))
    return Uint8Codec()


def write_encoded_shard(writer: GenerationWriter, prefix: str, shard: int,
                        encoded: Sequence[tuple[np.ndarray, np.ndarray]],
                        codec: Uint8Codec | PQCodec) -> np.ndarray:
    """Write shard number `shard` of per-reference features under `prefix`, already
    encoded by `codec` ((positions, codes) per reference); returns its (n, 3) rows of the
    table, which the caller saves with `table_name(prefix)`."""
    keypoints_name, descriptors_name = shard_names(prefix, shard)
    counts = np.array([len(codes) for _, codes in encoded], np.int64)
    starts = np.cumsum(counts) - counts
    parts = list(encoded) or [codec.empty()]
    writer.save_array(keypoints_name, np.concatenate([positions for positions, _ in parts]))
    writer.save_array(descriptors_name, np.concatenate([codes for _, codes in parts]))
    return np.stack([np.full(len(encoded), shard), starts, counts], axis=1).astype(np.int64)


class KeypointStore:
    """Per-reference-row local features, read from the shard files on demand."""

    def __init__(self, generation: Generation, prefix: str):
        self.table = generation.array(table_name(prefix))
        self.codec = stored_codec(generation, prefix)
        self.shards = {}
        for shard in np.unique(self.table[:, 0]).tolist():
            keypoints_name, descriptors_name = shard_names(prefix, shard)
            self.shards[shard] = (generation.rows(keypoints_name),
                                  generation.rows(descriptors_name))

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, row: int) -> LocalFeatures:
        shard, start, count = (int(v) for v in self.table[row])
        keypoints, codes = self.shards[shard]
        return self.codec.decode(keypoints.rows(start, count), codes.rows(start, count))
