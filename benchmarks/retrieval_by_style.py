"""Top-1 and rejection of a synthetic dataset's known logo crops, by the style each band's
logo was drawn in (`logo_styles.csv`: legible, display, illegible, real).

Why: the generator's mix of styles moves the overall logo figure; this tells which kind
of logo the matcher finds hard. Usage:

    python benchmarks/retrieval_by_style.py --dataset /tmp/ds1000 --index /tmp/ret/ds1000/default
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from data.crops import ground_truth_crops
from data.dataset import load_dataset, read_logo_styles
from matching.index import RetrievalIndex
from matching.outcomes import run_queries

#: How deep each crop's ranking goes (the band's rank is looked up in it).
RANKING_DEPTH = 50


def figures_by_style(dataset_root: Path, bundle: Path, split: str) -> dict[str, dict]:
    """{style: {"crops", "top1", "rejected"}} over the split's known logo crops."""
    dataset = load_dataset(dataset_root)
    styles = read_logo_styles(dataset_root)
    if not styles:
        raise SystemExit(f"{dataset_root}: no logo_styles.csv (not made by kyb synth?)")
    crops = [crop for crop in ground_truth_crops(dataset, split, False) if crop.kind == "logo" and crop.known]
    outcomes = run_queries(RetrievalIndex.open(bundle), dataset, crops, RANKING_DEPTH, True,
                           description="logo crops")
    by_style = defaultdict(list)
    for outcome in outcomes:
        by_style[styles.get(outcome.crop.band_id, "unlisted")].append(outcome)
    by_style["all"] = outcomes
    return {style: {"crops": len(group),
                    "top1": round(sum(o.correct for o in group) / len(group), 4),
                    "rejected": round(sum(o.result.verdict == "unknown" for o in group) / len(group), 4)}
            for style, group in sorted(by_style.items()) if group}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True, help="a bundle built on --dataset's references")
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = figures_by_style(args.dataset, args.index, args.split)
    for style, row in figures.items():
        print(f"{style:10s} {row['crops']:5d} crops  top-1 {row['top1']:.3f}  rejected {row['rejected']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
