"""End to end with a share of the bands held out of the image index but kept in the band
database: only the text witness can name them (BENCHMARKS.md, "Text reading").

    .venv/bin/python benchmarks/unindexed_text.py DATASET WORK [--share 0.33] [--seed 0] [--styles legible]

WORK/dataset is DATASET with its photos, annotations, splits, bands and albums (whose
titles the text witness reads too) linked and a references.csv without the held-out
bands' rows; WORK/index is its bundle (`kyb index build`, default preset, calibrated on
its gallery, as a scrape would be: the train photos show held-out bands that the
calibration would count as known). Then every test photo is
detected once and answered with the text witness on and off. Reported: band precision and
recall over all bands, recall of the held-out bands, and the precision of the bands that
text named alone. With `--styles legible`, the held-out bands are drawn among those whose
logo `kyb synth` drew legible (DATASET/logo_styles.csv): issue 24's set, in which a third
of the bands have a legible logo and no reference.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.dataset import load_dataset, read_logo_styles  # noqa: E402
from data.image_io import read_image  # noqa: E402
from matching.index import RetrievalIndex  # noqa: E402
from retrieval.evaluate_e2e import dataset_store, photo_truth, score_photo  # noqa: E402
from retrieval.pipeline import Pipeline, PipelineConfig, load_detector  # noqa: E402
from retrieval.text_stage import TextStage  # noqa: E402

LINKED = ("photos", "annotations", "splits", "references", "bands.csv", "albums.csv")


def held_out_bands(dataset_root: Path, share: float, seed: int, styles: set[str] | None = None) -> set[int]:
    """`share` of the bands with references, drawn at random among those whose logo style
    is one of `styles` (None: any); all of those where there are fewer."""
    indexed = sorted({ref.band_id for ref in load_dataset(dataset_root).references})
    count = int(round(len(indexed) * share))
    if styles is not None:
        drawn = read_logo_styles(dataset_root)
        if not drawn:
            raise SystemExit(f"{dataset_root} has no logo_styles.csv: --styles needs a `kyb synth` folder")
        indexed = [band_id for band_id in indexed if drawn.get(band_id) in styles]
    return {indexed[i] for i in np.random.default_rng(seed).permutation(len(indexed))[:count]}


def held_out_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments that say which bands are held out and where the work folder is."""
    parser.add_argument("dataset", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--share", type=float, default=1 / 3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="test")
    parser.add_argument("--styles", help="hold out only bands whose logo style is one of these "
                                         "(comma-separated: legible, display, illegible, real)")
    return parser


def styles_of(args: argparse.Namespace) -> set[str] | None:
    """The logo styles `--styles` names (None: any)."""
    return set(args.styles.split(",")) if args.styles else None


def held_out_of(args: argparse.Namespace) -> set[int]:
    """The held-out bands that `held_out_arguments` name."""
    return held_out_bands(args.dataset, args.share, args.seed, styles_of(args))


def derived_dataset(source: Path, target: Path, held: set[int]) -> None:
    """`source` linked into `target`, its references.csv without the rows of `held` bands."""
    target.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if (source / name).exists() and not (target / name).exists():
            (target / name).symlink_to((source / name).resolve())
    with open(source / "references.csv", newline="") as rows, \
            open(target / "references.csv", "w", newline="") as kept:
        reader = csv.DictReader(rows)
        writer = csv.DictWriter(kept, reader.fieldnames)
        writer.writeheader()
        writer.writerows(row for row in reader if int(row["band_id"]) not in held)


def score(results: list[tuple], held: set[int]) -> dict:
    """Band precision and recall, held-out recall, and the precision of text-alone names."""
    tp = fp = fn = held_found = held_total = alone_right = alone_all = 0
    for truth, result in results:
        counts = score_photo(truth, result)
        tp, fp, fn = tp + counts["tp"], fp + counts["fp"], fn + counts["fn"]
        found = {band["band_id"] for band in result["bands"]}
        held_found += len(found & truth.known & held)
        held_total += len(truth.known & held)
        alone = {band["band_id"] for band in result["bands"] if band["evidence"] == ["text"]} - truth.optional
        alone_right, alone_all = alone_right + len(alone & truth.known), alone_all + len(alone)
    return {"true_positives": tp, "false_positives": fp, "missed": fn,
            "band_precision": tp / max(1, tp + fp), "band_recall": tp / max(1, tp + fn),
            "held_out_bands_in_photos": held_total, "held_out_recall": held_found / max(1, held_total),
            "text_alone_named": alone_all, "text_alone_precision": alone_right / max(1, alone_all)}


def main() -> None:
    args = held_out_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0])).parse_args()
    held, styles = held_out_of(args), styles_of(args)
    derived, index = args.work / "dataset", args.work / "index"
    derived_dataset(args.dataset, derived, held)
    if not index.exists():
        subprocess.run([sys.executable, "-m", "kyb", "index", "build", "--dataset", str(derived), "--out",
                        str(index), "--preset", "default", "--calibration", "gallery"], check=True)
    dataset = load_dataset(derived)
    detector = load_detector()
    with tempfile.TemporaryDirectory() as folder:
        store = dataset_store(dataset.root, Path(folder))
        bundle = RetrievalIndex.open(index)
        with_text = Pipeline(detector, bundle, store, PipelineConfig(), TextStage.load(store))
        without = Pipeline(detector, bundle, store, PipelineConfig(text=False))
        answers = {"text": [], "no text": []}
        for name in dataset.splits[args.split]:
            image, truth = read_image(dataset.photo_path(name)), photo_truth(dataset.annotation_path(name))
            detections, detect_ms = with_text.detect(image)
            answers["text"].append((truth, with_text.identify_detections(image, detections, detect_ms)))
            answers["no text"].append((truth, without.identify_detections(image, detections, detect_ms)))
        store.close()
    report = {"dataset": str(args.dataset), "held_out_bands": len(held), "share": args.share,
              "styles": sorted(styles) if styles else "any",
              "photos": len(answers["text"]), **{key: score(value, held) for key, value in answers.items()}}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
