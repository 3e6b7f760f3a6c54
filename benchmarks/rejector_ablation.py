"""Which of the open-set rejector's features earn their place: a cross-validated ablation.

For each kind of a bundle, the crops of the calibration splits are queried with whole
rankings and turned into the rejector's examples exactly as `kyb index build` does
(`matching.calibration.calibration_examples`: each crop as answered, and each known crop
again with its own band left out). Then, for a few subsets of the rank features, a
rejector is fitted on 4 of 5 folds and scores the fifth; the threshold is the
`--max-known-rejection` quantile of the known examples' out-of-fold confidences, and
the figure is the share of unknown examples it rejects. Cross-validation, because the
threshold of a rejector scored on its own training examples flatters it.

    .venv/bin/python benchmarks/rejector_ablation.py --dataset /tmp/ds1000 \
        --index /tmp/ret/ds1000/default --json /tmp/ret/rejector-ablation.json

Subsets: the evidence every verified path had before the last three features (margin,
z, log inliers, inlier margin), that plus each later feature alone, and all of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.crops import ground_truth_crops  # noqa: E402
from data.dataset import load_dataset  # noqa: E402
from matching.calibration import CALIBRATION_SPLITS, calibration_examples, calibration_splits  # noqa: E402
from matching.index import RetrievalIndex  # noqa: E402
from matching.openset import BASE_FEATURES, OpenSetRejector  # noqa: E402
from matching.outcomes import run_queries  # noqa: E402

#: The verified paths' evidence before inlier share, similarity rank and view agreement.
EARLIER_FEATURES = BASE_FEATURES + ("log_inliers", "inlier_margin")


def feature_subsets(names: tuple[str, ...]) -> dict[str, list[int]]:
    """Column subsets to compare, by a readable label."""
    earlier = [names.index(name) for name in EARLIER_FEATURES if name in names]
    later = [i for i, name in enumerate(names) if name not in EARLIER_FEATURES]
    subsets = {"earlier features": earlier}
    subsets.update({f"earlier + {names[i]}": earlier + [i] for i in later})
    subsets["all (shipped)"] = list(range(len(names)))
    return subsets


def cross_validated_rejection(X: np.ndarray, known: np.ndarray, correct: np.ndarray,
                              max_known_rejection: float, folds: int, seed: int) -> float:
    """Share of unknown examples rejected at the out-of-fold threshold (module docstring)."""
    confidence = np.zeros(len(X))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, held_out in splitter.split(X, correct):
        rejector = OpenSetRejector().fit(X[train], known[train], correct[train])
        confidence[held_out] = rejector.confidence(X[held_out])
    threshold = np.quantile(confidence[known], max_known_rejection)
    return float(np.mean(confidence[~known] < threshold))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--index", required=True, type=Path, help="a bundle with verified paths")
    parser.add_argument("--splits", default=CALIBRATION_SPLITS, help="comma-separated calibration splits")
    parser.add_argument("--max-known-rejection", type=float, default=0.04)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset)
    index = RetrievalIndex.open(args.index)
    crops = [crop for name in calibration_splits(dataset, args.splits)
             for crop in ground_truth_crops(dataset, name)]
    whole_ranking = max(path.config.shortlist for path in index.paths.values())
    outcomes = run_queries(index, dataset, crops, top_k=whole_ranking, description="calibration crops")
    report = {"dataset": str(args.dataset), "index": str(args.index), "splits": args.splits,
              "max_known_rejection": args.max_known_rejection, "folds": args.folds, "kinds": {}}
    for kind, path in index.paths.items():
        if not path.verified_views:
            continue
        chosen = [outcome for outcome in outcomes if outcome.crop.kind == kind]
        X, known, correct, _ = calibration_examples(chosen, path.verified_views)
        figures = {label: round(cross_validated_rejection(X[:, columns], known, correct,
                                                          args.max_known_rejection, args.folds, args.seed), 4)
                   for label, columns in feature_subsets(path.rank_feature_names).items()}
        report["kinds"][kind] = {"known_examples": int(known.sum()), "unknown_examples": int((~known).sum()),
                                 "unknown_rejected": figures}
        print(f"{kind}: {int(known.sum())} known, {int((~known).sum())} unknown examples; unknown rejected "
              f"at {args.max_known_rejection:.0%} of known, {args.folds}-fold cross-validated")
        for label, value in figures.items():
            print(f"  {label:32s} {value:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
