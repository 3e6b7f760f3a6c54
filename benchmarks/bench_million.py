"""Scale benchmark: a bundle of a million references, opened and queried as a server does.

    .venv/bin/python benchmarks/bench_million.py build --logos LOGO_INDEX --covers COVER_INDEX \
        --references 1000000 --out /tmp/m1 --json /tmp/m1-build.json
    .venv/bin/python benchmarks/bench_million.py query --index /tmp/m1 \
        --logo-crops ../shared/real/flickrlogos27-half --cover-crops ../shared/real/smvs-dvd-canon \
        --json /tmp/m1-query.json

`build` takes two real bundles of the default preset as seeds (one with logos, one with
covers) and writes a bundle of `--references` references with their paths, encoders and
calibration, through the same code as `kyb index build` (`save_index`, then the keypoint
stores in shards of the seeds' codec). Its vectors are synthetic, clustered like a real
gallery (`bench_ann.clustered_vectors`), of the seeds' dimensions, in the default
searcher (faiss IVF-SQ8); its keypoints are the seeds' stored ones, cycled, so every
reference keeps features of real size and kind. Recall@10 of the search against exact
search is measured there, on held-out points of the same clusters.

`query` opens the bundle as a `kyb serve` worker does (mapped, not re-hashed) and runs
the real crops of two datasets through `RetrievalIndex.query`: the match time
(search, verification, ranking, rejection) is the query's time less its feature
extraction, which does not depend on the gallery's size and is reported apart. Each
crop's candidates are references of no real band, so every logo query verifies its 30
candidates and every cover query counts matches over 100 and verifies 8: the slow path.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_ann import clustered_vectors  # noqa: E402
from matching.bundle import GenerationWriter, open_generation  # noqa: E402
from matching.index import RetrievalIndex  # noqa: E402
from matching.keypoints import save_codec, table_name, write_encoded_shard  # noqa: E402
from matching.path import KindPath, store_prefix  # noqa: E402
from matching.refs import NO_ALBUM, REF_DTYPE  # noqa: E402
from matching.search import FaissSearch  # noqa: E402

SHARD_REFERENCES = 50_000
RECALL_QUERIES = 500


def memory_mib() -> dict:
    """Resident memory of this process now, in MiB: in all, its own (anonymous) pages, and
    the pages of mapped files, which the page cache shares between the server's workers
    and the kernel may drop; with the files that hold most of them."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    kib = {key: int(status[key].split()[0]) for key in ("VmRSS", "RssAnon", "RssFile")}
    by_file: dict[str, int] = {}
    name = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):
            name = fields[5] if len(fields) > 5 else ""
        elif fields[0] == "Rss:" and name.startswith("/"):
            by_file[name] = by_file.get(name, 0) + int(fields[1])
    largest = sorted(by_file.items(), key=lambda item: -item[1])[:8]
    return {"rss": round(kib["VmRSS"] / 1024), "anonymous": round(kib["RssAnon"] / 1024),
            "files": round(kib["RssFile"] / 1024),
            "largest_files": {name: round(size / 1024) for name, size in largest}}


