"""End-to-end scoring with the annotated boxes as detections (BENCHMARKS.md, "End to end").

Separates the detector's share of the end-to-end errors from matching's: the photos of a
split go through the pipeline's stages after detection exactly as `kyb eval e2e` runs
them, but the detections are the VOC boxes. Band names are not needed for scoring, so the
band database is an empty throwaway one.

    .venv/bin/python benchmarks/e2e_oracle_boxes.py DATASET INDEX [--photos 60] [--margin 0.08]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.dataset import load_dataset  # noqa: E402
from data.image_io import read_image  # noqa: E402
from data.voc import read_voc  # noqa: E402
from detector.inference import Detection  # noqa: E402
from matching.index import RetrievalIndex  # noqa: E402
from retrieval.evaluate_e2e import photo_truth, score_photo, summarise  # noqa: E402
from retrieval.pipeline import Pipeline, PipelineConfig  # noqa: E402
from retrieval.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--margin", type=float, default=PipelineConfig().margin)
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    with tempfile.TemporaryDirectory() as folder, \
            Store.open(f"sqlite:///{folder}/empty.sqlite", create=True) as store:
        # No detector: identify_detections starts after detection.
        pipeline = Pipeline(None, RetrievalIndex.open(args.index), store, PipelineConfig(margin=args.margin))
        scores, timings = [], []
        for name in dataset.splits[args.split][:args.photos]:
            detections = [Detection(tuple(float(v) for v in obj.box), obj.name, 1.0)
                          for obj in read_voc(dataset.annotation_path(name), clip=True).objects]
            result = pipeline.identify_detections(read_image(dataset.photo_path(name)), detections, 0.0)
            scores.append(score_photo(photo_truth(dataset.annotation_path(name)), result))
            timings.append({**result["timings_ms"], "total": sum(result["timings_ms"].values())})
    print(json.dumps(summarise(scores, timings), indent=1))


if __name__ == "__main__":
    main()
