"""The retrieval index: references of every kind, searchable; build, add to, query, save, open.

A query runs its kind's path as five named steps:

1. describe: extract the crop's features and encode its global vector
   (`features.extract`, `features.encode`; `KindPath.describe`);
2. search: a shortlist of the nearest references (`matching.search`);
3. verify: RANSAC fits for the shortlist entries worth one (`matching.verify`);
4. rank: verified candidates first, the best reference per band (`matching.rank`);
5. reject: the calibrated rejector's verdict on the top band, ``match`` or ``unknown``
   (`matching.openset`).

The bundle on disk is `matching.persist`'s; the reference-vector recipe is
`features.reference_vector`'s.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from data.dataset import Reference
from features.encode import GlobalEncoder
from features.extract import Extraction
from features.reference_vector import reference_vector
from matching.bundle import Generation
from matching.extraction import ExtractionSetup, extract_references
from matching.openset import OpenSetRejector, ranking_features
from matching.path import KindPath
from matching.persist import open_index, save_index
from matching.presets import KINDS, PathConfig, preset
from matching.rank import Candidate, MatchResult, best_per_band, order_by_inliers
from matching.refs import REF_DTYPE, album_of, ref_rows
from matching.search import FaissSearch, make_searcher
from matching.verify import verify_shortlist


class RetrievalIndex:
    """References of every kind, searchable; build with `build`, load with `open`."""

    def __init__(self, preset_name: str, refs: np.ndarray, paths: dict[str, KindPath],
                 rejectors: dict[str, OpenSetRejector] | None = None, build_info: dict | None = None,
                 generation: Generation | None = None, seed: int = 0):
        self.preset_name = preset_name
        self.refs = refs
        self.paths = paths
        self.rejectors = dict(rejectors or {})
        self.build_info = dict(build_info or {})
        self.generation = generation
        self.seed = seed

    # ----------------------------------------------------------------------- what it holds

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of reference this index holds (a crop of another kind has nothing to match)."""
        return tuple(self.paths)

    def verifies(self, kind: str) -> bool:
        """Whether `kind` answers carry geometric verification (inlier counts)."""
        return self.paths[kind].config.verifies

    def calibrated(self, kind: str) -> bool:
        """Whether `kind` has an open-set rejector (else every answer is ``match``)."""
        return kind in self.rejectors

    # ----------------------------------------------------------------------- build

    @classmethod
    def build(cls, references: Sequence[Reference], root: str | Path, preset_name: str = "default",
              configs: dict[str, PathConfig] | None = None, seed: int = 0, progress: bool = True,
              extraction: ExtractionSetup | None = None) -> RetrievalIndex:
        """Extract, fit and index `references` (image paths relative to `root`).

        `configs` overrides the named preset's path configurations (tests use tiny ones);
        `extraction` says who extracts and where the extractions are kept (default: this
        process, in memory; `matching.extraction`).
        """
        started = time.perf_counter()
        configs = configs or preset(preset_name)
        # Refuse a kind the preset cannot index before extracting any other kind (minutes).
        for kind in KINDS:
            chosen = sum(r.kind == kind for r in references)
            if chosen and kind not in configs:
                raise ValueError(f"the preset has no {kind} path for the {chosen} {kind} references")
        if not references:
            raise ValueError("no references to index")
        extracted = extract_references(references, root, configs, seed, extraction or ExtractionSetup(),
                                       progress)
        refs, paths = np.zeros(0, REF_DTYPE), {}
        for kind, chosen in extracted.gather().items():
            config = configs[kind]
            per_ref = chosen.extractions
            encoder = GlobalEncoder.from_config(config.encoder).fit([e for copies in per_ref for e in copies])
            vectors = np.stack([reference_vector(encoder, copies, config.renditions) for copies in per_ref])
            start = len(refs)
            refs = np.concatenate([refs, ref_rows(chosen.references, chosen.sizes)])
            path = KindPath(config=config, encoder=encoder,
                            searcher=make_searcher(config.searcher, config.searcher_params).fit(vectors),
                            rows=np.arange(start, len(refs), dtype=np.int64),
                            vectors=None if config.searcher == "faiss" else vectors)
            if config.verifies:
                for copies in per_ref:
                    path.keep_keypoints(copies[0])
            paths[kind] = path
        seconds = time.perf_counter() - started
        info = {"seconds": round(seconds, 2), "references": len(refs),
                "references_per_second": round(len(refs) / seconds, 3),
                "extraction_seconds": round(extracted.seconds, 2)}
        return cls(preset_name, refs, paths, build_info=info, seed=seed)

    def add(self, references: Sequence[Reference], root: str | Path, progress: bool = True) -> int:
        """Append references not yet indexed (by ref_id) with the fitted encoders; returns
        how many were added. Codebooks and PCA are not retrained."""
        known = set(self.refs["ref_id"].tolist())
        fresh = [r for r in references if r.ref_id not in known]
        missing_kinds = {r.kind for r in fresh} - set(self.paths)
        if missing_kinds:
            raise ValueError(f"the index has no {', '.join(sorted(missing_kinds))} path to add to; "
                             "rebuild it with these references")
        if not fresh:
            return 0
        configs = {kind: path.config for kind, path in self.paths.items()}
        extracted = extract_references(fresh, root, configs, self.seed, ExtractionSetup(), progress)
        for kind, chosen in extracted.gather().items():
            path = self.paths[kind]
            vectors = np.stack([reference_vector(path.encoder, copies, path.config.renditions)
                                for copies in chosen.extractions])
            if path.config.verifies:
                for copies in chosen.extractions:
                    path.keep_keypoints(copies[0])
            start = len(self.refs)
            self.refs = np.concatenate([self.refs, ref_rows(chosen.references, chosen.sizes)])
            path.rows = np.concatenate([path.rows, np.arange(start, len(self.refs), dtype=np.int64)])
            if isinstance(path.searcher, FaissSearch):
                path.searcher.add(vectors)
            else:  # the searcher of the vectors kept: rebuilt on old and new ones (nothing is trained)
                path.vectors = np.concatenate([path.vectors, vectors])
                config = path.config
                path.searcher = make_searcher(config.searcher, config.searcher_params).fit(path.vectors)
        return len(fresh)

    # ----------------------------------------------------------------------- query

    def query(self, image: np.ndarray, kind: str, top_k: int = 10) -> MatchResult:
        """Rank the bands of `kind` references for one crop (the module docstring's steps)."""
        return self.query_many([image], kind, top_k)[0]

    def query_many(self, images: Sequence[np.ndarray], kind: str, top_k: int = 10) -> list[MatchResult]:
        """`query` for each of several crops of one kind, described together (their CNN
        parts in a few batched calls); each answer is the one its crop gets alone. Each
        result's ``features`` time is its share of the batch's.

        The native thread pools of BLAS and OpenMP (numpy, faiss) are held to one thread
        meanwhile. Why: their idle workers spin for a while after each of the query's many
        small products and, on a 2-core machine, starve TensorFlow's and OpenCV's own
        pools. The limit is process-wide, which suits the server: each of its workers is a
        process answering one request at a time.
        """
        if kind not in self.paths:
            raise ValueError(f"this index has no {kind} references (it has: {', '.join(self.paths)})")
        if not images:
            return []
        path = self.paths[kind]
        with _native_thread_pools().limit(limits=1):
            started = time.perf_counter()
            described = path.describe(images)
            features_ms = (time.perf_counter() - started) * 1000 / len(images)
            return [self._answer(path, kind, extraction, vectors, top_k, features_ms)
                    for extraction, vectors in described]

    def _answer(self, path: KindPath, kind: str, extraction: Extraction, vectors: np.ndarray, top_k: int,
                features_ms: float) -> MatchResult:
        """Steps 2 to 5 for one described crop: search, verify, rank, reject."""
        timings = {"features": features_ms}
        started = time.perf_counter()
        shortlist = self._shortlist(path, extraction, vectors, max(path.config.shortlist, top_k))
        timings["search"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        candidates = [candidate for candidate, _ in shortlist]
        if path.config.verifies:
            verify_shortlist(path, self.refs, extraction, shortlist)
            candidates = order_by_inliers(candidates, path.config.min_inliers)
        timings["verify"] = (time.perf_counter() - started) * 1000
        ranking = best_per_band(candidates)
        features = ranking_features(ranking, path.verified_views)
        confidence, verdict, probability = self._reject(kind, features)
        verified = path.config.verifies and (ranking[0].inliers or 0) >= path.config.min_inliers
        return MatchResult(kind, ranking[:top_k], verdict, confidence, timings, features, verified,
                           probability)

    def _shortlist(self, path: KindPath, extraction: Extraction, vectors: np.ndarray,
                   k: int) -> list[tuple[Candidate, int]]:
        """The search step: (candidate, vector position) of the `k` nearest references."""
        shortlist = []
        for position, similarity in path.search(vectors, k):
            ref = self.refs[path.rows[position]]
            shortlist.append((Candidate(int(ref["ref_id"]), int(ref["band_id"]), album_of(ref), similarity),
                              position))
        if path.scores_parts and shortlist:
            parts = path.part_similarities(extraction, [position for _, position in shortlist])
            for (candidate, _), part_similarity in zip(shortlist, parts.tolist(), strict=True):
                candidate.part_similarity = part_similarity
        return shortlist

    def _reject(self, kind: str, features: np.ndarray) -> tuple[float | None, str, float | None]:
        """The reject step: the rejector's score, the verdict, and the calibrated
        probability that the top band is right."""
        rejector = self.rejectors.get(kind)
        if rejector is None:
            return None, "match", None
        confidence = float(rejector.confidence(features)[0])
        probability = rejector.probability(features)
        return (confidence, "match" if rejector.accept(features)[0] else "unknown",
                None if probability is None else float(probability[0]))

    # ----------------------------------------------------------------------- save / open

    def save(self, root: str | Path) -> Generation:
        """Write the index as a new generation of the bundle at `root` (atomically)."""
        self.generation = save_index(root, self.preset_name, self.seed, self.refs, self.paths,
                                     self.rejectors, self.build_info, self.generation)
        return self.generation

    @classmethod
    def open(cls, root: str | Path, verify: bool = True, mapped: bool = False) -> RetrievalIndex:
        """Open the bundle's current generation; `BundleError` when it is unusable.
        `verify`: check every file's sha256; `mapped`: map the search indexes read-only
        (for serving; such an index cannot be added to)."""
        saved = open_index(root, verify, mapped)
        return cls(saved.preset_name, saved.refs, saved.paths, saved.rejectors, saved.build_info,
                   saved.generation, saved.seed)

    def bytes_per_reference(self) -> dict[str, float]:
        """Bytes per reference of the search structure, of the keypoint stores that
        verification reads, and of the whole saved bundle."""
        if self.generation is None:
            raise ValueError("save or open the index first")
        files = self.generation.manifest["files"]
        search = sum(info["bytes"] for name, info in files.items()
                     if name.endswith(("ann.faiss", "vectors.npy")))
        verification = sum(info["bytes"] for name, info in files.items() if "/keypoints/" in name)
        total = sum(info["bytes"] for info in files.values())
        return {"search": search / len(self.refs), "verification": verification / len(self.refs),
                "bundle": total / len(self.refs)}


@functools.lru_cache(maxsize=1)
def _native_thread_pools() -> ThreadpoolController:
    """The process's BLAS and OpenMP pools, found once, at the first query (when faiss,
    numpy and OpenCV have loaded theirs)."""
    return ThreadpoolController()
