"""Who extracts a build's chunks: this process, a pool of local processes, or a Dask
cluster (`matching.dask_runner`). Each runs the same `extract_chunk` on each chunk and
yields (chunk, extractions) as chunks finish, in any order; the caller saves them.

A runner is any callable ``runner(tasks, root, seed)`` over tasks of (chunk, its kind's
`PathConfig`); the reference paths are relative to `root`, which every worker must see.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from data.image_io import read_image
from features.extract import Extraction
from features.extraction_file import ChunkExtractions
from features.reference_vector import reference_extractions_many
from matching.build_work import Chunk
from matching.presets import PathConfig

Task = tuple[Chunk, PathConfig]
Runner = Callable[[Sequence[Task], Path, int], Iterator[tuple[Chunk, ChunkExtractions]]]
#: What a pool worker sets before its first network call: one thread per native pool,
#: since the pool's processes already share out the cores.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                                     "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def extract_chunk(chunk: Chunk, config: PathConfig, root: str | Path, seed: int) -> ChunkExtractions:
    """A chunk's references read from `root` and extracted together under their kind's
    recipe; each reference's copies are seeded by (seed, ref_id), as in every build."""
    images = [read_image(Path(root) / ref.path) for ref in chunk.references]
    extractions = reference_extractions_many(config.extractor, config.recipe, images,
                                             [(seed, ref.ref_id) for ref in chunk.references],
                                             config.encoder.uses_sift)
    if not config.encoder.uses_sift:  # then only verification reads local features: its share
        for copies in extractions:
            copies[0] = _verified_share(copies[0], config.verify_keypoints)
    return ChunkExtractions([ref.ref_id for ref in chunk.references],
                            [image.shape[:2] for image in images], extractions)


def _verified_share(extraction: Extraction, keypoints: int) -> Extraction:
    """The extraction with only the `keypoints` strongest local features that verification
    keeps (`KindPath.keep_keypoints`): half a logo's chunk file is features nothing reads."""
    kept = {name: features.head(keypoints) for name in ("sift", "ink")
            if (features := getattr(extraction, name)) is not None}
    return dataclasses.replace(extraction, **kept)


def run_here(tasks: Sequence[Task], root: Path, seed: int) -> Iterator[tuple[Chunk, ChunkExtractions]]:
    """Extract the chunks one after the other in this process."""
    for chunk, config in tasks:
        yield chunk, extract_chunk(chunk, config, root, seed)


def _one_thread_each() -> None:
    os.environ.update(ONE_THREAD)
    import cv2

    cv2.setNumThreads(1)


def process_runner(workers: int) -> Runner:
    """A runner over `workers` fresh local processes (spawned: TensorFlow does not
    survive a fork), each with one thread per native pool."""
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")

    def run(tasks: Sequence[Task], root: Path, seed: int) -> Iterator[tuple[Chunk, ChunkExtractions]]:
        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread_each)
        try:
            futures = {pool.submit(extract_chunk, chunk, config, root, seed): chunk
                       for chunk, config in tasks}
            for future in as_completed(futures):
                yield futures.pop(future), future.result()
        finally:  # a failed chunk or an abandoned build starts nothing more
            pool.shutdown(wait=True, cancel_futures=True)

    return run
