"""The vector-database searcher against faiss (issue 25): does Qdrant (local mode) give
the top 10 faiss gives, on 100,000 vectors?

    nice .venv/bin/python benchmarks/bench_vector_db.py --n 100000 --dimension 1536 \
        --json /tmp/bench_vector_db.json

Vectors are bench_ann.py's clustered unit vectors. Recall@10 of Qdrant's answers is
measured against faiss's exact search (flat) and against the default SQ8 index; latency
is per query, one at a time. Local mode is Qdrant's embedded exact search (a server's
HNSW index is what production would run; the client code is the same).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_ann import clustered_vectors  # noqa: E402
from matching.search import FaissSearch  # noqa: E402
from matching.vector_db import QdrantSearch  # noqa: E402


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=1536)
    parser.add_argument("--clusters", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    both = clustered_vectors(args.n + args.queries, args.dimension, args.clusters, 0.6, 0)
    vectors, queries = both[:args.n], both[args.n:]
    report = {"n": args.n, "dimension": args.dimension, "queries": args.queries}
    answers = {}
    for name, searcher in (("faiss-flat", FaissSearch("flat")), ("faiss-sq8", FaissSearch("sq8")),
                           ("qdrant-local", QdrantSearch())):
        started = time.perf_counter()
        searcher.fit(vectors)
        build_s = time.perf_counter() - started
        latencies, rows = [], []
        for query in queries:
            tick = time.perf_counter()
            rows.append(searcher.search(query[None], 10)[1][0])
            latencies.append((time.perf_counter() - tick) * 1000)
        answers[name] = np.array(rows)
        report[name] = {"build_s": round(build_s, 1),
                        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2)}
        print(name, json.dumps(report[name]), flush=True)
    report["qdrant_recall_at_10_vs_exact"] = recall_at_10(answers["qdrant-local"], answers["faiss-flat"])
    report["qdrant_recall_at_10_vs_faiss_sq8"] = recall_at_10(answers["qdrant-local"], answers["faiss-sq8"])
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
