"""Retrieval evaluation on ground-truth crops: `kyb eval retrieval`'s figures.

- `retrieval_metrics` turns query outcomes (`matching.outcomes.run_queries`) into
  per-kind figures: top-1/5/10 band accuracy over crops of indexed bands, the open-set
  precision and recall of ``unknown``, the share of known crops wrongly rejected, and
  latency percentiles;
- `rejector_curve` is the rejector's precision-recall curve over the same answers and
  their left-out twins, with the point the bundle's threshold picks, and
  `ece_with_left_out` the calibration error over that population;
- `evaluate_retrieval` runs one or several bundles over one dataset for a side-by-side
  report that also carries index bytes per reference and build throughput.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from data.crops import ground_truth_crops
from data.dataset import load_dataset
from matching.calibration import RejectorExamples, calibration_examples
from matching.index import RetrievalIndex
from matching.openset import OpenSetRejector
from matching.outcomes import Outcome, run_queries

TOP_K = (1, 5, 10)
#: Most points of a precision-recall curve kept in a report (evenly over its thresholds).
CURVE_POINTS = 200


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
    calibrated_outcomes = [o for o in outcomes if o.result.probability is not None]
    if calibrated_outcomes:
        stated = [o.result.probability for o in calibrated_outcomes]
        right = [o.correct for o in calibrated_outcomes]
        metrics["ece"] = round(expected_calibration_error(stated, right), 4)
        metrics["reliability"] = reliability_bins(stated, right)
    metrics["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None
    metrics["latency_ms_p95"] = round(float(np.percentile(latencies, 95)), 1) if len(latencies) else None
    # Wall time is what a user waits, but on a shared virtual machine it also counts the
    # time the host gave to others; process CPU time does not.
    cpu = [o.cpu_milliseconds for o in outcomes if o.cpu_milliseconds is not None]
    metrics["cpu_ms_p50"] = round(float(np.percentile(cpu, 50)), 1) if cpu else None
    return metrics


def _calibration_bins(probabilities: Sequence[float], correct: Sequence[bool],
                      bins: int) -> list[tuple[float, float, int]]:
    """(mean stated probability, share right, answers) per non-empty bin of `bins`
    equal-width bins of the stated probability."""
    probabilities, correct = np.asarray(probabilities, np.float64), np.asarray(correct, np.float64)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    chosen = [which == b for b in range(bins)]
    return [(float(probabilities[c].mean()), float(correct[c].mean()), int(c.sum()))
            for c in chosen if c.any()]


def expected_calibration_error(probabilities: Sequence[float], correct: Sequence[bool],
                               bins: int = 10) -> float:
    """Expected calibration error: over `bins` equal-width bins of the stated probability,
    the gap between the mean probability and the share of right answers, weighted by how
    many answers fall in the bin (0: the probabilities are the frequencies)."""
    if len(probabilities) == 0:
        raise ValueError("no answers to measure calibration on")
    return float(sum(count * abs(stated - right) for stated, right, count
                     in _calibration_bins(probabilities, correct, bins)) / len(probabilities))


def reliability_bins(probabilities: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[list]:
    """[mean stated probability, share right, answers] per non-empty bin: the points of a
    reliability diagram."""
    return [[round(stated, 4), round(right, 4), count]
            for stated, right, count in _calibration_bins(probabilities, correct, bins)]


def retrieval_metrics(outcomes: Sequence[Outcome]) -> dict:
    """Per-kind figures plus ``all`` over every crop."""
    kinds = sorted({o.crop.kind for o in outcomes})
    report = {kind: kind_metrics([o for o in outcomes if o.crop.kind == kind]) for kind in kinds}
    report["all"] = kind_metrics(outcomes)
    return report


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
        # Whole rankings, so that a crop's ranking without its band is the index's answer had
        # the band not been held (`left_out_rejected`); top-k figures read their first k.
        whole_ranking = max([top_k] + [path.config.shortlist for path in index.paths.values()])
        outcomes = run_queries(index, dataset, crops, whole_ranking, progress, description=f"{name} queries")
        metrics = retrieval_metrics(outcomes)
        for kind in index.kinds:
            if kind in metrics:
                rejector = index.rejectors.get(kind)
                examples = calibration_examples([o for o in outcomes if o.crop.kind == kind],
                                                index.paths[kind].verified_views)
                metrics[kind]["left_out_rejected"] = left_out_rejected(rejector, examples)
                metrics[kind]["ece_with_left_out"] = ece_with_left_out(rejector, examples)
                curve = rejector_curve(rejector, examples)
                metrics[kind]["rejector_ap"] = curve.pop("average_precision") if curve else None
                metrics[kind]["rejector"] = curve
        report["results"][name] = {"index": {"path": str(root), **index_facts(index)}, "metrics": metrics}
    return report


def left_out_rejected(rejector: OpenSetRejector | None, examples: RejectorExamples) -> float | None:
    """Share of crops of known bands answered ``unknown`` once their band is left out of the
    ranking (`examples.left_out`): how often a band the gallery does not hold is rejected,
    on a set whose photos all show gallery bands (the real sets). None for an uncalibrated
    kind (`rejector` None)."""
    twins = examples.features[examples.left_out]
    return _share(~rejector.accept(twins)) if rejector is not None and len(twins) else None


def ece_with_left_out(rejector: OpenSetRejector | None, examples: RejectorExamples) -> float | None:
    """Expected calibration error over the answers of `examples` and their left-out twins
    (answers that can only be wrong), the population of `rejector_curve`.
    Why beside the answers' own: a stated probability is for queries of held and of
    absent bands both, and on a set whose photos all show gallery bands (the real sets)
    the answers alone hold no absent band. None for a kind without stated probabilities."""
    if rejector is None or rejector.calibration_ is None:
        return None
    return round(expected_calibration_error(rejector.probability(examples.features), examples.correct), 4)


def rejector_curve(rejector: OpenSetRejector | None, examples: RejectorExamples) -> dict | None:
    """The rejector's precision-recall curve: every answer of `examples` and, for each crop
    of a known band, its ranking with that band left out (an answer that can only be
    wrong), ordered by the rejector's score. Precision is the share of accepted answers
    that are right, recall the share of right answers accepted; `operating_point` is where
    the bundle's threshold accepts. Why the left-out twins: the real
    sets show no band outside their gallery, and without wrong answers of absent bands a
    rejector's curve says nothing about them. None for an uncalibrated kind or no right
    answer."""
    X, right = examples.features, examples.correct
    if rejector is None or not right.any():
        return None
    scores = rejector.confidence(X)
    precision, recall, _ = precision_recall_curve(right, scores)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(CURVE_POINTS, len(recall))).round().astype(int))
    accepted = rejector.accept(X)
    return {"answers": len(right), "right": int(right.sum()),
            "average_precision": round(float(average_precision_score(right, scores)), 4),
            "operating_point": {"precision": _share(right[accepted]) if accepted.any() else None,
                                "recall": _share(accepted[right])},
            "curve": [[round(float(r), 4), round(float(p), 4)] for r, p in zip(recall[keep], precision[keep],
                                                                            strict=True)]}
