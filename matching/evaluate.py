"""Retrieval evaluation on ground-truth crops, and open-set calibration on held-out crops.

`kyb eval retrieval` and `kyb index build` are thin shells over this module:

- `run_queries` crops the annotated boxes of a split and queries the index with each,
  timing the query (features + search + verification; image decoding excluded);
- `retrieval_metrics` turns the outcomes into per-kind figures: top-1/5/10 band accuracy
  over crops of indexed bands, the open-set precision and recall of ``unknown``, the
  share of known crops wrongly rejected, and latency percentiles;
- `calibrate` fits the per-kind `OpenSetRejector` on held-out splits (train and val);
- `evaluate_retrieval` runs one or several bundles over one dataset for a side-by-side
  report that also carries index bytes per reference and build throughput.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.dataset import Dataset, load_dataset
from matching.crops import GroundTruthCrop, ground_truth_crops, iter_crop_images
from matching.index import MatchResult, RetrievalIndex, progress_bar, ranking_features
from matching.openset import OpenSetRejector

TOP_K = (1, 5, 10)
#: The splits whose crops calibrate the open-set rejector unless told otherwise.
CALIBRATION_SPLITS = "train,val"


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


def _share(flags) -> float | None:
    flags = np.asarray(list(flags), bool)
    return round(float(flags.mean()), 4) if len(flags) else None


def kind_metrics(outcomes: Sequence[Outcome]) -> dict:
    """The figures of one kind's (or all) outcomes; see the module docstring."""
    known = [o for o in outcomes if o.crop.known]
    unknown = [o for o in outcomes if not o.crop.known]
    rejected = [o.result.verdict == "unknown" for o in outcomes]
    truly_unknown = [not o.crop.known for o in outcomes]
    answered_unknown = sum(rejected)
    latencies = np.array([o.milliseconds for o in outcomes]) if outcomes else np.zeros(0)
    metrics = {"crops": len(outcomes), "known": len(known), "unknown": len(unknown)}
    for k in TOP_K:
        metrics[f"top{k}"] = _share((o.rank or k + 1) <= k for o in known)
    albums = [o for o in known if o.crop.album_id is not None and o.result.candidates]
    if albums:
        metrics["album_top1"] = _share(o.result.candidates[0].album_id == o.crop.album_id for o in albums)
    calibrated = any(o.result.confidence is not None for o in outcomes)
    if calibrated:
        metrics.update({
            "known_rejected": _share(o.result.verdict == "unknown" for o in known),
            "accepted_correct": _share(o.result.verdict == "match" and o.correct for o in known),
            "unknown_recall": _share(o.result.verdict == "unknown" for o in unknown),
            "unknown_precision": (round(sum(r and t for r, t in zip(rejected, truly_unknown, strict=True))
                                        / answered_unknown, 4) if answered_unknown else None),
        })
    metrics["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None
    metrics["latency_ms_p95"] = round(float(np.percentile(latencies, 95)), 1) if len(latencies) else None
    # Wall time is what a user waits, but on a shared virtual machine it also counts the
    # time the host gave to others; process CPU time does not.
    cpu = [o.cpu_milliseconds for o in outcomes if o.cpu_milliseconds is not None]
    metrics["cpu_ms_p50"] = round(float(np.percentile(cpu, 50)), 1) if cpu else None
    return metrics


def retrieval_metrics(outcomes: Sequence[Outcome]) -> dict:
    """Per-kind figures plus ``all`` over every crop."""
    kinds = sorted({o.crop.kind for o in outcomes})
    report = {kind: kind_metrics([o for o in outcomes if o.crop.kind == kind]) for kind in kinds}
    report["all"] = kind_metrics(outcomes)
    return report


def calibration_examples(outcomes: Sequence[Outcome],
                         verified_views: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank features with (known, correct) labels for the rejector, from one kind's outcomes.

    Besides each crop as it was answered, every crop of a known band is used a second
    time as a crop of an unknown band: its ranking with its own band left out is exactly
    what the index would have answered had that band not been indexed. Why: a dataset's
    few crops of truly absent bands (about 50 in a 225-photo split) are too few to fit a
    threshold on; this gives as many unknown examples as known ones, from any dataset.
    The outcomes must hold whole rankings (`run_queries` with a `top_k` of at least the
    shortlist).
    """
    rows, known, correct = [], [], []
    for outcome in outcomes:
        rows.append(outcome.result.features)
        known.append(outcome.crop.known)
        correct.append(outcome.crop.known and outcome.correct)
        rest = [c for c in outcome.result.candidates if c.band_id != outcome.crop.band_id]
        if outcome.crop.known and rest:
            rows.append(ranking_features(rest, verified_views))
            known.append(False)
            correct.append(False)
    return np.stack(rows) if rows else np.zeros((0, 2)), np.array(known, bool), np.array(correct, bool)


def calibration_splits(dataset: Dataset, split: str) -> list[str]:
    """The split names of a comma-separated `split`; ValueError naming any the dataset lacks.
    Callers check this before building an index, which takes minutes."""
    splits = [name.strip() for name in split.split(",") if name.strip()]
    unknown = [name for name in splits if name not in dataset.splits]
    if not splits or unknown:
        raise ValueError(f"calibration split(s) {unknown or split!r} not in the dataset "
                         f"(it has: {', '.join(dataset.splits) or 'none'})")
    return splits


def calibrate(index: RetrievalIndex, dataset: Dataset, split: str = CALIBRATION_SPLITS,
              max_known_rejection: float = 0.04, progress: bool = True) -> dict[str, dict]:
    """Fit each kind's rejector on the crops of `split` (comma-separated splits are
    pooled; `calibration_examples`) and install it in `index`.

    Why train and val pooled by default: the index holds only references, so every photo
    split is held out from it, and the threshold is a low quantile of known crops'
    confidences, which a few hundred crops place poorly. On ds1000 the val covers alone
    put it among the hardest known crops (no inliers), where it let absent covers with a
    few chance inliers through (BENCHMARKS.md, "Retrieval (issue 3)", 2026-12-02).

    Returns per kind what happened: the rejector's calibration report, or the reason a
    kind could not be calibrated (no crops of known bands, or no wrong answers to learn
    from), in which case that kind keeps answering ``match``.
    """
    splits = calibration_splits(dataset, split)
    crops = [crop for name in splits for crop in ground_truth_crops(dataset, name)]
    whole_ranking = max(path.config.shortlist for path in index.paths.values())
    outcomes = run_queries(index, dataset, crops, top_k=whole_ranking,
                           progress=progress, description=f"calibration ({split})")
    summary = {}
    for kind, path in index.paths.items():
        chosen = [o for o in outcomes if o.crop.kind == kind]
        X, known, correct = calibration_examples(chosen, path.verified_views)
        try:
            rejector = OpenSetRejector(max_known_rejection=max_known_rejection).fit(X, known, correct)
        except ValueError as exc:
            summary[kind] = {"calibrated": False, "reason": f"{split} split: {exc}"}
            continue
        index.rejectors[kind] = rejector
        summary[kind] = {"calibrated": True, "threshold": round(rejector.threshold_, 4), **rejector.report_,
                         "absent_crops": sum(not o.crop.known for o in chosen)}
    return summary


def index_facts(index: RetrievalIndex) -> dict:
    """What the bundle costs: sizes per reference, build throughput, dimensions."""
    manifest = index.generation.manifest
    return {"preset": index.preset_name, "generation": index.generation.name,
            "references": len(index.refs), "bytes_per_reference": index.bytes_per_reference(),
            "dimensions": {kind: info["dimension"] for kind, info in manifest["paths"].items()},
            "build": manifest.get("build", {}), "calibrated": sorted(index.rejectors)}


def evaluate_retrieval(dataset_root: str | Path, indexes: dict[str, str | Path], split: str = "test",
                       include_difficult: bool = False, top_k: int = 10, progress: bool = True) -> dict:
    """Evaluate each named bundle on the split's ground-truth crops; one report for all."""
    dataset = load_dataset(dataset_root)
    crops = ground_truth_crops(dataset, split, include_difficult)
    report = {"dataset": str(dataset_root), "split": split, "include_difficult": include_difficult,
              "crops": len(crops), "results": {}}
    for name, root in indexes.items():
        index = RetrievalIndex.open(root)
        outcomes = run_queries(index, dataset, crops, top_k, progress, description=f"{name} queries")
        report["results"][name] = {"index": {"path": str(root), **index_facts(index)},
                                   "metrics": retrieval_metrics(outcomes)}
    return report
