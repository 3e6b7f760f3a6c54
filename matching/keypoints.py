"""The compact keypoint store that geometric verification reads, lazily, from the bundle.

Verification needs the local features of only the few references on a query's
shortlist, so the store must not be loaded whole: a gallery of a million covers holds
hundreds of gigabytes of descriptors. Features are written in shards, each a pair of
.npy files (keypoints (N, 4) float32 and descriptors (N, D) uint8), plus one table of
(shard, start, count) per reference row. Shards are memory-mapped when the index is
opened (nothing is read then; mapping every shard up front also keeps a reader working
after a later writer prunes its generation) and a reference's rows are read on demand.

Descriptors are RootSIFT, whose values lie in [0, 1]; one byte each (x 255) loses
nothing that matters to nearest-neighbour matching and takes a quarter of float32.
`kyb index add` appends new shards and reuses the old ones untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from features.local import LocalFeatures
from matching.bundle import Generation, GenerationWriter

DESCRIPTOR_SCALE = 255.0


def table_name(prefix: str) -> str:
    return f"{prefix}/keypoints/table.npy"


def shard_names(prefix: str, shard: int) -> tuple[str, str]:
    stem = f"{prefix}/keypoints/shard-{shard:05d}"
    return f"{stem}.kp.npy", f"{stem}.desc.npy"


def quantise(descriptors: np.ndarray) -> np.ndarray:
    """Unit-range descriptors (RootSIFT) as uint8."""
    descriptors = np.asarray(descriptors, np.float32)
    if descriptors.size and (descriptors.min() < 0 or descriptors.max() > 1.0 + 1e-4):
        raise ValueError("the keypoint store holds descriptors in [0, 1] (RootSIFT) only")
    return np.rint(np.clip(descriptors, 0, 1) * DESCRIPTOR_SCALE).astype(np.uint8)


def write_shard(writer: GenerationWriter, prefix: str, shard: int,
                features: Sequence[LocalFeatures]) -> np.ndarray:
    """Write shard number `shard` of per-reference features under `prefix`; returns its
    (n, 3) rows of the table, which the caller saves with `table_name(prefix)`."""
    keypoints_name, descriptors_name = shard_names(prefix, shard)
    counts = np.array([len(f) for f in features], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    width = features[0].descriptors.shape[1] if features else 128
    writer.save_array(keypoints_name, np.concatenate([f.keypoints for f in features])
                      if features else np.zeros((0, 4), np.float32))
    writer.save_array(descriptors_name, quantise(np.concatenate([f.descriptors for f in features]))
                      if features else np.zeros((0, width), np.uint8))
    return np.stack([np.full(len(features), shard), starts, counts], axis=1).astype(np.int64)


class KeypointStore:
    """Per-reference-row local features, read from memory-mapped shards on demand."""

    def __init__(self, generation: Generation, prefix: str):
        self.table = generation.array(table_name(prefix))
        self.shards = {}
        for shard in np.unique(self.table[:, 0]).tolist():
            keypoints_name, descriptors_name = shard_names(prefix, shard)
            self.shards[shard] = (generation.array(keypoints_name, mmap=True),
                                  generation.array(descriptors_name, mmap=True))

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, row: int) -> LocalFeatures:
        shard, start, count = (int(v) for v in self.table[row])
        keypoints, descriptors = self.shards[shard]
        return LocalFeatures(np.array(keypoints[start:start + count], np.float32),
                             descriptors[start:start + count].astype(np.float32) / DESCRIPTOR_SCALE)
