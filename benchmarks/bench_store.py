"""Band database benchmark: bulk import, lookup by ids, name search.

Targets (issue 4): import 200,000 bands into MariaDB in <= 60 s; a lookup of 10 band
ids p50 <= 5 ms; a name search over 200,000 bands p50 <= 20 ms. The thesis answered
10,000 records in 0.034 s from 116,887 bands in MySQL.

    .venv/bin/python benchmarks/bench_store.py --url mysql+pymysql://root@127.0.0.1/test \
        --bands 200000

Synthetic bands (the generator of `kyb synth`) are written to a CSV roster first,
untimed, then imported through the same importer and batched upserts `kyb db import`
uses. Tables get a `bench_` prefix and are dropped afterwards, so the benchmark can run
in a database that holds other tables.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.dataset import BAND_COLUMNS, write_csv  # noqa: E402
from data.names import band_ids, band_name, band_record  # noqa: E402
from retrieval.importers import import_roster_csv  # noqa: E402
from retrieval.normalize import name_key  # noqa: E402
from retrieval.store import Store, create_engine  # noqa: E402


def synthetic_roster(path: Path, count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    bands = [band_record(rng, band_id, band_name(rng)) for band_id in band_ids(rng, count)]
    write_csv(path, BAND_COLUMNS, bands)
    return bands


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    ordered = sorted(samples_s)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(call, repeats: int) -> tuple[list[float], list]:
    durations, results = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        results.append(call())
        durations.append(time.perf_counter() - started)
    return durations, results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="database URL (SQLite or MySQL)")
    parser.add_argument("--bands", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300, help="lookups and searches each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    store = Store(create_engine(args.url), prefix="bench_")
    store.drop_schema()
    store.create_schema()
    pick = random.Random(args.seed)
    try:
        with tempfile.TemporaryDirectory() as folder:
            roster = Path(folder) / "bands.csv"
            started = time.perf_counter()
            bands = synthetic_roster(roster, args.bands, args.seed)
            generated_s = time.perf_counter() - started
            started, cpu_started = time.perf_counter(), time.process_time()
            report = import_roster_csv(store, roster)
            import_s = time.perf_counter() - started
            import_cpu_s = time.process_time() - cpu_started
        assert report.bands == args.bands and store.counts()["bands"] == args.bands

        ids = [band["band_id"] for band in bands]
        lookup_s, found = timed(lambda: store.get_bands(pick.sample(ids, 10)), args.queries)
        assert all(len(result) == 10 for result in found)

        keys = [name_key(band["name"]) for band in bands]

        def search():
            key = pick.choice(keys)
            return store.search_bands(key[: pick.randint(3, 6)], limit=20)

        search_s, hits = timed(search, args.queries)
        assert all(hits)
    finally:
        store.drop_schema()
        store.close()

    lookup = percentiles(lookup_s)
    searched = percentiles(search_s)
    rows = [
        ("import (CSV roster, batched upserts)", f"{import_s:.1f} s",
         f"{args.bands / import_s:,.0f} bands/s", "<= 60 s"),
        ("  of which CPU time of this process", f"{import_cpu_s:.1f} s", "", ""),
        ("lookup of 10 band ids", f"p50 {lookup[0]:.2f} ms", f"p95 {lookup[1]:.2f} ms",
         "p50 <= 5 ms"),
        ("name prefix search, top 20", f"p50 {searched[0]:.2f} ms", f"p95 {searched[1]:.2f} ms",
         "p50 <= 20 ms"),
    ]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"database {store.display_url} ({store.engine.dialect.name}); {args.bands:,} "
          f"synthetic bands (generated in {generated_s:.1f} s, untimed); {args.queries} "
          f"queries each; mean search hits {statistics.mean(len(h) for h in hits):.1f}")
    print(f"| {'measure':<38} | {'result':<14} | {'':<16} | {'target':<12} |")
    print(f"|{'-' * 40}|{'-' * 16}|{'-' * 18}|{'-' * 14}|")
    for measure, first, second, target in rows:
        print(f"| {measure:<38} | {first:<14} | {second:<16} | {target:<12} |")
    met = import_s <= 60 and lookup[0] <= 5 and searched[0] <= 20
    print("all targets met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
