"""Open-set calibration: fit each kind's rejector on held-out crops, or lend another bundle's.

`calibrate` queries the index with the crops of held-out splits (train and val of a
synthetic dataset by default) and fits the per-kind `OpenSetRejector` on their ranking
evidence (`calibration_examples`). A dataset without crops of unknown bands (the real
sets of ../shared) cannot calibrate itself; `copy_calibration` installs the rejectors of
another bundle instead, which measures whether the relative evidence transfers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from data.crops import ground_truth_crops
from data.dataset import Dataset
from matching.index import RetrievalIndex
from matching.openset import OpenSetRejector, ranking_features
from matching.outcomes import Outcome, run_queries

#: The splits whose crops calibrate the open-set rejector unless told otherwise.
CALIBRATION_SPLITS = "train,val"


class RejectorExamples(NamedTuple):
    """The rejector's examples of one kind's outcomes, a row each: rank features, whether
    the crop shows a held band, whether the answer is right, and whether the row is a
    known crop's ranking with its own band left out (its "left-out twin")."""

    features: np.ndarray
    known: np.ndarray
    correct: np.ndarray
    left_out: np.ndarray


def calibration_examples(outcomes: Sequence[Outcome], verified_views: int) -> RejectorExamples:
    """Rank features with (known, correct) labels for the rejector, from one kind's outcomes.

    Besides each crop as it was answered, every crop of a known band is used a second
    time as a crop of an unknown band: its ranking with its own band left out is exactly
    what the index would have answered had that band not been indexed. Why: a dataset's
    few crops of truly absent bands are too few to fit a threshold on; this gives as
    many unknown examples as known ones, from any dataset.
    The outcomes must hold whole rankings (`run_queries` with a `top_k` of at least the
    shortlist).
    """
    rows, known, correct, left_out = [], [], [], []
    for outcome in outcomes:
        rows.append(outcome.result.features)
        known.append(outcome.crop.known)
        correct.append(outcome.crop.known and outcome.correct)
        left_out.append(False)
        rest = [c for c in outcome.result.candidates if c.band_id != outcome.crop.band_id]
        if outcome.crop.known and rest:
            rows.append(ranking_features(rest, verified_views))
            known.append(False)
            correct.append(False)
            left_out.append(True)
    return RejectorExamples(np.stack(rows) if rows else np.zeros((0, 2)), np.array(known, bool),
                            np.array(correct, bool), np.array(left_out, bool))


def calibration_splits(dataset: Dataset, split: str) -> list[str]:
    """The split names of a comma-separated `split`; ValueError naming any the dataset lacks.
    Callers check this before building an index, which takes minutes."""
    splits = [name.strip() for name in split.split(",") if name.strip()]
    unknown = [name for name in splits if name not in dataset.splits]
    if not splits or unknown:
        raise ValueError(f"calibration split(s) {unknown or split!r} not in the dataset "
                         f"(it has: {', '.join(dataset.splits) or 'none'})")
    return splits


def photo_outcomes(index: RetrievalIndex, dataset: Dataset, split: str = CALIBRATION_SPLITS,
                   progress: bool = True) -> dict[str, list[Outcome]]:
    """Per kind, the outcomes of the crops of `split` (comma-separated splits are pooled)
    queried with whole rankings: what `calibrate` fits the rejectors on."""
    splits = calibration_splits(dataset, split)
    crops = [crop for name in splits for crop in ground_truth_crops(dataset, name)]
    whole_ranking = max(path.config.shortlist for path in index.paths.values())
    outcomes = run_queries(index, dataset, crops, top_k=whole_ranking,
                           progress=progress, description=f"calibration ({split})")
    return {kind: [o for o in outcomes if o.crop.kind == kind] for kind in index.kinds}


def calibrate(index: RetrievalIndex, dataset: Dataset, split: str = CALIBRATION_SPLITS,
              max_wrong_acceptance: float = 0.02, progress: bool = True) -> dict[str, dict]:
    """Fit each kind's rejector on the crops of `split` (`photo_outcomes`,
    `calibration_examples`) and install it in `index`.

    Why train and val pooled by default: the index holds only references, so every photo
    split is held out from it, and the threshold is a high quantile of the wrong answers'
    scores, which a few hundred crops place poorly.

    Returns per kind what happened: the rejector's calibration report, or the reason a
    kind could not be calibrated (no crops of known bands, or no wrong answers to learn
    from), in which case that kind keeps answering ``match``.
    """
    return fit_rejectors(index, photo_outcomes(index, dataset, split, progress), max_wrong_acceptance,
                         source=f"{split} split")


def fit_rejectors(index: RetrievalIndex, outcomes: dict[str, Sequence[Outcome]], max_wrong_acceptance: float,
                  source: str, known_share: float | None = None) -> dict[str, dict]:
    """Fit each kind's rejector on its outcomes (`calibration_examples`) and install it;
    per kind, the calibration report or why the kind stays uncalibrated. `known_share`
    as `OpenSetRejector`'s."""
    summary = {}
    for kind, chosen in outcomes.items():
        X, known, correct, _ = calibration_examples(chosen, index.paths[kind].verified_views)
        try:
            rejector = OpenSetRejector(max_wrong_acceptance=max_wrong_acceptance,
                                       known_share=known_share).fit(X, known, correct)
        except ValueError as exc:
            summary[kind] = {"calibrated": False, "reason": f"{source}: {exc}"}
            continue
        index.rejectors[kind] = rejector
        summary[kind] = {"calibrated": True, "source": source, "threshold": round(rejector.threshold_, 4),
                         **rejector.report_, "absent_crops": sum(not o.crop.known for o in chosen)}
    return summary


def copy_calibration(index: RetrievalIndex, source: RetrievalIndex) -> dict:
    """Install `source`'s rejectors in `index` for the kinds whose rank features agree."""
    summary = {}
    for kind, path in index.paths.items():
        rejector = source.rejectors.get(kind)
        same = (kind in source.paths and rejector is not None
                and source.paths[kind].rank_feature_names == path.rank_feature_names)
        if not same:
            summary[kind] = {"calibrated": False, "reason": f"{source.generation.root} has no matching "
                                                            f"calibrated {kind} path"}
            continue
        index.rejectors[kind] = rejector
        summary[kind] = {"calibrated": True, "copied_from": str(source.generation.root),
                         "threshold": round(rejector.threshold_, 4)}
    return summary
