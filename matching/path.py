"""One kind's fitted pipeline (`KindPath`): its extractor, encoder, searcher and keypoints.

Crops of a kind are only compared with references of that kind, so the index holds one
path per kind (``logo``, ``album``), each built from its `PathConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from features.encode import GlobalEncoder
from features.extract import Extraction, Extractor
from features.local import LocalFeatures
from matching.bundle import Generation
from matching.geometry import GeometricVerifier
from matching.keypoint_codec import PQCodec, Uint8Codec, make_codec
from matching.keypoints import KeypointStore
from matching.openset import feature_names
from matching.presets import PathConfig
from matching.search import BallTreeSearch, FaissSearch, best_positions
from matching.vector_db import QdrantSearch


@dataclass
class KindPath:
    """One kind's fitted pipeline and its share of the references."""

    config: PathConfig
    encoder: GlobalEncoder
    searcher: BallTreeSearch | FaissSearch | QdrantSearch
    rows: np.ndarray                       # vector order -> row of the id map
    vectors: np.ndarray | None = None      # kept for BallTree and Qdrant paths (rebuilt from them)
    stores: dict[str, KeypointStore] = field(default_factory=dict)  # per view, once saved
    new_keypoints: list[dict] = field(default_factory=list)  # {view: features} per reference not in a shard
    new_codes: list[dict] = field(default_factory=list)  # the same, {view: codes}, as a shard saves them

    @property
    def extractor(self) -> Extractor:
        return self.config.extractor

    @property
    def verifier(self) -> GeometricVerifier:
        return self.config.verifier

    def describe(self, images: Sequence[np.ndarray]) -> list[tuple[Extraction, np.ndarray]]:
        """Each crop's extraction and its query vectors (the crops' CNN parts computed
        together, `Extractor.extract_many`): one vector, or two with both polarities when
        the encoder reads SIFT (the CNN parts of the inverted view are the same vectors, so
        encoding and searching them again would only repeat the first query)."""
        described = []
        for extraction in self.extractor.extract_many(images, query=True):
            views = [extraction]
            if extraction.inverted is not None and self.config.encoder.uses_sift:
                views.append(extraction.inverted)
            described.append((extraction, self.encoder.transform(views)))
        return described

    def search(self, vectors: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(vector position, similarity) of the best `k`, best first (`best_positions`)."""
        return best_positions(self.searcher, vectors, k)

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
        """The columns of this path's open-set evidence (`matching.openset.ranking_features`)."""
        return feature_names(self.verified_views, self.scores_parts)

    def open_stores(self, generation: Generation, kind: str) -> None:
        """Read this path's keypoints, per view, from the saved `generation` from now on."""
        self.stores = {view: KeypointStore(generation, store_prefix(kind, view)) for view in self.views}
        self.new_keypoints = []
        self.new_codes = []

    def keypoints(self, position: int) -> dict[str, LocalFeatures]:
        """Local features, per view, of the reference at vector position `position`
        (saved ones from the stores, those added since from `new_keypoints`)."""
        stored = len(self.stores["sift"]) if self.stores else 0
        if position < stored:
            return {view: self.stores[view][position] for view in self.views}
        return self.new_keypoints[position - stored]

    def keep_keypoints(self, extraction: Extraction) -> None:
        """Keep a new reference's features, per view, for verification (saved as a new
        shard), as the store will read them back: encoded and decoded by the codec they
        will be saved with. Why: the rejector is calibrated on the index before it is saved,
        and must see the inliers the saved bundle will find (``pq16`` codes cost a
        reference some of its inliers)."""
        kept, codes = {}, {}
        for view in self.views:
            codec = self.store_codec(view)
            codes[view] = codec.encode(getattr(extraction, view).head(self.config.verify_keypoints))
            kept[view] = codec.decode(*codes[view])
        self.new_keypoints.append(kept)
        self.new_codes.append(codes)

    def store_codec(self, view: str) -> Uint8Codec | PQCodec:
        """The codec `view`'s keypoints are saved with: its store's once saved, else the
        config's (`new_store_codec`)."""
        return self.stores[view].codec if self.stores else self.new_store_codec

    @cached_property
    def new_store_codec(self) -> Uint8Codec | PQCodec:
        """The codec of the stores a path saved for the first time writes (its config's)."""
        return make_codec(self.config.keypoint_codec)


def store_prefix(kind: str, view: str) -> str:
    """Where a view's keypoint store lies in the bundle (``sift``: where it always has)."""
    return kind if view == "sift" else f"{kind}/{view}"
