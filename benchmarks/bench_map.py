"""Scoring external detections: `kyb eval detector --predictions` on 5,000 photos.

Target (issue 23): under 10 s on 2 cores for 5,000 photos, from the command's start to
its table: reading the 5,000 VOC files, reading the detections, VOC AP (11-point and
all-point) and COCO AP (pycocotools) for each class, the JSON report.

    .venv/bin/python benchmarks/bench_map.py --photos 5000 --format csv --json /tmp/bench_map.json

The ground truth and detections are synthetic, written first and untimed: a dataset
folder of VOC files (no images: scoring saved detections reads none) with 1-12 logos and
albums a photo, one in twenty difficult, and a fixed fake detector's output: most
objects found a few pixels off, some twice, and boxes on nothing. The command then runs
as a user runs it, in a fresh process (`python -m kyb`), `--repeats` times; the stage
times come from one more run in this process. The machine's load average is printed
beside the figures, since on a shared machine the wall time mostly measures the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.voc import VocAnnotation, VocObject  # noqa: E402
from data.voc_write import write_voc  # noqa: E402

CLASSES = ("logo", "album")
TARGET_S = 10.0


def ground_truth(root: Path, photos: int, rng: np.random.Generator) -> dict[str, list[VocObject]]:
    """A dataset folder of `photos` VOC files (all in splits/test.txt); name -> objects."""
    (root / "annotations").mkdir(parents=True)
    (root / "splits").mkdir()
    truth = {}
    for index in range(photos):
        name = f"photo_{index:05d}"
        width, height = int(rng.integers(480, 1600)), int(rng.integers(480, 1200))
        objects = []
        for _ in range(int(rng.integers(1, 13))):
            w, h = rng.uniform(20, width / 3), rng.uniform(20, height / 3)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            objects.append(VocObject(str(rng.choice(CLASSES)), (int(x), int(y), int(x + w), int(y + h)),
                                     difficult=bool(rng.random() < 0.05)))
        write_voc(VocAnnotation(f"{name}.jpg", width, height, objects=objects),
                  root / "annotations" / f"{name}.xml")
        truth[name] = objects
    (root / "splits" / "test.txt").write_text("".join(f"{name}\n" for name in truth))
    return truth


def fake_detections(truth: dict[str, list[VocObject]], rng: np.random.Generator) -> list[tuple]:
    """(image, class, score, box) rows of a plausible detector."""
    rows = []
    for name, objects in truth.items():
        for obj in objects:
            x1, y1, x2, y2 = obj.box
            size = np.array([x2 - x1, y2 - y1, x2 - x1, y2 - y1], float)
            for _ in range(int(rng.random() < 0.85) + int(rng.random() < 0.1)):  # found, sometimes twice
                box = np.array(obj.box, float) + rng.normal(0, 0.06, 4) * size
                box[2:] = np.maximum(box[2:], box[:2] + 1)
                rows.append((name, obj.name, float(rng.beta(5, 2)), tuple(box)))
        for _ in range(int(rng.integers(0, 4))):  # boxes on nothing
            x, y = rng.uniform(0, 800, 2)
            rows.append((name, str(rng.choice(CLASSES)), float(rng.beta(2, 5)), (x, y, x + 60, y + 40)))
    return rows


def write_predictions(rows, out: Path, kind: str) -> Path:
    if kind == "csv":
        out = out / "detections.csv"
        out.write_text("image,class,score,x1,y1,x2,y2\n" + "".join(
            f"{image},{cls},{score:.6f},{box[0]:.2f},{box[1]:.2f},{box[2]:.2f},{box[3]:.2f}\n"
            for image, cls, score, box in rows))
    elif kind == "voc":
        out = out / "results"
        out.mkdir()
        for cls in CLASSES:
            (out / f"comp4_det_test_{cls}.txt").write_text("".join(
                f"{image} {score:.6f} {box[0]:.2f} {box[1]:.2f} {box[2]:.2f} {box[3]:.2f}\n"
                for image, row_cls, score, box in rows if row_cls == cls))
    else:
        by_photo: dict[str, list] = {}
        for image, cls, score, box in rows:
            by_photo.setdefault(image, []).append({"box": [round(v, 1) for v in box], "kind": cls,
                                                   "score": round(score, 4), "verdict": "unknown",
                                                   "matches": []})
        out = out / "identify.json"
        out.write_text(json.dumps([{"photo": f"photos/{image}.jpg", "result": {"detections": detections}}
                                   for image, detections in by_photo.items()]))
    return out


def stage_times(dataset: Path, predictions: Path) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each stage of the command, run in this process."""
    from detector import evaluate
    from detector.coco import coco_metrics
    from detector.data import read_annotated
    from kyb.eval_detector_cmd import score_predictions

    times, state = {}, {}

    def stage(name, call):
        wall, cpu = time.perf_counter(), time.process_time()
        state[name] = call()
        times[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return state[name]

    annotated = stage("read VOC files", lambda: read_annotated(dataset, "test", need_images=False,
                                                                 strict_split=True))
    samples, classes, detections = stage("read and fit detections", lambda: score_predictions(
        predictions, annotated, annotated, {}, dataset, "test"))
    stage("VOC AP", lambda: evaluate.evaluate_detections(detections, samples, classes, 0.5))
    stage("COCO AP (pycocotools)", lambda: coco_metrics(detections, samples, classes))
    return times


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--format", choices=("csv", "voc", "json"), default="csv")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--json", type=Path, help="Write the figures here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-map-") as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(args.seed)
        truth = ground_truth(tmp / "dataset", args.photos, rng)
        rows = fake_detections(truth, rng)
        predictions = write_predictions(rows, tmp, args.format)
        command = [sys.executable, "-m", "kyb", "eval", "detector", "--dataset", str(tmp / "dataset"),
                   "--predictions", str(predictions), "--json", str(tmp / "report.json")]
        load_before = os.getloadavg()
        walls, cpus = [], []
        for _ in range(args.repeats):
            started, cpu = time.perf_counter(), children_cpu()
            completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            walls.append(time.perf_counter() - started)
            cpus.append(children_cpu() - cpu)
            if completed.returncode:
                sys.exit(completed.stderr)
        stages = stage_times(tmp / "dataset", predictions)
        report = json.loads((tmp / "report.json").read_text())
        load_after = os.getloadavg()

    figures = {"photos": args.photos, "objects": sum(map(len, truth.values())), "detections": len(rows),
               "format": args.format, "wall_s": walls, "median_s": statistics.median(walls), "cpu_s": cpus,
               "stages_s": stages, "map_all_point": report["map_all_point"], "coco_ap": report["coco"]["ap"],
               "cores": len(os.sched_getaffinity(0)), "load_before": load_before, "load_after": load_after,
               "target_s": TARGET_S}
    print(f"{args.photos} photos, {figures['objects']} objects, {len(rows)} detections ({args.format}); "
          f"{figures['cores']} cores, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"kyb eval detector --predictions, whole command: median {figures['median_s']:.2f} s wall "
          f"({', '.join(f'{w:.2f}' for w in walls)}), CPU {', '.join(f'{c:.2f}' for c in cpus)} s; "
          f"target < {TARGET_S:.0f} s: {'met' if figures['median_s'] < TARGET_S else 'MISSED'}")
    for stage, (wall, cpu) in stages.items():
        print(f"  {stage:<24} {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    print(f"mAP all-point {report['map_all_point']:.4f}, COCO AP {report['coco']['ap']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
