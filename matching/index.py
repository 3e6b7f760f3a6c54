"""The retrieval index: build it from references, save and open its bundle, add to it, query it.

Bundle files (inside one generation, see matching/bundle.py):

```
manifest.json                preset, path parameters, versions, counts, build timing, checksums
refs.npy                     the id map: ref_id, band_id, album_id (-1: none), kind, width, height
calibration.json             the open-set rejector per kind (absent when not calibrated)
KIND/refs.npy                rows of refs.npy in this kind's vector order
KIND/encoder/NAME.npy        codebooks and PCA of the kind's global descriptor
KIND/ann.faiss               the faiss index (faiss paths), or
KIND/vectors.npy             the vectors the BallTree is rebuilt from (balltree paths)
KIND/keypoints/...           the lazily read keypoint store (verified paths only)
KIND/ink/keypoints/...       the same for the ink-map features (paths whose extractor has `ink`)
```

A query runs its kind's path: extract, encode, search a shortlist, verify a few of it
geometrically (the best by similarity, or those with the most one-to-one matches where
the path has a prefilter; a candidate's inliers are summed over the verified views: the
SIFT of the image and, with `ink`, of its ink map), rank (candidates with at least
`min_inliers` inliers first, by inliers, then the rest by similarity), keep the best
reference per band, and ask the calibrated rejector whether the top band is believable
(`verdict` ``match`` or ``unknown``).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController
from tqdm import tqdm

from data.augment import augment_reference
from data.dataset import Reference
from data.renditions import render_print
from features.local import LocalFeatures
from features.normalize import l2_normalize
from matching.bundle import BundleError, Generation, GenerationWriter, open_generation
from matching.crops import read_image
from matching.encode import GlobalEncoder
from matching.extract import Extraction, Extractor
from matching.keypoints import KeypointStore, table_name, write_shard
from matching.openset import OpenSetRejector, feature_names, rank_features
from matching.presets import KINDS, PathConfig, preset
from matching.search import BallTreeSearch, FaissSearch, make_searcher
from matching.verify import GeometricVerifier, placement_agreement

#: The last entry of the seed of a reference's renditions (its first: the index seed and ref_id).
RENDITION_STREAM = 1
#: Candidates verified before the prefilter on paths with `early_accept`.
EARLY_CANDIDATES = 2
REF_DTYPE = np.dtype([("ref_id", "<i8"), ("band_id", "<i8"), ("album_id", "<i8"), ("kind", "<U5"),
                      ("width", "<i4"), ("height", "<i4")])
NO_ALBUM = -1


def progress_bar(iterable, enabled: bool, **kwargs):
    disabled = not enabled or os.environ.get("KYB_NO_PROGRESS") == "1"
    return tqdm(iterable, disable=disabled, leave=False, **kwargs)


@dataclass
class Candidate:
    """One reference on a query's ranking; `inliers` is None where it was not verified.

    A verified candidate also keeps, for the open-set rejector, the one-to-one `matches`
    its inliers were fitted among (both summed over the views) and, on paths verified on
    two views, their fits' `view_agreement` (`matching.verify.placement_agreement`). On
    paths that fuse two global parts, every candidate keeps its `part_similarity`.
    """

    ref_id: int
    band_id: int
    album_id: int | None
    similarity: float
    inliers: int | None = None
    matches: int | None = None
    view_agreement: float | None = None
    part_similarity: float | None = None   # on the first fused part (`KindPath.scores_parts`)

    def to_json(self) -> dict:
        return {"ref_id": self.ref_id, "band_id": self.band_id, "album_id": self.album_id,
                "score": round(self.similarity, 4), "inliers": self.inliers}


@dataclass
class MatchResult:
    """A query's answer: the best reference of each of the top bands, best first."""

    kind: str
    candidates: list[Candidate]
    verdict: str
    confidence: float | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    features: np.ndarray | None = None     # the rejector's input, kept for calibration

    @property
    def band_id(self) -> int | None:
        """The answered band, or None for ``unknown``."""
        return self.candidates[0].band_id if self.verdict == "match" and self.candidates else None

    def to_json(self) -> dict:
        return {"kind": self.kind, "verdict": self.verdict,
                "confidence": None if self.confidence is None else round(self.confidence, 4),
                "matches": [c.to_json() for c in self.candidates],
                "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()}}


@dataclass
class KindPath:
    """One kind's fitted pipeline and its share of the references."""

    config: PathConfig
    extractor: Extractor
    encoder: GlobalEncoder
    searcher: BallTreeSearch | FaissSearch
    rows: np.ndarray                       # vector order -> row of the id map
    vectors: np.ndarray | None = None      # kept for BallTree paths (rebuilt from them)
    stores: dict[str, KeypointStore] = field(default_factory=dict)  # per view, once saved
    new_keypoints: list[dict] = field(default_factory=list)  # {view: features} per reference not in a shard
    verifier: GeometricVerifier | None = None

    def describe(self, image: np.ndarray) -> tuple[Extraction, np.ndarray]:
        """A crop's extraction and its query vectors: one, or two with both polarities when
        the encoder reads SIFT (the CNN parts of the inverted view are the same vectors, so
        encoding and searching them again would only repeat the first query)."""
        extraction = self.extractor(image, query=True)
        views = [extraction]
        if extraction.inverted is not None and "sift_vlad" in self.encoder.parts:
            views.append(extraction.inverted)
        return extraction, self.encoder.transform(views)

    def search(self, vectors: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(vector position, similarity) of the best `k`, best first; with several query
        vectors a reference keeps its best similarity over them."""
        similarities, positions = self.searcher.search(vectors, k)
        best: dict[int, float] = {}
        for row_similarities, row_positions in zip(similarities, positions, strict=True):
            for similarity, position in zip(row_similarities.tolist(), row_positions.tolist(), strict=True):
                if position >= 0 and similarity > best.get(position, -np.inf):
                    best[position] = similarity
        return sorted(best.items(), key=lambda item: -item[1])[:k]

    @property
    def views(self) -> tuple[str, ...]:
        """The views verification compares: ``sift``, and ``ink`` where the extractor takes it."""
        return ("sift", "ink") if self.extractor.ink else ("sift",)

    @property
    def verified_views(self) -> int:
        """How many views a candidate's verification compares (0: the path does not verify)."""
        return len(self.views) if self.config.verifies else 0

    @property
    def scores_parts(self) -> bool:
        """Whether a candidate's similarity on the first fused part alone can be read from
        this path's vectors (`GlobalEncoder.separable`; the rejector's ``part_margin``
        and ``part_z``)."""
        return self.encoder.separable

    def part_similarities(self, extraction: Extraction, positions: Sequence[int]) -> np.ndarray:
        """Cosines of the crop's and the references' first fused parts (`scores_parts`),
        the references' read back from the searcher."""
        return self.encoder.first_part_similarities(
            extraction, self.searcher.reconstruct(np.asarray(positions, np.int64)))

    @property
    def rank_feature_names(self) -> tuple[str, ...]:
        """The columns of this path's open-set evidence (`ranking_features`)."""
        return feature_names(self.verified_views, self.scores_parts)

    def open_stores(self, generation: Generation, kind: str) -> None:
        """Read this path's keypoints, per view, from the saved `generation` from now on."""
        self.stores = {view: KeypointStore(generation, _store_prefix(kind, view)) for view in self.views}
        self.new_keypoints = []

    def keypoints(self, position: int) -> dict[str, LocalFeatures]:
        """Local features, per view, of the reference at vector position `position`
        (saved ones from the stores, those added since from `new_keypoints`)."""
        stored = len(self.stores["sift"]) if self.stores else 0
        if position < stored:
            return {view: self.stores[view][position] for view in self.views}
        return self.new_keypoints[position - stored]


def _reference_vectors(path: KindPath, image: np.ndarray,
                       seed: Sequence[int]) -> tuple[np.ndarray, Extraction]:
    """The reference's one vector (`_reference_vector`) and its own extraction."""
    extractions = _reference_extractions(path.extractor, path.config, image, seed)
    return _reference_vector(path.encoder, extractions, path.config.renditions), extractions[0]


def _reference_vector(encoder: GlobalEncoder, extractions: Sequence[Extraction],
                      renditions: int) -> np.ndarray:
    """The reference's one vector: the mean over its own copies (the image, its softened
    and augmented copies) and, with `renditions`, the mean over its last `renditions`
    extractions, the printed-and-photographed copies, at equal weight.

    Why equal weight, and not one mean over everything: the renditions' mean is what moves
    the vector toward where photos of prints land, but a handful of renditions alone is a
    noisy estimate of it, and the clean copies anchor it (BENCHMARKS.md, "Retrieval
    (issue 3)", 2026-12-02 (third session))."""
    vectors = encoder.transform(extractions)
    if not renditions:
        return l2_normalize(vectors.mean(axis=0))
    own, printed = vectors[:-renditions], vectors[-renditions:]
    return l2_normalize(l2_normalize(own.mean(axis=0)) + l2_normalize(printed.mean(axis=0)))


def _reference_extractions(extractor: Extractor, config: PathConfig, image: np.ndarray,
                           seed: Sequence[int]) -> list[Extraction]:
    """Extractions whose vectors make the reference's one vector, renditions last; the
    first one's keypoints are stored for verification (the softened copy's, with
    `reference_blur`). The copies serve the vector alone, so they are extracted without
    the features only verification reads (the ink map, and SIFT when the encoder takes
    no SIFT-VLAD)."""
    for_vectors = _vector_extractor(extractor, config)
    if config.reference_blur:
        extractions = [extractor(_softened(image, config.reference_blur, extractor.sift_max_side)),
                       for_vectors(image)]
    else:
        extractions = [extractor(image)]
    if config.augment:
        rng = np.random.default_rng(list(seed))
        source = image.astype(np.float32) / 255.0
        for _ in range(config.augment):
            extractions.append(for_vectors(np.clip(augment_reference(source, rng) * 255.0, 0, 255)))
    if config.renditions:
        # A stream of its own, so that the renditions stay the same whatever `augment` is.
        rng = np.random.default_rng([*seed, RENDITION_STREAM])
        extractions.extend(for_vectors(render_print(image, rng)) for _ in range(config.renditions))
    return extractions


def _vector_extractor(extractor: Extractor, config: PathConfig) -> Extractor:
    """`extractor` less what only verification reads: the ink map always, and SIFT (with
    its second polarity) when the encoder has no SIFT-VLAD part."""
    if "sift_vlad" in GlobalEncoder(**config.encoder).parts:
        return dataclasses.replace(extractor, ink=False)
    return dataclasses.replace(extractor, ink=False, sift=None, both_polarities=False)


def _softened(image: np.ndarray, sigma: float, working_side: int) -> np.ndarray:
    """The image blurred by `sigma` pixels as seen at `working_side` (SIFT shrinks larger
    images to it, so a larger image needs a proportionally wider blur)."""
    scale = max(1.0, max(image.shape[:2]) / working_side)
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma * scale)


def _verification_query(extraction: Extraction, views: Sequence[str],
                        strongest: int | None = None) -> dict[str, LocalFeatures]:
    """The crop's features to verify with, per view: SIFT of both polarities where there
    are two, and the ink map's; with `strongest`, only that many of each (features are
    strongest first)."""
    sift = [extraction.sift] if extraction.inverted is None else [extraction.sift, extraction.inverted.sift]
    query = {"sift": sift, "ink": [extraction.ink]}
    merged = {}
    for view in views:
        parts = [part.head(strongest) for part in query[view]] if strongest is not None else query[view]
        merged[view] = parts[0] if len(parts) == 1 else LocalFeatures(
            np.concatenate([p.keypoints for p in parts]), np.concatenate([p.descriptors for p in parts]))
    return merged


def _verify_features(extraction: Extraction, path: KindPath) -> dict[str, LocalFeatures]:
    """A reference's features to store for verification, per view."""
    return {view: getattr(extraction, view).head(path.config.verify_keypoints) for view in path.views}


def _store_prefix(kind: str, view: str) -> str:
    """Where a view's keypoint store lies in the bundle (``sift``: where it always has)."""
    return kind if view == "sift" else f"{kind}/{view}"


def _versions() -> dict:
    versions = {"python": platform.python_version()}
    for package in ("know-your-bands", "numpy", "scikit-learn", "faiss-cpu", "opencv-contrib-python",
                    "tensorflow", "keras"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


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

    # ----------------------------------------------------------------------- build

    @classmethod
    def build(cls, references: Sequence[Reference], root: str | Path, preset_name: str = "default",
              configs: dict[str, PathConfig] | None = None, seed: int = 0,
              progress: bool = True) -> RetrievalIndex:
        """Extract, fit and index `references` (image paths relative to `root`).

        `configs` overrides the named preset's path configurations (tests use tiny ones).
        """
        started = time.perf_counter()
        configs = configs or preset(preset_name)
        root = Path(root)
        refs = np.zeros(0, REF_DTYPE)
        paths = {}
        # Refuse a kind the preset cannot index before extracting any other kind (minutes).
        by_kind = {kind: [r for r in references if r.kind == kind] for kind in KINDS}
        for kind, chosen in by_kind.items():
            if chosen and kind not in configs:
                raise ValueError(f"the preset has no {kind} path for the {len(chosen)} {kind} references")
        for kind, chosen in by_kind.items():
            if not chosen:
                continue
            config = configs[kind]
            extractor = Extractor.from_params(config.extractor)
            sizes, per_ref = [], []
            for ref in progress_bar(chosen, progress, desc=f"{kind} references", unit="ref"):
                image = read_image(root / ref.path)
                sizes.append(image.shape[:2])
                per_ref.append(_reference_extractions(extractor, config, image, (seed, ref.ref_id)))
            encoder = GlobalEncoder(**config.encoder).fit([e for copies in per_ref for e in copies])
            vectors = np.stack([_reference_vector(encoder, copies, config.renditions) for copies in per_ref])
            start = len(refs)
            refs = np.concatenate([refs, _ref_rows(chosen, sizes)])
            searcher = make_searcher(config.searcher, config.searcher_params).fit(vectors)
            path = KindPath(
                config=config, extractor=extractor, encoder=encoder, searcher=searcher,
                rows=np.arange(start, len(refs), dtype=np.int64),
                vectors=vectors if config.searcher == "balltree" else None,
                verifier=GeometricVerifier(**config.verifier) if config.verifies else None)
            if config.verifies:
                path.new_keypoints = [_verify_features(copies[0], path) for copies in per_ref]
            paths[kind] = path
        if not paths:
            raise ValueError("no references to index")
        seconds = time.perf_counter() - started
        info = {"seconds": round(seconds, 2), "references": len(refs),
                "references_per_second": round(len(refs) / seconds, 3)}
        return cls(preset_name, refs, paths, build_info=info, seed=seed)

    def add(self, references: Sequence[Reference], root: str | Path, progress: bool = True) -> int:
        """Append references not yet indexed (by ref_id) with the fitted encoders; returns
        how many were added. Codebooks and PCA are not retrained."""
        root = Path(root)
        known = set(self.refs["ref_id"].tolist())
        fresh = [r for r in references if r.ref_id not in known]
        missing_kinds = {r.kind for r in fresh} - set(self.paths)
        if missing_kinds:
            raise ValueError(f"the index has no {', '.join(sorted(missing_kinds))} path to add to; "
                             "rebuild it with these references")
        for kind, path in self.paths.items():
            chosen = [r for r in fresh if r.kind == kind]
            if not chosen:
                continue
            vectors, sizes = [], []
            for ref in progress_bar(chosen, progress, desc=f"new {kind} references", unit="ref"):
                image = read_image(root / ref.path)
                sizes.append(image.shape[:2])
                vector, extraction = _reference_vectors(path, image, (self.seed, ref.ref_id))
                vectors.append(vector)
                if path.config.verifies:
                    path.new_keypoints.append(_verify_features(extraction, path))
            vectors = np.stack(vectors)
            start = len(self.refs)
            self.refs = np.concatenate([self.refs, _ref_rows(chosen, sizes)])
            path.rows = np.concatenate([path.rows, np.arange(start, len(self.refs), dtype=np.int64)])
            if isinstance(path.searcher, FaissSearch):
                path.searcher.add(vectors)
            else:  # a BallTree cannot grow: rebuild it on old and new vectors (nothing is trained)
                path.vectors = np.concatenate([path.vectors, vectors])
                path.searcher = make_searcher("balltree", path.config.searcher_params).fit(path.vectors)
        return len(fresh)

    # ----------------------------------------------------------------------- query

    def query(self, image: np.ndarray, kind: str, top_k: int = 10) -> MatchResult:
        """Rank the bands of `kind` references for one crop (see the module docstring).

        The native thread pools of BLAS and OpenMP (numpy, faiss) are held to one thread
        meanwhile. Why: their idle workers spin for a while after each of the query's many
        small products and, on a 2-core machine, starve TensorFlow's and OpenCV's own pools;
        measured on covers, this alone halves the time of a query. The limit is
        process-wide, which suits the server: each of its workers is a process answering
        one request at a time.
        """
        with _native_thread_pools().limit(limits=1):
            return self._query(image, kind, top_k)

    def _query(self, image: np.ndarray, kind: str, top_k: int) -> MatchResult:
        if kind not in self.paths:
            raise ValueError(f"this index has no {kind} references (it has: {', '.join(self.paths)})")
        path = self.paths[kind]
        timings = {}
        started = time.perf_counter()
        extraction, vectors = path.describe(image)
        timings["features"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        found = path.search(vectors, max(path.config.shortlist, top_k))
        timings["search"] = (time.perf_counter() - started) * 1000
        shortlist = [(self._candidate(path, position, similarity), position)
                     for position, similarity in found]
        if path.scores_parts and shortlist:
            parts = path.part_similarities(extraction, [position for _, position in shortlist])
            for (candidate, _), part_similarity in zip(shortlist, parts.tolist(), strict=True):
                candidate.part_similarity = part_similarity
        started = time.perf_counter()
        verified = path.config.verifies
        if verified:
            self._verify(path, extraction, shortlist)
        candidates = [candidate for candidate, _ in shortlist]
        if verified:
            threshold = path.config.min_inliers
            candidates.sort(key=lambda c: (-(c.inliers or 0) if (c.inliers or 0) >= threshold else 0,
                                           -c.similarity))
        timings["verify"] = (time.perf_counter() - started) * 1000
        ranking = _best_per_band(candidates)
        features = ranking_features(ranking, path.verified_views)
        rejector = self.rejectors.get(kind)
        confidence = float(rejector.confidence(features)[0]) if rejector is not None else None
        verdict = "unknown" if rejector is not None and confidence < rejector.threshold_ else "match"
        return MatchResult(kind, ranking[:top_k], verdict, confidence, timings, features)

    def _verify(self, path: KindPath, extraction: Extraction, shortlist: list[tuple[Candidate, int]]) -> None:
        """Set `inliers` of the shortlist entries chosen for verification: with
        `early_accept`, the first `EARLY_CANDIDATES`, and the rest only when neither of
        them is already convincing."""
        query = _verification_query(extraction, path.views)

        def verify(entries):
            for candidate, position in entries:
                if candidate.inliers is None:
                    ref = self.refs[path.rows[position]]
                    size = (float(ref["width"]), float(ref["height"]))
                    reference = path.keypoints(position)
                    fits = [path.verifier.verify(query[view], reference[view], size) for view in path.views]
                    candidate.inliers = sum(fit.inliers for fit in fits)
                    candidate.matches = sum(fit.matches for fit in fits)
                    if len(fits) > 1:
                        candidate.view_agreement = placement_agreement(
                            [fit.homography for fit in fits], size, (extraction.width, extraction.height))

        if path.config.early_accept:
            first = shortlist[:EARLY_CANDIDATES]
            verify(first)
            if any(candidate.inliers >= path.config.early_accept for candidate, _ in first):
                return
        verify(self._to_verify(path, extraction, shortlist))

    @staticmethod
    def _to_verify(path: KindPath, extraction: Extraction,
                   shortlist: list[tuple[Candidate, int]]) -> list[tuple[Candidate, int]]:
        """The shortlist entries to verify: the `verify` best by similarity, or with a
        prefilter the `verify` of its best `prefilter` with the most one-to-one matches
        (ties keep the similarity order)."""
        config = path.config
        if not config.prefilter:
            return shortlist[:config.verify]
        pool = shortlist[:config.prefilter]
        query = _verification_query(extraction, path.views, config.prefilter_keypoints)
        counts = []
        for _, position in pool:
            reference = path.keypoints(position)
            counts.append(sum(path.verifier.count_matches(query[view], reference[view])
                              for view in path.views))
        order = sorted(range(len(pool)), key=lambda i: -counts[i])
        return [pool[i] for i in order[:config.verify]]

    def _candidate(self, path: KindPath, position: int, similarity: float) -> Candidate:
        ref = self.refs[path.rows[position]]
        album = int(ref["album_id"])
        return Candidate(int(ref["ref_id"]), int(ref["band_id"]), None if album == NO_ALBUM else album,
                         similarity)

    # ----------------------------------------------------------------------- save / open

    def save(self, root: str | Path) -> Generation:
        """Write the index as a new generation of the bundle at `root` (atomically)."""
        root = Path(root)
        with GenerationWriter(root) as writer:
            writer.save_array("refs.npy", self.refs)
            manifest_paths = {}
            for kind, path in self.paths.items():
                writer.save_array(f"{kind}/refs.npy", path.rows)
                for name, array in path.encoder.state().items():
                    writer.save_array(f"{kind}/encoder/{name}.npy", array)
                if isinstance(path.searcher, FaissSearch):
                    writer.save_bytes(f"{kind}/ann.faiss", path.searcher.to_bytes())
                else:
                    writer.save_array(f"{kind}/vectors.npy", path.vectors)
                if path.config.verifies:
                    self._save_keypoints(writer, kind, path, self.generation)
                manifest_paths[kind] = {"config": path.config.to_dict(), "encoder": path.encoder.get_params(),
                                        "dimension": int(path.encoder.dimension_),
                                        "references": len(path.rows),
                                        "learned_sha256": path.extractor.learned_sha256()}
            if self.rejectors:
                writer.save_json("calibration.json", {k: r.to_json() for k, r in self.rejectors.items()})
            kinds = {kind: int((self.refs["kind"] == kind).sum()) for kind in KINDS}
            generation = writer.commit({
                "preset": self.preset_name, "seed": self.seed, "paths": manifest_paths,
                "counts": {"references": len(self.refs), **kinds,
                           "bands": len(np.unique(self.refs["band_id"]))},
                "build": self.build_info, "versions": _versions(),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            })
        self.generation = generation
        for kind, path in self.paths.items():
            if path.config.verifies:
                path.open_stores(generation, kind)
        return generation

    @staticmethod
    def _save_keypoints(writer: GenerationWriter, kind: str, path: KindPath, base: Generation | None) -> None:
        """Per view: reuse the shards already stored, write the new features as one more shard."""
        for view in path.views:
            prefix = _store_prefix(kind, view)
            table = np.zeros((0, 3), np.int64)
            if path.stores:
                table = path.stores[view].table
                for name in base.manifest["files"]:
                    if name.startswith(f"{prefix}/keypoints/shard-"):
                        writer.reuse(name, base)
            if path.new_keypoints or not path.stores:
                shard = int(table[:, 0].max()) + 1 if len(table) else 0
                features = [per_view[view] for per_view in path.new_keypoints]
                table = np.concatenate([table, write_shard(writer, prefix, shard, features)])
            writer.save_array(table_name(prefix), table)

    @classmethod
    def open(cls, root: str | Path, verify: bool = True) -> RetrievalIndex:
        """Open the bundle's current generation; `BundleError` when it is unusable."""
        generation = open_generation(root, verify=verify)
        manifest = generation.manifest
        try:
            refs = generation.array("refs.npy")
            paths = {}
            for kind, info in manifest["paths"].items():
                config = PathConfig.from_dict(info["config"])
                prefix = f"{kind}/encoder/"
                arrays = {name[len(prefix):-4]: generation.array(name)
                          for name in manifest["files"] if name.startswith(prefix)}
                encoder = GlobalEncoder.from_state(info["encoder"], arrays)
                vectors = None
                if config.searcher == "faiss":
                    searcher = FaissSearch.from_bytes(generation.bytes(f"{kind}/ann.faiss"),
                                                      **{k: v for k, v in config.searcher_params.items()
                                                         if k == "nprobe"})
                else:
                    vectors = generation.array(f"{kind}/vectors.npy")
                    searcher = make_searcher("balltree", config.searcher_params).fit(vectors)
                extractor = Extractor.from_params(config.extractor)
                _check_learned_model(generation, kind, info, extractor)
                path = KindPath(
                    config=config, extractor=extractor, encoder=encoder,
                    searcher=searcher, rows=generation.array(f"{kind}/refs.npy"), vectors=vectors,
                    verifier=GeometricVerifier(**config.verifier) if config.verifies else None)
                if config.verifies:
                    path.open_stores(generation, kind)
                paths[kind] = path
            rejectors = {}
            if "calibration.json" in manifest["files"]:
                rejectors = {k: OpenSetRejector.from_json(v)
                             for k, v in generation.json("calibration.json").items()}
            for kind, rejector in rejectors.items():
                expected = len(paths[kind].rank_feature_names)
                if rejector.n_features != expected:
                    raise ValueError(f"the {kind} rejector reads {rejector.n_features} features, "
                                     f"this program gives it {expected}")
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise BundleError(f"{generation.path}: cannot be loaded ({exc}); rebuild the index") from exc
        return cls(manifest["preset"], refs, paths, rejectors, manifest.get("build"), generation,
                   manifest.get("seed", 0))

    # ----------------------------------------------------------------------- facts

    def bytes_per_reference(self) -> dict[str, float]:
        """Bytes per reference of the search structure and of the whole saved bundle."""
        if self.generation is None:
            raise ValueError("save or open the index first")
        files = self.generation.manifest["files"]
        search = sum(info["bytes"] for name, info in files.items()
                     if name.endswith(("ann.faiss", "vectors.npy")))
        total = sum(info["bytes"] for info in files.values())
        return {"search": search / len(self.refs), "bundle": total / len(self.refs)}


def _check_learned_model(generation: Generation, kind: str, info: dict, extractor: Extractor) -> None:
    """Refuse a path whose vectors came from another learned model than the one a query
    would use (a new shipped descriptor, or a model file replaced): its similarities
    would be meaningless, silently."""
    if not extractor.learned:
        return
    recorded, current = info.get("learned_sha256"), extractor.learned_sha256()
    if recorded != current:
        built_with = f"model {recorded[:12]}" if recorded else "a model it did not record"
        raise BundleError(f"{generation.path}: the {kind} path was built with {built_with}, but "
                          f"{extractor.learned!r} is now model {current[:12]}; rebuild the index")


@functools.lru_cache(maxsize=1)
def _native_thread_pools() -> ThreadpoolController:
    """The process's BLAS and OpenMP pools, found once, at the first query (when faiss,
    numpy and OpenCV have loaded theirs)."""
    return ThreadpoolController()


def _ref_rows(references: Sequence[Reference], sizes: Sequence[tuple[int, int]]) -> np.ndarray:
    rows = np.zeros(len(references), REF_DTYPE)
    for row, (ref, (height, width)) in zip(rows, zip(references, sizes, strict=True), strict=True):
        row["ref_id"], row["band_id"] = ref.ref_id, ref.band_id
        row["album_id"] = NO_ALBUM if ref.album_id is None else ref.album_id
        row["kind"], row["width"], row["height"] = ref.kind, width, height
    return rows


def ranking_features(ranking: Sequence[Candidate], verified_views: int) -> np.ndarray:
    """The open-set rejector's input (`rank_features`) for a per-band ranking, best first,
    of a path verified on `verified_views` views (0: not verified); candidates that carry
    a `part_similarity` add the part's evidence."""
    similarities = [c.similarity for c in ranking]
    parts = [c.part_similarity for c in ranking] if ranking[0].part_similarity is not None else None
    if not verified_views:
        return rank_features(similarities, part_similarities=parts)
    top = ranking[0]
    return rank_features(similarities, [c.inliers or 0 for c in ranking], [c.matches or 0 for c in ranking],
                         (top.view_agreement or 0.0) if verified_views > 1 else None, parts)


def _best_per_band(candidates: Sequence[Candidate]) -> list[Candidate]:
    seen, ranking = set(), []
    for candidate in candidates:
        if candidate.band_id not in seen:
            seen.add(candidate.band_id)
            ranking.append(candidate)
    return ranking
