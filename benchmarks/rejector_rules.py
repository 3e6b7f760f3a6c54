"""Open-set rules compared on one bundle's calibration examples and a dataset's test crops.

The calibration examples are made as `kyb index build` makes them (renditions of the
references with `--calibration gallery`, the train and val crops with `photos`); each rule
is fitted on them (with the gallery's `KNOWN_SHARE` where they are renditions) and judged
on the test crops: known crops rejected, crops whose band is left out of the ranking
rejected, crops of absent bands rejected, the precision of what is accepted, and the
expected calibration error of two stated probabilities (the shipped isotonic map, and the
share of the calibration's wrong answers an answer outscores).

Rules: the shipped threshold on the wrong answers at each `--shares` value, and the rule
before 2026-12-06 (the lower of the known crops' 4% and the wrong answers' 99% quantile,
and an isotonic probability of at least 0.5). Usage:

    python benchmarks/rejector_rules.py --dataset ../shared/real/flickrlogos27-half \\
        --index /tmp/e2e/fl-new --calibration gallery
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from data.crops import ground_truth_crops
from data.dataset import load_dataset
from matching.calibration import calibration_examples, photo_outcomes
from matching.evaluate import expected_calibration_error
from matching.index import RetrievalIndex
from matching.openset import OpenSetRejector
from matching.outcomes import Outcome, run_queries
from matching.self_calibration import KNOWN_SHARE, rendition_outcomes


def held_out_examples(outcomes: list[Outcome], verified_views: int) -> dict[str, np.ndarray]:
    """The test crops' own answers (features, known, right) and their left-out twins."""
    examples = calibration_examples(outcomes, verified_views)
    own = ~examples.left_out
    return {"X": examples.features[own], "known": examples.known[own], "right": examples.correct[own],
            "twins": examples.features[examples.left_out]}


def judge(accept, probability, share_outscored, test: dict[str, np.ndarray]) -> dict:
    """What a rule's verdicts and stated probabilities do on the test examples."""
    accepted = accept(test["X"])
    known, right = test["known"], test["right"]
    figures = {"known_rejected": float(np.mean(~accepted[known])) if known.any() else None,
               "left_out_rejected": float(np.mean(~accept(test["twins"]))) if len(test["twins"]) else None,
               "unknown_rejected": float(np.mean(~accepted[~known])) if (~known).any() else None,
               "precision": float(right[accepted].mean()) if accepted.any() else None,
               "ece_isotonic": expected_calibration_error(probability(test["X"]), right),
               "ece_share_outscored": expected_calibration_error(share_outscored(test["X"]), right)}
    return {name: None if value is None else round(value, 4) for name, value in figures.items()}


def compare_rules(X: np.ndarray, known: np.ndarray, correct: np.ndarray, test: dict[str, np.ndarray],
                  shares: list[float], known_share: float | None = None) -> dict[str, dict]:
    """{rule: figures} for the wrong-answer threshold at each share and the rule before it."""
    base = OpenSetRejector(known_share=known_share).fit(X, known, correct)
    wrong = np.sort(base.confidence(X[~correct]))

    def share_outscored(rows):
        return np.searchsorted(wrong, base.confidence(rows), side="right") / len(wrong)
    rules = {}
    for share in shares:
        rejector = OpenSetRejector(max_wrong_acceptance=share, known_share=known_share).fit(X, known, correct)
        rules[f"wrong answers, {share}"] = judge(rejector.accept, rejector.probability, share_outscored, test)
    scores = base.confidence(X)
    before = min(np.quantile(scores[known], 0.04), np.quantile(scores[~correct], 0.99))

    def floored(rows):
        return (base.confidence(rows) >= before) & (base.probability(rows) >= 0.5)
    rules["known 4% quantile + floor 0.5 (before)"] = judge(floored, base.probability, share_outscored, test)
    return rules


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--calibration", choices=("gallery", "photos"), default="gallery")
    parser.add_argument("--split", default="test")
    parser.add_argument("--shares", default="0.01,0.02,0.05,0.1",
                        help="comma-separated max_wrong_acceptance values")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset)
    index = RetrievalIndex.open(args.index)
    if args.calibration == "gallery":
        calibration = rendition_outcomes(index, dataset.references, dataset.root)
    else:
        calibration = photo_outcomes(index, dataset)
    whole_ranking = max([10] + [path.config.shortlist for path in index.paths.values()])
    tested = run_queries(index, dataset, ground_truth_crops(dataset, args.split), whole_ranking,
                         description="test crops")
    report = {"dataset": str(args.dataset), "index": str(args.index), "calibration": args.calibration,
              "kinds": {}}
    shares = [float(share) for share in args.shares.split(",")]
    for kind, path in index.paths.items():
        of_kind = [o for o in tested if o.crop.kind == kind]
        if not of_kind or not calibration.get(kind):
            continue
        X, known, correct, _ = calibration_examples(calibration[kind], path.verified_views)
        rules = compare_rules(X, known, correct, held_out_examples(of_kind, path.verified_views), shares,
                              KNOWN_SHARE if args.calibration == "gallery" else None)
        report["kinds"][kind] = rules
        print(f"{kind}: {len(of_kind)} test crops, {len(X)} calibration examples")
        print(f"  {'rule':40s} known-rej left-out  unknown  precision  ECE iso  ECE share")
        for rule, figures in rules.items():
            cells = [figures[name] for name in ("known_rejected", "left_out_rejected", "unknown_rejected",
                                                "precision", "ece_isotonic", "ece_share_outscored")]
            print(f"  {rule:40s} " + "  ".join("   -   " if c is None else f"{c:7.3f}" for c in cells))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
