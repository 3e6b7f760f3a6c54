"""Where the pipeline loses the annotated objects of indexed bands: the detector or the
matching (BENCHMARKS.md, "End to end").

Each object of an indexed band in a split's photos is asked twice, the text witness off:
once through the detector's boxes as `kyb eval e2e` asks it, and once with the annotated
boxes as the detections (`e2e_oracle_boxes.py` does that per photo). Its detector fate
is "no box" (no kept box overlaps it by IoU 0.1), "part box" (the best overlaps it by
0.1 to 0.5) or that box's answer: right, unknown or wrong; its annotated-box answer
tells what matching alone makes of it. Photos losing the most objects are listed.

    .venv/bin/python benchmarks/object_misses.py DATASET INDEX [--split test] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.boxes import box_iou  # noqa: E402
from data.dataset import UNKNOWN_BAND_ID, load_dataset  # noqa: E402
from data.image_io import read_image  # noqa: E402
from data.voc import read_voc  # noqa: E402
from detector.inference import Detection  # noqa: E402
from matching.index import RetrievalIndex  # noqa: E402
from retrieval.pipeline import Pipeline, PipelineConfig, load_detector  # noqa: E402
from retrieval.store import Store  # noqa: E402


def answer(entry: dict, band_id: int) -> str:
    """'right', 'unknown' or 'wrong': what one result entry says of an object of `band_id`."""
    if entry["verdict"] != "match" or not entry["matches"]:
        return "unknown"
    return "right" if entry["matches"][0]["band_id"] == band_id else "wrong"


def detector_fate(box, entries: list[dict], band_id: int) -> str:
    """The object's fate through the detector's boxes (the module docstring's words)."""
    if not entries:
        return "no box"
    overlaps = box_iou(np.array([box], np.float64), np.array([e["box"] for e in entries], np.float64))[0]
    best = int(overlaps.argmax())
    if overlaps[best] < 0.1:
        return "no box"
    if overlaps[best] < 0.5:
        return "part box"
    return answer(entries[best], band_id)


def photo_objects(pipeline: Pipeline, image: np.ndarray, annotation: Path) -> list[dict]:
    """One record per annotated object of an indexed band, not `difficult`."""
    objects = read_voc(annotation, clip=True).objects
    detections, detect_ms = pipeline.detect(image)
    detected = pipeline.identify_detections(image, detections, detect_ms)["detections"]
    annotated = [Detection(tuple(float(v) for v in obj.box), obj.name, 1.0) for obj in objects]
    as_annotated = pipeline.identify_detections(image, annotated, 0.0)["detections"]
    records = []
    for obj, entry in zip(objects, as_annotated, strict=True):
        if obj.band_id in (None, UNKNOWN_BAND_ID) or obj.difficult:
            continue
        width, height = obj.box[2] - obj.box[0], obj.box[3] - obj.box[1]
        records.append({"kind": obj.name, "band_id": obj.band_id, "short_side": int(min(width, height)),
                        "annotated": answer(entry, obj.band_id),
                        "detector": detector_fate(obj.box, detected, obj.band_id)})
    return records


def report(records: list[dict]) -> None:
    """The counts by (annotated-box answer, detector fate), sizes, and the worst photos."""
    print(f"{len(records)} objects of indexed bands; annotated box -> detector's boxes:")
    fates = Counter((r["annotated"], r["detector"]) for r in records)
    for (annotated, detected), count in sorted(fates.items()):
        print(f"  {count:5d}  {annotated:8s} -> {detected}")
    named = [r for r in records if r["annotated"] == "right"]
    missed = [r for r in records if r["annotated"] != "right"]
    for label, chosen in (("named", named), ("not named", missed)):
        if chosen:
            sides = np.percentile([r["short_side"] for r in chosen], [25, 50, 75]).round().astype(int)
            print(f"annotated box {label}: {len(chosen)}, short side quartiles {sides.tolist()} px")
    worst = Counter(r["photo"] for r in missed).most_common(5)
    print("photos losing the most with annotated boxes:", ", ".join(f"{p} {n}" for p, n in worst))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None, help="only the split's first N photos")
    parser.add_argument("--json", type=Path, help="also write every object's record")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    records = []
    with tempfile.TemporaryDirectory() as folder, \
            Store.open(f"sqlite:///{folder}/empty.sqlite", create=True) as store:
        # Band names are not needed to score, so the band database is an empty throwaway one.
        index = RetrievalIndex.open(args.index)
        pipeline = Pipeline(load_detector(), index, store, PipelineConfig(text=False))
        for name in dataset.splits[args.split][:args.limit]:
            image = read_image(dataset.photo_path(name))
            records += [{"photo": name, **record}
                        for record in photo_objects(pipeline, image, dataset.annotation_path(name))]
    report(records)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
