"""Build throughput (issue 25): references per second through a preset's extraction.

Target: >= 8 references/s on 2 cores for a mix of logos and covers. The references are
real images, cycled to the count asked for under new ref_ids (each copy gets its own
renditions, as a new reference would): the logos of one dataset folder and the covers
of another, alternated. Each configuration runs the build's extraction stage
(`matching.extraction`, what `kyb index build` runs before fitting) on the same list:

    .venv/bin/python benchmarks/bench_build.py --logos ../shared/real/flickrlogos27-half \
        --covers ../shared/real/smvs-dvd-canon --references 96 --runs one-by-one,batched,processes:2 \
        --json /tmp/bench_build.json

Runs: ``one-by-one`` is a chunk of one reference (a reference's copies batched together,
as builds did before issue 25); ``batched`` chunks of `CHUNK_SIZE` in this process;
``processes:N`` the same chunks over N local processes; ``dask:N`` over a local Dask
cluster of N workers. Each reports the rate over the whole run, when the first chunk came
back, and the rate after it (without the start of the network and the workers; with
several workers their first chunks come back together, so run enough chunks);
with `--work`, the chunks are saved as a build saves them, and their size is reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.dataset import Reference, load_dataset  # noqa: E402
from matching.build_work import CHUNK_SIZE  # noqa: E402
from matching.extraction import ExtractionSetup, extract_references  # noqa: E402
from matching.presets import preset  # noqa: E402
from matching.runners import process_runner, run_here  # noqa: E402


def mixed_references(logos: Path, covers: Path, count: int) -> list[Reference]:
    """`count` references alternating logos and covers, cycled, with absolute paths."""
    pools = [[r for r in load_dataset(folder).references if r.kind == kind]
             for folder, kind in ((logos, "logo"), (covers, "album"))]
    roots = [logos.resolve(), covers.resolve()]
    chosen = []
    for number in range(count):
        side = number % 2
        ref = pools[side][(number // 2) % len(pools[side])]
        chosen.append(Reference(number + 1, ref.band_id, ref.album_id, ref.kind, str(roots[side] / ref.path)))
    return chosen


def timed(runner):
    """`runner`, noting when each chunk comes back."""
    stamps = []

    def run(tasks, root, seed):
        for done in runner(tasks, root, seed):
            stamps.append((time.perf_counter(), len(done[0].references)))
            yield done
    return run, stamps


def measure(name: str, references: list[Reference], preset_name: str, work: Path | None) -> dict:
    configs = preset(preset_name)
    chunk_size = 1 if name == "one-by-one" else CHUNK_SIZE
    client = None
    if name.startswith("processes:"):
        runner = process_runner(int(name.split(":")[1]))
    elif name.startswith("dask:"):
        from matching.dask_runner import connect, dask_runner

        client = connect("local", int(name.split(":")[1]))
        runner = dask_runner(client)
    else:
        runner = run_here
    run, stamps = timed(runner)
    folder = None if work is None else work / name.replace(":", "-")
    setup = ExtractionSetup(folders=[folder] if folder else [], runner=run, chunk_size=chunk_size)
    started = time.perf_counter()
    try:
        extract_references(references, "/", configs, 0, setup, progress=False)
    finally:
        if client is not None:
            client.close()
    seconds = time.perf_counter() - started
    steady = None
    if len(stamps) > 1:
        steady = sum(count for _, count in stamps[1:]) / max(stamps[-1][0] - stamps[0][0], 1e-9)
    row = {"run": name, "references": len(references), "seconds": round(seconds, 1),
           "first_chunk_s": round(stamps[0][0] - started, 1),
           "references_per_second": round(len(references) / seconds, 2),
           "steady_references_per_second": None if steady is None else round(steady, 2)}
    if folder is not None:
        for kind in ("logo", "album"):
            files = list((folder / "chunks").glob(f"{kind}-*.npz"))
            count = sum(r.kind == kind for r in references)
            row[f"work_bytes_per_{kind}"] = round(sum(f.stat().st_size for f in files) / max(count, 1))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logos", type=Path, required=True, help="dataset folder whose logos to use")
    parser.add_argument("--covers", type=Path, required=True, help="dataset folder whose covers to use")
    parser.add_argument("--references", type=int, default=96)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--runs", default="one-by-one,batched,processes:2")
    parser.add_argument("--work", type=Path,
                        help="save each run's chunks under this folder (as `kyb index build` does) "
                             "and report their bytes per reference; it must not hold an earlier run's")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    references = mixed_references(args.logos, args.covers, args.references)
    rows = []
    for name in args.runs.split(","):
        rows.append(measure(name, references, args.preset, args.work))
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
