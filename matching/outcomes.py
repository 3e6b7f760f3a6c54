"""Querying an index with ground-truth crops, timed: what evaluation and calibration share.

`run_queries` crops the annotated boxes of a split and queries the index with each,
timing the query (features + search + verification; image decoding excluded).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from data.crops import GroundTruthCrop, iter_crop_images
from data.dataset import Dataset
from data.progress import progress_bar
from matching.index import RetrievalIndex
from matching.rank import MatchResult


@dataclass
class Outcome:
    """One crop's query: what was asked, what came back, how long it took (ms)."""

    crop: GroundTruthCrop
    result: MatchResult
    milliseconds: float
    cpu_milliseconds: float | None = None  # process CPU time of the query (all threads)

    @property
    def rank(self) -> int | None:
        """1-based rank of the crop's band among the answered bands (None: not listed)."""
        for position, candidate in enumerate(self.result.candidates, start=1):
            if candidate.band_id == self.crop.band_id:
                return position
        return None

    @property
    def correct(self) -> bool:
        return self.rank == 1


def run_queries(index: RetrievalIndex, dataset: Dataset, crops: Sequence[GroundTruthCrop],
                top_k: int = 10, progress: bool = True, description: str = "crops") -> list[Outcome]:
    """Query `index` with each crop of a kind it holds (others are skipped)."""
    crops = [crop for crop in crops if crop.kind in index.paths]
    outcomes = []
    images = iter_crop_images(dataset, crops)
    for crop, image in progress_bar(images, progress, total=len(crops), desc=description, unit="crop"):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = index.query(image, crop.kind, top_k)
        outcomes.append(Outcome(crop, result, (time.perf_counter() - started) * 1000,
                                (time.process_time() - cpu_started) * 1000))
    return outcomes
