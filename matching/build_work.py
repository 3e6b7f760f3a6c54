"""A build's plan and its work folder: the references cut into fixed chunks, and each
chunk's extractions saved there as soon as it is done.

Why fixed chunks: a chunk is the unit of work of every runner (one process, a pool,
a Dask cluster) and of a shard, and references go through the networks a chunk at a
time. Cutting the same references the same way whoever extracts them makes a resumed,
a sharded and a distributed build extract exactly what one uninterrupted process does.

The folder holds ``plan.json`` (the build's fingerprint and chunk count) and
``chunks/KIND-NNNNN.npz``. A chunk file appears whole or not at all, so a killed build
loses at most the chunks in flight and a resumed one extracts only what is missing. A
folder whose fingerprint differs (other references, preset, seed or chunk size) is
refused rather than mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from data.dataset import Reference
from features.extraction_file import ChunkExtractions, load_chunk, save_chunk
from features.reference_vector import RECIPE_VERSION
from matching.presets import KINDS, PathConfig

#: References per chunk: small enough to bound a worker's memory (a logo reference is a
#: score of images), large enough to fill the network calls.
CHUNK_SIZE = 16
PLAN = "plan.json"
_SHARD = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Chunk:
    """References `references` of one kind, number `number` of the whole plan."""

    kind: str
    number: int
    references: tuple[Reference, ...]

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.number:05d}"


def plan_chunks(references: Sequence[Reference], chunk_size: int = CHUNK_SIZE) -> list[Chunk]:
    """The references cut into chunks: kind by kind (in `KINDS` order), each kind's in
    the given order, `chunk_size` at a time; chunks are numbered across kinds."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunks = []
    for kind in KINDS:
        chosen = [r for r in references if r.kind == kind]
        for start in range(0, len(chosen), chunk_size):
            chunks.append(Chunk(kind, len(chunks), tuple(chosen[start:start + chunk_size])))
    return chunks


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` (1 <= i <= n) -> (i, n); ValueError otherwise."""
    match = _SHARD.match(text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"a shard is i/n with 1 <= i <= n (e.g. 1/4), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def shard_chunks(chunks: Sequence[Chunk], shard: tuple[int, int] | None) -> list[Chunk]:
    """The chunks shard (i, n) extracts: every n-th, from the i-th (all with None)."""
    if shard is None:
        return list(chunks)
    index, count = shard
    return [chunk for chunk in chunks if chunk.number % count == index - 1]


def fingerprint(chunks: Sequence[Chunk], configs: dict[str, PathConfig], seed: int) -> str:
    """What the extractions depend on: the chunks' references, each kind's extraction
    recipe (its version, extractor, copies, whether SIFT is kept for the vector, and if
    not, how many keypoints verification keeps: all a chunk holds) and the seed."""
    recipe = {kind: {"version": RECIPE_VERSION, "extractor": config.extractor.params(),
                     "augment": config.augment, "renditions": config.renditions,
                     "blur": config.reference_blur, "uses_sift": config.encoder.uses_sift,
                     "kept_keypoints": None if config.encoder.uses_sift else config.verify_keypoints,
                     "learned_sha256": config.extractor.learned_sha256()}
              for kind, config in sorted(configs.items())}
    plan = [[chunk.kind, [[r.ref_id, r.band_id, r.album_id, r.path] for r in chunk.references]]
            for chunk in chunks]
    text = json.dumps({"seed": seed, "recipe": recipe, "chunks": plan}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class WorkFolder:
    """One folder of chunk files of the build with fingerprint `tag` (see module doc)."""

    def __init__(self, path: str | Path, tag: str, chunks: int):
        self.path = Path(path)
        self.tag = tag
        plan = self.path / PLAN
        if plan.is_file():
            recorded = json.loads(plan.read_text(encoding="utf-8"))
            if recorded.get("fingerprint") != tag:
                raise ValueError(f"{self.path}: holds the extractions of another build (other references, "
                                 "preset, seed, chunk size or recipe version); remove it or choose another "
                                 "work folder")
        else:
            (self.path / "chunks").mkdir(parents=True, exist_ok=True)
            partial = plan.with_name(PLAN + ".partial")
            partial.write_text(json.dumps({"fingerprint": tag, "chunks": chunks}), encoding="utf-8")
            os.replace(partial, plan)

    def chunk_path(self, chunk: Chunk) -> Path:
        return self.path / "chunks" / f"{chunk.name}.npz"

    def has(self, chunk: Chunk) -> bool:
        return self.chunk_path(chunk).is_file()

    def save(self, chunk: Chunk, extracted: ChunkExtractions) -> None:
        save_chunk(self.chunk_path(chunk), extracted, self.tag)

    def load(self, chunk: Chunk) -> ChunkExtractions:
        return load_chunk(self.chunk_path(chunk), self.tag)