def seed_codes(path: KindPath, view: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The seed's stored (positions, codes) of each reference, as its store holds them."""
    store = path.stores[view]
    encoded = []
    for shard, start, count in store.table.tolist():
        positions, codes = store.shards[shard]
        encoded.append((positions.rows(start, count), codes.rows(start, count)))
    return encoded


def build(args) -> dict:
    seeds = {"logo": RetrievalIndex.open(args.logos), "album": RetrievalIndex.open(args.covers)}
    counts = {"logo": round(args.references * args.logo_share)}
    counts["album"] = args.references - counts["logo"]
    refs = np.zeros(args.references, REF_DTYPE)
    paths, report = {}, {"references": args.references, "counts": counts, "nlist": args.nlist, "kinds": {}}
    offset = 0
    for kind, seed in seeds.items():
        seed_path, n = seed.paths[kind], counts[kind]
        rows = np.arange(offset, offset + n)
        refs["ref_id"][rows] = rows + 1
        refs["band_id"][rows] = rows // 5 + 1  # five references a band
        refs["album_id"][rows] = rows + 1 if kind == "album" else NO_ALBUM
        refs["kind"][rows], refs["width"][rows], refs["height"][rows] = kind, 600, 600
        dimension = seed_path.encoder.dimension_
        started = time.perf_counter()
        vectors = clustered_vectors(n + RECALL_QUERIES, dimension, max(1, n // 50), args.spread, args.seed)
        vectors, queries = vectors[:n], vectors[n:]
        config = dataclasses.replace(seed_path.config, searcher_params={"nlist": args.nlist})
        searcher = FaissSearch(**config.searcher_params).fit(vectors)
        fit_s = time.perf_counter() - started
        report["kinds"][kind] = {"dimension": dimension, "fit_s": round(fit_s, 1),
                                 "recall_at_10": round(recall_at_10(searcher, vectors, queries), 4)}
        print(kind, report["kinds"][kind], flush=True)
        del vectors
        paths[kind] = KindPath(config=config, encoder=seed_path.encoder, searcher=searcher, rows=rows)
        offset += n
    rejectors = {kind: seed.rejectors[kind] for kind, seed in seeds.items() if kind in seed.rejectors}
    started = time.perf_counter()
    index = RetrievalIndex("million", refs, paths, rejectors, {"benchmark": "bench_million"})
    first = index.save(args.out)  # every file but the keypoint stores, which are empty here
    with GenerationWriter(args.out) as writer:
        stores = []
        for kind, path in paths.items():
            for view in path.views:
                prefix = store_prefix(kind, view)
                stores.append(prefix)
                write_store(writer, prefix, seeds[kind].paths[kind], view, len(path.rows))
        for name in first.manifest["files"]:
            if not any(name.startswith(f"{prefix}/keypoints/") for prefix in stores):
                writer.reuse(name, first)
        body = {key: value for key, value in first.manifest.items()
                if key not in ("format", "format_version", "files")}
        writer.commit(body)
    report["save_s"] = round(time.perf_counter() - started, 1)
    report.update(disk_report(args.out, args.references))
    return report


def write_store(writer: GenerationWriter, prefix: str, seed_path: KindPath, view: str, n: int) -> None:
    """The keypoint store of `n` references under `prefix`: the seed's stored features, cycled."""
    codec = seed_path.stores[view].codec
    save_codec(writer, prefix, codec)
    encoded = seed_codes(seed_path, view)
    tables = []
    for shard, start in enumerate(range(0, n, SHARD_REFERENCES)):
        chunk = [encoded[row % len(encoded)] for row in range(start, min(n, start + SHARD_REFERENCES))]
        tables.append(write_encoded_shard(writer, prefix, shard, chunk, codec))
    writer.save_array(table_name(prefix), np.concatenate(tables))


def recall_at_10(searcher: FaissSearch, vectors: np.ndarray, queries: np.ndarray) -> float:
    """Recall@10 of `searcher` against exact inner-product search over `vectors`."""
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    _, found = searcher.search(queries, 10)
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def disk_report(root: Path, references: int) -> dict:
    files = open_generation(root, verify=False).manifest["files"]
    parts = {"search": ("ann.faiss", "vectors.npy"), "keypoints": ("/keypoints/",)}
    sizes = {part: sum(info["bytes"] for name, info in files.items() if any(key in name for key in keys))
             for part, keys in parts.items()}
    total = sum(info["bytes"] for info in files.values())
    return {"disk_gb": round(total / 1e9, 2),
            "bytes_per_reference": {**{k: round(v / references) for k, v in sizes.items()},
                                    "bundle": round(total / references)}}


def query(args) -> dict:
    from data.crops import ground_truth_crops, iter_crop_images
    from data.dataset import load_dataset

    before = memory_mib()
    started = time.perf_counter()
    index = RetrievalIndex.open(args.index, verify=False, mapped=True)
    report = {"open_s": round(time.perf_counter() - started, 2), "memory_mib_before_open": before,
              "memory_mib_open": memory_mib(), "kinds": {}}
    for kind, folder in (("logo", args.logo_crops), ("album", args.cover_crops)):
        dataset = load_dataset(folder)
        crops = [c for c in ground_truth_crops(dataset, args.split) if c.kind == kind][:args.queries]
        match_ms, features_ms, verify_ms = [], [], []
        for _, image in iter_crop_images(dataset, crops):
            started = time.perf_counter()
            result = index.query(image, kind)
            total = (time.perf_counter() - started) * 1000
            features_ms.append(result.timings_ms["features"])
            verify_ms.append(result.timings_ms["verify"])
            match_ms.append(total - result.timings_ms["features"])
        report["kinds"][kind] = {"queries": len(match_ms), **percentiles("match_ms", match_ms),
                                 **percentiles("verify_ms", verify_ms),
                                 **percentiles("features_ms", features_ms), "memory_mib_after": memory_mib()}
        print(kind, report["kinds"][kind], flush=True)
    return report


def percentiles(name: str, values: list[float]) -> dict:
    return {f"{name}_p50": round(float(np.percentile(values, 50)), 1),
            f"{name}_p95": round(float(np.percentile(values, 95)), 1)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    making = steps.add_parser("build", help="write the bundle")
    making.add_argument("--logos", type=Path, required=True, help="a default-preset bundle of logos (seed)")
    making.add_argument("--covers", type=Path, required=True, help="a default-preset bundle of covers (seed)")
    making.add_argument("--references", type=int, default=1_000_000)
    making.add_argument("--logo-share", type=float, default=0.2,
                        help="share of logos (Metal Archives: about one logo to four covers)")
    making.add_argument("--nlist", type=int, default=1024, help="IVF cells of each kind's faiss index")
    making.add_argument("--spread", type=float, default=0.6,
                        help="noise of a vector around its cluster centre")
    making.add_argument("--seed", type=int, default=0)
    making.add_argument("--out", type=Path, required=True)
    asking = steps.add_parser("query", help="open the bundle mapped and time real crops")
    asking.add_argument("--index", type=Path, required=True)
    asking.add_argument("--logo-crops", type=Path, required=True, help="dataset whose logo crops are queries")
    asking.add_argument("--cover-crops", type=Path, required=True,
                        help="dataset whose cover crops are queries")
    asking.add_argument("--split", default="test")
    asking.add_argument("--queries", type=int, default=100, help="crops of each kind")
    for step in (making, asking):
        step.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    report = build(args) if args.step == "build" else query(args)
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
