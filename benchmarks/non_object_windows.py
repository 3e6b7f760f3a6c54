"""How often a bundle names a band for a crop that shows no logo or cover at all.

The open-set rejector is calibrated on crops of logos and covers only (of indexed bands
and, left out, of others). In real photos the detector also boxes things that are no
band's mark: a DVD title, a fold, a piece of art. This measures the rejector on such
crops without a detector and without real photos: per photo of a split, one window of
the photo that no annotated object covers (at most `MAX_OBJECT_SHARE` of its area),
shaped like the kind's boxes (logos wide, covers about square), queried as that kind.
The figure is the share of windows answered ``unknown``; known crops' rejection is
`kyb eval retrieval`'s business.

    .venv/bin/python benchmarks/non_object_windows.py --dataset /tmp/ds1000 \
        --index /tmp/ret/ds1000/default --split test --json /tmp/work/windows.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.dataset import load_dataset  # noqa: E402
from data.image_io import read_image  # noqa: E402
from data.voc import read_voc  # noqa: E402
from matching.index import RetrievalIndex  # noqa: E402

#: Width over height of a window, per kind: logos are wide, covers about square.
ASPECTS = {"logo": (1.0, 4.0), "album": (0.8, 1.25)}
#: Window width as a share of the photo's width.
WIDTHS = (0.08, 0.35)
#: The most of a window's area annotated objects may cover.
MAX_OBJECT_SHARE = 0.2


def background_window(width: int, height: int, boxes, aspects: tuple[float, float],
                      rng: np.random.Generator, tries: int = 50) -> tuple[int, int, int, int] | None:
    """A random (x1, y1, x2, y2) window that `boxes` cover at most `MAX_OBJECT_SHARE` of;
    None when `tries` draws find none (a crowded photo)."""
    for _ in range(tries):
        window_width = width * rng.uniform(*WIDTHS)
        window_height = min(window_width / rng.uniform(*aspects), height * 0.9)
        x1, y1 = rng.uniform(0, width - window_width), rng.uniform(0, height - window_height)
        x2, y2 = x1 + window_width, y1 + window_height
        covered = sum(max(0.0, min(x2, bx2) - max(x1, bx1)) * max(0.0, min(y2, by2) - max(y1, by1))
                      for bx1, by1, bx2, by2 in boxes)
        if covered <= MAX_OBJECT_SHARE * window_width * window_height:
            return int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2))
    return None


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset)
    index = RetrievalIndex.open(args.index)
    rng = np.random.default_rng(args.seed)
    answers = {kind: [] for kind in index.paths if kind in index.rejectors}
    for name in dataset.splits.get(args.split, []):
        image = read_image(dataset.photo_path(name))
        boxes = [obj.box for obj in read_voc(dataset.annotation_path(name), clip=True).objects]
        for kind, verdicts in answers.items():
            window = background_window(image.shape[1], image.shape[0], boxes, ASPECTS[kind], rng)
            if window is not None:
                x1, y1, x2, y2 = window
                verdicts.append(index.query(image[y1:y2, x1:x2], kind).verdict)
    report = {"dataset": str(args.dataset), "index": str(args.index), "split": args.split, "seed": args.seed,
              "kinds": {kind: {"windows": len(verdicts),
                               "answered_unknown": round(verdicts.count("unknown") / len(verdicts), 4)
                               if verdicts else None}
                        for kind, verdicts in answers.items()}}
    for kind, figures in report["kinds"].items():
        print(f"{kind}: {figures['windows']} windows without an object, answered unknown: "
              f"{figures['answered_unknown']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
