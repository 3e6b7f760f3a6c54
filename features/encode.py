"""Extractions -> one global vector per image: VLAD and/or GeM parts, fused, PCA-whitened.

The encoder is where a preset's global descriptor is decided:

- ``sift_vlad``: VLAD of the SIFT/RootSIFT descriptors (the thesis's descriptor);
- ``conv5_vlad``: VLAD of the Lite0 conv5 cells (the thesis's second descriptor);
- ``gem``: the GeM-pooled CNN vector of `features.extract`;
- ``learned``: the learned logo descriptor of `features.logo_descriptor`.

One part is used as it is; two are fused by `features.fusion.fuse`. `gem_projection`
first projects the GeM part on a basis fitted on real images (`features.gem_projection`),
so a fused logo vector fits in 1 KiB. A projection then shrinks the result to a compact
dimension for the ANN index:

- ``"pca-whiten"`` / ``"pca"``: `features.pca.PcaWhitening` with or without whitening;
- ``"svd"``: projection on the leading right singular vectors of the *uncentred*
  reference vectors (sklearn TruncatedSVD), then L2. Dot products with a reference are
  kept exactly as far as the reference lies in the kept subspace, so with no more
  references than dimensions the ranking is that of the full vectors. Centring
  (PCA) shifts every vector by the gallery mean, which on our galleries cost a third of
  the top-1 accuracy of VLAD: crops have far fewer keypoints than references, so their
  VLAD vectors sit apart from the references' mean and centring distorts them
  (BENCHMARKS.md, Retrieval).

Everything learnt (codebooks, projection) is fitted on the references only and saved in
the bundle as plain arrays (`state` / `from_state`), never pickled, so `kyb index add`
encodes new references with exactly the old model.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.utils.validation import check_is_fitted

from features.codebook import Codebook, check_int
from features.extract import Extraction
from features.fusion import fuse, leading_part
from features.gem_projection import load_projection, project
from features.normalize import l2_normalize
from features.pca import PcaWhitening
from features.vlad import VladEncoder

PARTS = ("sift_vlad", "conv5_vlad", "gem", "learned")
#: Parts that are already one global vector per image: nothing to fit.
GLOBAL_PARTS = ("gem", "learned")
PROJECTIONS = (None, "pca", "pca-whiten", "svd")


def _descriptor_sets(extractions: Sequence[Extraction], source: str) -> list[np.ndarray]:
    sets = [getattr(extraction, source) for extraction in extractions]
    if any(s is None for s in sets):
        raise ValueError(f"the extractions lack {source!r} features this encoder needs")
    return [s.descriptors for s in sets]


@dataclass(frozen=True)
class EncoderConfig:
    """The validated parameters of a `GlobalEncoder` (see its docstring), as a preset and
    a bundle's manifest give them."""

    parts: tuple[str, ...] = ("sift_vlad",)
    sift_clusters: int = 64
    conv5_clusters: int = 16
    intra_norm: bool = True
    power_norm: bool = True
    fusion_weight: float = 0.5
    projection: str | None = "svd"
    components: int = 512
    sample_size: int = 100_000
    random_state: int | None = 0
    gem_projection: str | None = None

    def __post_init__(self):
        parts = tuple(self.parts) if not isinstance(self.parts, str) else (self.parts,)
        if not 1 <= len(parts) <= 2 or len(set(parts)) != len(parts) or not set(parts) <= set(PARTS):
            raise ValueError(f"parts must be one or two distinct names of {PARTS}, got {parts!r}")
        object.__setattr__(self, "parts", parts)
        for name in ("sift_clusters", "conv5_clusters", "components", "sample_size"):
            check_int(name, getattr(self, name), 1)
        for name in ("intra_norm", "power_norm"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if (not isinstance(self.fusion_weight, numbers.Real) or isinstance(self.fusion_weight, bool)
                or not 0 <= self.fusion_weight <= 1):
            raise ValueError(f"fusion_weight must lie in [0, 1], got {self.fusion_weight!r}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {self.projection!r}")
        if self.random_state is not None:
            check_int("random_state", self.random_state, 0)
        projects_gem = isinstance(self.gem_projection, str) and "gem" in parts
        if self.gem_projection is not None and not projects_gem:
            raise ValueError(f"gem_projection ('shipped' or a basis file) needs a gem part, got "
                             f"{self.gem_projection!r} with parts {parts!r}")

    def params(self) -> dict:
        """JSON-ready parameters, as a preset or manifest gives them (`matching.presets.PathConfig`)."""
        return {**asdict(self), "parts": list(self.parts)}

    @property
    def uses_sift(self) -> bool:
        """Whether the encoder reads SIFT descriptors (a SIFT-VLAD part)."""
        return "sift_vlad" in self.parts


class GlobalEncoder(BaseEstimator, TransformerMixin):
    """Fit codebooks and PCA on reference extractions; encode extractions as global vectors.

    Parameters: `parts` (one or two of `PARTS`), `sift_clusters` and `conv5_clusters`
    (VLAD k), `intra_norm` and `power_norm` (VLAD variant, see `features.vlad`),
    `fusion_weight` (weight of the second part), `projection` (one of `PROJECTIONS`, see
    the module docstring) to `components` dimensions (fewer when there are fewer
    references), `sample_size` (descriptors sampled for k-means), `random_state`,
    `gem_projection` (``"shipped"`` or a basis file: the GeM part projected first, see
    `features.gem_projection`). Fitted: ``vlad_`` (part -> VladEncoder), ``gem_basis_``
    (array or None), ``projection_`` (PcaWhitening, TruncatedSVD or None), ``dimension_``.
    """

    def __init__(self, parts: Sequence[str] = ("sift_vlad",), sift_clusters: int = 64,
                 conv5_clusters: int = 16, intra_norm: bool = True, power_norm: bool = True,
                 fusion_weight: float = 0.5, projection: str | None = "svd", components: int = 512,
                 sample_size: int = 100_000, random_state: int | None = 0,
                 gem_projection: str | None = None):
        self.parts = parts
        self.sift_clusters = sift_clusters
        self.conv5_clusters = conv5_clusters
        self.intra_norm = intra_norm
        self.power_norm = power_norm
        self.fusion_weight = fusion_weight
        self.projection = projection
        self.components = components
        self.sample_size = sample_size
        self.random_state = random_state
        self.gem_projection = gem_projection

    @classmethod
    def from_config(cls, config: EncoderConfig) -> GlobalEncoder:
        """An unfitted encoder with `config`'s parameters."""
        return cls(**config.params())

    def _check_params(self) -> tuple[str, ...]:
        return EncoderConfig(**self.get_params()).parts

    def _vlad(self, part: str) -> VladEncoder:
        clusters = self.sift_clusters if part == "sift_vlad" else self.conv5_clusters
        return VladEncoder(n_clusters=clusters, intra_norm=self.intra_norm, power_norm=self.power_norm,
                           sample_size=self.sample_size, random_state=self.random_state)

    def fit(self, extractions: Sequence[Extraction], y=None) -> GlobalEncoder:
        """Fit on the references' extractions (at least two images)."""
        parts = self._check_params()
        self.gem_basis_ = load_projection(self.gem_projection) if self.gem_projection else None
        self.vlad_ = {}
        for part in parts:
            if part not in GLOBAL_PARTS:
                source = part.removesuffix("_vlad")
                self.vlad_[part] = self._vlad(part).fit(_descriptor_sets(extractions, source))
        raw = self._raw(extractions)
        self.projection_ = None
        if self.projection == "svd":
            # TruncatedSVD needs fewer components than samples and features; with that many
            # the kept subspace already holds every reference.
            components = min(self.components, len(raw) - 1, raw.shape[1] - 1)
            if components < 1:
                raise ValueError(f"an SVD projection needs at least 2 references, got {len(raw)}")
            self.projection_ = TruncatedSVD(components, algorithm="randomized", n_iter=7,
                                            random_state=self.random_state).fit(raw)
        elif self.projection is not None:
            self.projection_ = PcaWhitening(self.components, whiten=self.projection == "pca-whiten",
                                            random_state=self.random_state).fit(raw)
        self.dimension_ = raw.shape[1] if self.projection_ is None else len(self._basis())
        return self

    def _basis(self) -> np.ndarray:
        """The projection's (dimension, raw dimension) components."""
        projection = self.projection_
        return projection.components_ if isinstance(projection, TruncatedSVD) else projection.pca_.components_

    def _part(self, part: str, extractions: Sequence[Extraction]) -> np.ndarray:
        if part in GLOBAL_PARTS:
            vectors = [getattr(extraction, part) for extraction in extractions]
            if any(v is None for v in vectors):
                raise ValueError(f"the extractions lack the {part!r} vector this encoder needs")
            if part == "gem" and self.gem_basis_ is not None:
                return project(np.stack(vectors), self.gem_basis_)
            return l2_normalize(np.stack(vectors))
        source = part.removesuffix("_vlad")
        return self.vlad_[part].transform(_descriptor_sets(extractions, source))

    def _raw(self, extractions: Sequence[Extraction]) -> np.ndarray:
        """The fused vectors before PCA, (n, D) float32."""
        vectors = [self._part(part, extractions) for part in self.parts]
        if len(vectors) == 1:
            return vectors[0]
        return fuse(vectors[0], vectors[1], self.fusion_weight)

    @property
    def separable(self) -> bool:
        """Whether an encoded vector's first part can be read back from it: two global
        parts fused and left unprojected (`first_part_similarities`)."""
        parts = tuple(self.parts)
        return len(parts) == 2 and self.projection is None and set(parts) <= set(GLOBAL_PARTS)

    def first_part_similarities(self, extraction: Extraction, encoded: np.ndarray) -> np.ndarray:
        """Cosines of one extraction's first part with the first parts of `encoded`
        vectors (rows of `transform`'s output); only for a `separable` encoder."""
        if not self.separable:
            raise ValueError(f"parts {tuple(self.parts)} with projection {self.projection!r} "
                             "cannot be read back from the encoded vectors")
        query = self._part(self.parts[0], [extraction])[0]
        return leading_part(encoded, len(query)) @ query

    def transform(self, extractions: Sequence[Extraction]) -> np.ndarray:
        """(n, dimension_) float32 unit vectors."""
        check_is_fitted(self, "dimension_")
        raw = self._raw(extractions)
        if self.projection_ is None:
            return raw
        return l2_normalize(self.projection_.transform(raw))

    # ------------------------------------------------------------------ persistence

    def state(self) -> dict[str, np.ndarray]:
        """Everything fitted, as named arrays (see `from_state`)."""
        check_is_fitted(self, "dimension_")
        arrays = {f"{part}.centroids": encoder.codebook_.cluster_centers_
                  for part, encoder in self.vlad_.items()}
        if isinstance(self.projection_, TruncatedSVD):
            arrays["svd.components"] = self.projection_.components_
        elif self.projection_ is not None:
            pca = self.projection_.pca_
            arrays.update({"pca.mean": pca.mean_, "pca.components": pca.components_,
                           "pca.explained_variance": pca.explained_variance_})
        if self.gem_basis_ is not None:
            arrays["gem.projection"] = self.gem_basis_
        arrays = {name: np.asarray(array, np.float32) for name, array in arrays.items()}
        arrays["dimension"] = np.array([self.dimension_], np.int64)
        return arrays

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> GlobalEncoder:
        """A fitted encoder from `get_params()` and `state()` output, without refitting."""
        encoder = cls(**params)
        parts = encoder._check_params()
        encoder.gem_basis_ = (np.asarray(arrays["gem.projection"], np.float32)
                              if encoder.gem_projection else None)
        encoder.vlad_ = {}
        for part in parts:
            if part in GLOBAL_PARTS:
                continue
            centroids = np.asarray(arrays[f"{part}.centroids"], np.float32)
            vlad = encoder._vlad(part)
            vlad.codebook_ = Codebook(n_clusters=len(centroids))
            vlad.codebook_.cluster_centers_ = centroids
            vlad.codebook_.n_features_in_ = vlad.n_features_in_ = centroids.shape[1]
            encoder.vlad_[part] = vlad
        encoder.projection_ = None
        if encoder.projection == "svd":
            components = np.asarray(arrays["svd.components"], np.float32)
            encoder.projection_ = TruncatedSVD(len(components))
            encoder.projection_.components_ = components
            encoder.projection_.n_features_in_ = components.shape[1]
        elif encoder.projection is not None:
            components = np.asarray(arrays["pca.components"], np.float32)
            whiten = encoder.projection == "pca-whiten"
            whitening = PcaWhitening(encoder.components, whiten=whiten)
            whitening.pca_ = PCA(n_components=len(components), whiten=whiten)
            whitening.pca_.mean_ = np.asarray(arrays["pca.mean"], np.float32)
            whitening.pca_.components_ = components
            whitening.pca_.explained_variance_ = np.asarray(arrays["pca.explained_variance"], np.float32)
            whitening.pca_.n_components_ = whitening.n_components_ = len(components)
            whitening.pca_.n_features_in_ = whitening.n_features_in_ = components.shape[1]
            encoder.projection_ = whitening
        encoder.dimension_ = int(arrays["dimension"][0])
        return encoder
