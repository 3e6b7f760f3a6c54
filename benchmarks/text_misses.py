"""Where the text witness loses the bands held out of the index: for each held-out object
of `unindexed_text.py`'s test photos, whether it was named, had no box, had a box with no
text read, had text that does not read as its name, or had its name read too weakly to
name it alone (BENCHMARKS.md, "Text reading").

    .venv/bin/python benchmarks/text_misses.py DATASET WORK [--share 0.33] [--seed 0] [--styles legible]

WORK is a folder `unindexed_text.py` made (its `dataset` and `index`), with the same
DATASET, share, seed and styles.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from unindexed_text import held_out_arguments, held_out_of  # noqa: E402

from data.boxes import box_iou  # noqa: E402
from data.dataset import load_dataset  # noqa: E402
from data.image_io import read_image  # noqa: E402
from data.voc import read_voc  # noqa: E402
from matching.index import RetrievalIndex  # noqa: E402
from retrieval.evaluate_e2e import dataset_store  # noqa: E402
from retrieval.pipeline import Pipeline, PipelineConfig, load_detector  # noqa: E402
from retrieval.text_stage import RegionText, TextStage  # noqa: E402


def fate(band_id: int, box, named: set[int], boxes: list, regions: tuple[RegionText, ...]) -> tuple[str, str]:
    """(what became of one held-out object, what was read in its box)."""
    if band_id in named:
        return "named", ""
    if not boxes:
        return "no box", ""
    overlaps = box_iou(np.array([box]), np.array(boxes))[0]
    if overlaps.max() < 0.5:
        return "no box", ""
    region = regions[int(overlaps.argmax())]
    text = repr(" | ".join(line.text for line in region.lines))
    if not region.lines:
        return "boxed, no text read", ""
    similarities = [e.hit.similarity for e in region.names if band_id in e.hit.band_ids]
    if not similarities:
        return "boxed, text is not the name", text
    return "boxed, name read, not named", f"{text} at {max(similarities):.2f}"


def main() -> None:
    args = held_out_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0])).parse_args()
    held = held_out_of(args)
    dataset = load_dataset(args.work / "dataset")
    names = {int(band["band_id"]): band["name"] for band in dataset.bands}
    counts: Counter = Counter()
    with tempfile.TemporaryDirectory() as folder:
        store = dataset_store(dataset.root, Path(folder))
        stage = TextStage.load(store)
        index = RetrievalIndex.open(args.work / "index")
        pipeline = Pipeline(load_detector(), index, store, PipelineConfig(), stage)
        for photo in dataset.splits[args.split]:
            image = read_image(dataset.photo_path(photo))
            detections, detect_ms = pipeline.detect(image)
            result = pipeline.identify_detections(image, detections, detect_ms)
            named = {band["band_id"] for band in result["bands"]}
            boxes = [detection.box for detection in detections]
            regions = stage.read(image, boxes).boxes
            for obj in read_voc(dataset.annotation_path(photo), clip=True).objects:
                if obj.band_id in held and not obj.difficult:
                    what, read = fate(obj.band_id, obj.box, named, boxes, regions)
                    counts[what] += 1
                    if what != "named":
                        print(f"{photo}  {names[obj.band_id]!r}: {what}{f' ({read})' if read else ''}")
        store.close()
    for what, count in counts.most_common():
        print(f"{count:4d}  {what}")


if __name__ == "__main__":
    main()
