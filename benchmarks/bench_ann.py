"""ANN scale benchmark: the default preset's search index with a million references.

    nice .venv/bin/python benchmarks/bench_ann.py --n 1000000 --json /tmp/bench_ann.json

Vectors are synthetic and clustered like a real gallery (references of one band or one
artwork style sit near each other): `--clusters` Gaussian centres in the default
dimension (256), points scattered around them, L2-normalised. Queries are other points
of the same clusters, as a crop is a noisy view of its reference. Ground truth is exact
inner-product search (faiss IndexFlatIP, all threads). Each configuration of
`matching.search.FaissSearch` is built once (time, index bytes, peak memory) and then
searched one query at a time on ONE thread, per `nprobe`: latency p50/p95/mean and
recall@10 against the exact top 10.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from features.normalize import l2_normalize  # noqa: E402
from matching.search import FaissSearch  # noqa: E402


def clustered_vectors(n: int, dimension: int, clusters: int, spread: float, seed: int) -> np.ndarray:
    """n unit vectors around `clusters` random centres (drawn in chunks to bound memory)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension)).astype(np.float32)
    out = np.empty((n, dimension), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        owners = rng.integers(clusters, size=stop - start)
        noise = rng.standard_normal((stop - start, dimension)).astype(np.float32) * spread
        out[start:stop] = l2_normalize(centres[owners] + noise)
    return out


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="vectors in the index")
    parser.add_argument("--dimension", type=int, default=256)
    parser.add_argument("--clusters", type=int, default=20_000)
    parser.add_argument("--spread", type=float, default=0.6, help="noise std relative to a centre's")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--nlist", type=int, nargs="+", default=[1024])
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--index-type", default="ivf-sq8", choices=["ivf-sq8", "ivf-sq4"],
                        help="ivf-sq4: half a byte per dimension (issue 25's compact vectors)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    import faiss

    build_threads = faiss.omp_get_max_threads()
    started = time.perf_counter()
    both = clustered_vectors(args.n + args.queries, args.dimension, args.clusters, args.spread, args.seed)
    vectors, queries = both[:args.n], both[args.n:]
    print(f"data: {args.n} x {args.dimension} in {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    exact = faiss.IndexFlatIP(args.dimension)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    print(f"exact top-10 of {args.queries} queries: {time.perf_counter() - started:.1f} s", flush=True)
    del exact

    report = {"n": args.n, "dimension": args.dimension, "clusters": args.clusters, "spread": args.spread,
              "queries": args.queries, "threads_build": build_threads, "threads_search": 1, "configs": []}
    for nlist in args.nlist:
        faiss.omp_set_num_threads(build_threads)
        started = time.perf_counter()
        searcher = FaissSearch(index_type=args.index_type, nlist=nlist).fit(vectors)
        build_s = time.perf_counter() - started
        index_bytes = len(searcher.to_bytes())
        faiss.omp_set_num_threads(1)
        for nprobe in args.nprobe:
            searcher.index_.nprobe = nprobe
            latencies, found = [], []
            for query in queries:
                tick = time.perf_counter()
                _, rows = searcher.search(query[None], 10)
                latencies.append((time.perf_counter() - tick) * 1000)
                found.append(rows[0])
            recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
            quantiser = args.index_type.split("-")[1].upper()
            row = {"index": f"IVF{nlist},{quantiser}", "nlist": nlist, "nprobe": nprobe,
                   "build_s": round(build_s, 1),
                   "index_bytes_per_vector": round(index_bytes / args.n, 1),
                   "peak_rss_mib": round(peak_rss_mib()), "recall_at_10": round(recall, 4),
                   "latency_ms_p50": round(float(np.percentile(latencies, 50)), 3),
                   "latency_ms_p95": round(float(np.percentile(latencies, 95)), 3),
                   "latency_ms_mean": round(float(np.mean(latencies)), 3)}
            report["configs"].append(row)
            print(json.dumps(row), flush=True)
        del searcher
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
