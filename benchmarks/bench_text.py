"""Text witness benchmark (issue 24): band-name lookup over a 200,000-name roster, and the
text reading's cost per photo.

Targets: lookup p50 <= 10 ms over 200,000 names; text reading adds <= 150 ms p50 per
photo on 2 cores.

    .venv/bin/python benchmarks/bench_text.py lookup --bands 200000
    .venv/bin/python benchmarks/bench_text.py ocr --dataset ../shared/real/flickrlogos27-half --bands 200000
    .venv/bin/python benchmarks/bench_text.py roster --bands 200000 --out /tmp/roster.csv

`lookup` asks for names of the roster misread the ways OCR misreads (look-alike
characters swapped, a letter dropped, two letters merged, case lost) and reports latency
and how often the band is the first answer or among the first three (a name that several
bands share counts for each of them). `ocr` reads every photo of a dataset through the
pipeline's text stage (whole-photo read and lookup, no boxes) and reports its latency,
wall clock and CPU time (all threads; steadier on a shared host).
`roster` writes the roster CSV for `kyb eval e2e --roster`. The roster's names are all
distinct (`data.names.unique_names`): 200,000 entries in the index, the harder case.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_store import percentiles  # noqa: E402
from data.dataset import BAND_COLUMNS, load_dataset, write_csv  # noqa: E402
from data.image_io import read_image  # noqa: E402
from data.names import band_ids, band_record, unique_names  # noqa: E402
from data.progress import progress_bar  # noqa: E402
from retrieval.normalize import name_key  # noqa: E402
from retrieval.text_stage import TextConfig, TextStage  # noqa: E402
from text.lookup import NameIndex  # noqa: E402
from text.ocr import ReaderConfig, TextReader  # noqa: E402

#: What OCR reads instead of a character (text/lookup.py folds these; the benchmark
#: checks that it does).
LOOK_ALIKES = {"l": "1", "i": "l", "o": "0", "s": "5", "e": "3", "a": "4", "b": "8", "m": "rn"}


def misread(name: str, rng: np.random.Generator) -> str:
    """`name` as OCR might read it: upper case, one look-alike swapped, and in half the
    cases one letter dropped."""
    text = name.upper() if rng.random() < 0.5 else name
    swappable = [i for i, ch in enumerate(text) if ch.lower() in LOOK_ALIKES]
    if swappable:
        i = int(rng.choice(swappable))
        text = text[:i] + LOOK_ALIKES[text[i].lower()] + text[i + 1:]
    if rng.random() < 0.5 and len(text) > 4:
        i = int(rng.integers(1, len(text) - 1))
        text = text[:i] + text[i + 1:]
    return text


def roster_bands(count: int, seed: int) -> list[dict]:
    """`count` generated bands with distinct names."""
    rng = np.random.default_rng(seed)
    return [band_record(rng, band_id, name)
            for band_id, name in zip(band_ids(rng, count), unique_names(rng, count), strict=True)]


def bench_lookup(args) -> dict:
    bands = roster_bands(args.bands, args.seed)
    started = time.perf_counter()
    index = NameIndex(((b["band_id"], b["name"]) for b in bands), normalize=name_key)
    build_s = time.perf_counter() - started
    rng = np.random.default_rng(args.seed + 1)
    asked = [bands[int(i)] for i in rng.choice(len(bands), size=args.queries, replace=False)]
    durations, first, top3 = [], 0, 0
    for band in asked:
        text = misread(band["name"], rng)
        started = time.perf_counter()
        hits = index.lookup(text, limit=3)
        durations.append(time.perf_counter() - started)
        found = [band["band_id"] in hit.band_ids for hit in hits]
        first += bool(found and found[0])
        top3 += any(found)
    p50, p95 = percentiles(durations)
    return {"bands": len(bands), "distinct_names": len(index), "build_s": round(build_s, 2),
            "queries": len(asked), "p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
            "top1": round(first / len(asked), 3), "top3": round(top3 / len(asked), 3)}


def bench_ocr(args) -> dict:
    dataset = load_dataset(args.dataset)
    photos = sorted(dataset.splits.get(args.split, []))[: args.limit]
    bands = roster_bands(args.bands, args.seed)
    names = NameIndex(((b["band_id"], b["name"]) for b in bands), normalize=name_key)
    config = TextConfig(reader=ReaderConfig(max_side=args.max_side, threads=args.threads))
    stage = TextStage(TextReader(config.reader), names, config)
    stage.read(read_image(dataset.photo_path(photos[0])), [])  # warm-up: onnxruntime's first run
    durations, cpu, lines = [], [], 0
    for photo in progress_bar(photos, desc="photos", unit="photo"):
        image = read_image(dataset.photo_path(photo))
        started, cpu_started = time.perf_counter(), time.process_time()
        reading = stage.read(image, [])
        durations.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        lines += len(reading.outside.lines)
    p50, p95 = percentiles(durations)
    cpu50, cpu95 = percentiles(cpu)
    return {"dataset": str(dataset.root), "photos": len(photos), "threads": args.threads,
            "max_side": config.reader.max_side, "max_boxes": config.reader.max_boxes,
            "names": len(names), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
            "cpu_p50_ms": round(cpu50, 1), "cpu_p95_ms": round(cpu95, 1),
            "lines_per_photo": round(lines / len(photos), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("job", choices=("lookup", "ocr", "roster"))
    parser.add_argument("--bands", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=100, help="photos read by `ocr`")
    parser.add_argument("--threads", type=int, default=ReaderConfig.threads)
    parser.add_argument("--max-side", type=int, default=ReaderConfig.max_side,
                        help="the longest side the text detector sees")
    parser.add_argument("--out", type=Path, help="the roster CSV `roster` writes")
    args = parser.parse_args()
    if args.job == "roster":
        write_csv(args.out, BAND_COLUMNS, roster_bands(args.bands, args.seed))
        print(json.dumps({"roster": str(args.out), "bands": args.bands}))
        return
    print(json.dumps(bench_lookup(args) if args.job == "lookup" else bench_ocr(args), indent=1))


if __name__ == "__main__":
    main()
