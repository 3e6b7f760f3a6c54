"""A build's extraction stage: plan the chunks, extract those not yet done (resuming a
killed build, or only one shard's), and gather every kind's extractions for the fit.

Where extractions are kept is the caller's choice (`ExtractionSetup.folders`): work
folders on disk (`matching.build_work`; what `kyb index build` uses, so that a killed
build resumes), or memory alone (in-process builds that need no resuming).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from data.dataset import Reference
from data.progress import progress_bar, write_line
from features.extraction_file import ChunkExtractions
from matching.build_work import CHUNK_SIZE, Chunk, WorkFolder, fingerprint, plan_chunks, shard_chunks
from matching.presets import PathConfig
from matching.runners import Runner, run_here


@dataclass
class ExtractionSetup:
    """How a build extracts: `folders` where chunks are saved (the first) and looked for
    (all; none: memory only), the `runner` (`matching.runners`), the `shard` (i, n) this
    run extracts (None: all), and the `chunk_size`."""

    folders: Sequence[str | Path] = ()
    runner: Runner = run_here
    shard: tuple[int, int] | None = None
    chunk_size: int = CHUNK_SIZE


@dataclass
class KindExtractions:
    """One kind's references, in build order, with their image sizes and extractions."""

    references: list[Reference] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    extractions: list[list] = field(default_factory=list)


class _Memory:
    """Chunks kept in memory: a work folder's `has`/`save`/`load` without the disk."""

    def __init__(self):
        self.chunks: dict[str, ChunkExtractions] = {}

    def has(self, chunk: Chunk) -> bool:
        return chunk.name in self.chunks

    def save(self, chunk: Chunk, extracted: ChunkExtractions) -> None:
        self.chunks[chunk.name] = extracted

    def load(self, chunk: Chunk) -> ChunkExtractions:
        return self.chunks[chunk.name]


@dataclass
class Extracted:
    """What `extract_references` did: the whole plan, where its chunks are kept, and the
    seconds this run spent extracting."""

    chunks: list[Chunk]
    stores: list
    seconds: float

    def missing(self) -> list[Chunk]:
        """Chunks no store holds (other shards' work not yet done or gathered)."""
        return [chunk for chunk in self.chunks if not any(store.has(chunk) for store in self.stores)]

    def gather(self) -> dict[str, KindExtractions]:
        """Every kind's extractions in build order; ValueError when chunks are `missing`."""
        missing = self.missing()
        if missing:
            raise ValueError(f"{len(missing)} chunk(s) not extracted (the first: {missing[0].name}): run the "
                             "missing shard(s) into one of the work folders first")
        gathered: dict[str, KindExtractions] = {}
        for chunk in self.chunks:
            extracted = next(store for store in self.stores if store.has(chunk)).load(chunk)
            kind = gathered.setdefault(chunk.kind, KindExtractions())
            kind.references.extend(chunk.references)
            kind.sizes.extend(extracted.sizes)
            kind.extractions.extend(extracted.extractions)
        return gathered


def extract_references(references: Sequence[Reference], root: str | Path, configs: dict[str, PathConfig],
                       seed: int, setup: ExtractionSetup, progress: bool = True) -> Extracted:
    """Extract this run's chunks not found in any folder (`setup`), saving each into the
    first folder as it finishes. A bar counts references, with the rate and ETA of this
    run's own work (chunks found done are counted from the start)."""
    chunks = plan_chunks(references, setup.chunk_size)
    stores = _stores(chunks, configs, seed, setup)
    mine = shard_chunks(chunks, setup.shard)
    pending = [chunk for chunk in mine if not any(store.has(chunk) for store in stores)]
    total = sum(len(chunk.references) for chunk in mine)
    done = total - sum(len(chunk.references) for chunk in pending)
    if done and progress:
        write_line(f"resuming: {done} of {total} references already extracted")
    started = time.perf_counter()
    with progress_bar(total=total, initial=done, enabled=progress, desc="references", unit="ref",
                      smoothing=0.1) as bar:
        for chunk, extracted in setup.runner([(chunk, configs[chunk.kind]) for chunk in pending],
                                             Path(root), seed):
            stores[0].save(chunk, extracted)
            bar.update(len(chunk.references))
    return Extracted(chunks, stores, time.perf_counter() - started)


def _stores(chunks: Sequence[Chunk], configs: dict[str, PathConfig], seed: int, setup: ExtractionSetup):
    if not setup.folders:
        return [_Memory()]
    tag = fingerprint(chunks, {kind: configs[kind] for kind in {chunk.kind for chunk in chunks}}, seed)
    return [WorkFolder(folder, tag, len(chunks)) for folder in setup.folders]
