"""End-to-end evaluation: the whole pipeline on a dataset split, scored per photo.

What a user sees is the photo's band list, so that is what is scored: per photo, the
bands reported (``match`` verdicts) against the known bands of its VOC annotation.
Objects with band_id 0 show bands absent from the index; the right answer for them is
no band at all, so they count only through the open-set rejection rate (an unknown
object is rejected when no detection overlapping it reports a band). VOC "difficult"
objects are neither required nor, when found, counted as false.

Each photo is detected once and matched against every index given, so presets are
compared on the same detections and the detector's cost is paid once.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from data.boxes import box_iou
from data.dataset import UNKNOWN_BAND_ID, load_dataset
from data.image_io import read_image
from data.progress import progress_bar
from data.voc import read_voc
from matching.index import RetrievalIndex
from retrieval.importers import import_dataset, import_roster_csv
from retrieval.pipeline import STAGES, Pipeline, PipelineConfig, load_detector
from retrieval.store import Store
from retrieval.text_stage import TextStage

#: A detection covers an unknown object when their IoU reaches this (VOC's criterion).
COVER_IOU = 0.5


@dataclass(frozen=True)
class PhotoTruth:
    """What a photo shows: known bands (must be found), bands of difficult objects (may
    be found), and the boxes of unknown-band objects (must not be named)."""

    known: frozenset[int]
    optional: frozenset[int]
    unknown_boxes: tuple[tuple[int, int, int, int], ...]


def photo_truth(annotation_path: Path) -> PhotoTruth:
    known, optional, unknown = set(), set(), []
    for obj in read_voc(annotation_path, clip=True).objects:
        if obj.band_id is None:
            continue
        if obj.band_id == UNKNOWN_BAND_ID:
            unknown.append(obj.box)
        elif obj.difficult:
            optional.add(obj.band_id)
        else:
            known.add(obj.band_id)
    return PhotoTruth(frozenset(known), frozenset(optional - known), tuple(unknown))


def score_photo(truth: PhotoTruth, result: dict) -> dict:
    """Counts for one photo: true/false positives, misses, exactness, unknown objects rejected."""
    found = {band["band_id"] for band in result["bands"]}
    counted = found - truth.optional
    matched_boxes = [d["box"] for d in result["detections"] if d["verdict"] == "match"]
    rejected = 0
    if truth.unknown_boxes:
        overlaps = box_iou(truth.unknown_boxes, matched_boxes) if matched_boxes else None
        rejected = len(truth.unknown_boxes) if overlaps is None else int(
            (overlaps.max(axis=1) < COVER_IOU).sum())
    return {"tp": len(counted & truth.known), "fp": len(counted - truth.known),
            "fn": len(truth.known - found), "exact": counted == truth.known,
            "unknown_objects": len(truth.unknown_boxes), "unknown_rejected": rejected}


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def summarise(scores: Sequence[dict], timings: Sequence[dict]) -> dict:
    """Dataset figures from per-photo counts and per-photo stage timings (ms)."""
    tp, fp, fn = (sum(s[key] for s in scores) for key in ("tp", "fp", "fn"))
    unknown = sum(s["unknown_objects"] for s in scores)
    latency = {}
    for stage in (*STAGES, "text", "total"):
        values = np.array([t[stage] for t in timings if stage in t])
        latency[stage] = ({"p50": round(float(np.percentile(values, 50)), 1),
                           "p95": round(float(np.percentile(values, 95)), 1)} if len(values) else None)
    return {"photos": len(scores), "true_positives": tp, "false_positives": fp, "missed": fn,
            "band_precision": _ratio(tp, tp + fp), "band_recall": _ratio(tp, tp + fn),
            "exact_photo_accuracy": _ratio(sum(s["exact"] for s in scores), len(scores)),
            "unknown_objects": unknown,
            "open_set_rejection": _ratio(sum(s["unknown_rejected"] for s in scores), unknown),
            "latency_ms": latency}


def dataset_store(root: Path, folder: Path, roster: Path | None = None) -> Store:
    """A throwaway SQLite database holding the dataset's bands, so that the lookup stage
    runs as in production without touching the user's database; with `roster`, a band
    roster CSV of distractor names beside them (what the text witness searches)."""
    store = Store.open(f"sqlite:///{folder / 'kyb.sqlite'}", create=True)
    if roster is not None:
        import_roster_csv(store, roster)
    import_dataset(store, root)
    return store


def evaluate_e2e(dataset_root: str | Path, indexes: dict[str, str | Path], split: str = "test",
                 model_path: str | Path | None = None, config: PipelineConfig | None = None,
                 limit: int | None = None, progress: bool = True, roster: Path | None = None) -> dict:
    """Score the pipeline on `split` with each named index bundle (one detector for all, and
    one text witness over the dataset's bands and `roster`'s where `config.text` is on)."""
    dataset = load_dataset(dataset_root)
    config = config or PipelineConfig()
    names = dataset.splits.get(split, [])[:limit]
    if not names:
        raise ValueError(f"{dataset.root}: the {split} split has no photos")
    detector = load_detector(model_path)
    with tempfile.TemporaryDirectory(prefix="kyb-e2e-") as folder:
        store = dataset_store(dataset.root, Path(folder), roster)
        try:
            text = TextStage.load(store) if config.text else None
            pipelines = {name: Pipeline(detector, RetrievalIndex.open(path), store, config, text)
                         for name, path in indexes.items()}
            scores = {name: [] for name in pipelines}
            timings = {name: [] for name in pipelines}
            for photo in progress_bar(names, progress, desc=f"photos ({split})", unit="photo"):
                image = read_image(dataset.photo_path(photo))
                truth = photo_truth(dataset.annotation_path(photo))
                begun = text.begin(image) if text is not None else None  # as Pipeline.identify
                detections, detect_ms = next(iter(pipelines.values())).detect(image)
                for name, pipeline in pipelines.items():
                    started = time.perf_counter()
                    result = pipeline.identify_detections(image, detections, detect_ms, begun)
                    total = detect_ms + (time.perf_counter() - started) * 1000
                    scores[name].append(score_photo(truth, result))
                    timings[name].append({**result["timings_ms"], "total": total})
        finally:
            store.close()
    return {"dataset": str(dataset.root), "split": split, "photos": len(names),
            "model": str(model_path) if model_path else "shipped", "pipeline": asdict(config),
            "text_reading": text is not None, "roster": str(roster) if roster else None,
            "results": {name: summarise(scores[name], timings[name]) for name in pipelines}}
