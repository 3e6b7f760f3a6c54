"""Index presets: how each kind of reference is described, searched and verified.

A preset gives one `PathConfig` per kind (``logo``, ``album``): crops of a kind are only
compared with references of that kind, because the detector names the kind and the two
call for different descriptors. The chosen values are written into the bundle's
manifest; an opened index uses the manifest's values, never this table, so changing a
default here does not change what an existing bundle does.

- ``thesis``: the 2018 thesis, runnable as it was: SIFT (not RootSIFT), VLAD k=512 with
  global L2 only (65,536-D), exact BallTree search, no verification.
- ``imagenet-cnn``: the off-the-shelf baseline: ImageNet Lite0 conv5, GeM-pooled (grayscale
  for logos, colour for covers), in faiss, no verification, nothing trained by us. It
  measures what the learned descriptor and the verification add.
- ``default``: covers by RootSIFT-VLAD (k=64, intra-normalised, signed square root)
  fused with a colour GeM-pooled Lite0 vector, SVD-projected to 512-D in an SQ8 faiss
  index (about 0.5 KiB a reference); of its best 100, the 8 with the most one-to-one
  RootSIFT matches are verified by RANSAC and re-rank the list;
  logos by the learned logo descriptor (256-D, features/logo_descriptor.py) fused with a
  grayscale ImageNet GeM vector (1280-D projected to 512-D on a shipped basis,
  `features.gem_projection`; weight 0.4), 768-D in an SQ8 faiss index (0.76 KiB a
  reference), each reference averaged with 16 renditions of it; the best 30 verified
  with RootSIFT of both polarities and of the ink map, the two views' inliers summed.
  Both kinds verify against the keypoints of a softened copy of each reference
  (`reference_blur`), which stands for the reference in its vector too; those keypoints are stored
  product-quantised (`pq16`), 400 of a cover and 200 a view of a logo, in 8 KB a
  reference.
  BENCHMARKS.md (Retrieval) has the measurements behind these choices.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from features.codebook import check_int
from features.encode import EncoderConfig
from features.extract import Extractor
from features.reference_vector import ReferenceRecipe
from matching.geometry import GeometricVerifier
from matching.keypoint_codec import CODECS

KINDS = ("logo", "album")
SEARCHERS = ("balltree", "faiss", "qdrant")


@dataclass(frozen=True)
class PathConfig:
    """One kind's pipeline, each stage's part typed and validated once.

    - `extractor` (`features.extract.Extractor`) and `encoder`
      (`features.encode.EncoderConfig`): how a crop is described (given as objects, or
      as their parameter dicts, which are turned into them here);
    - `searcher` (``balltree`` | ``faiss`` | ``qdrant``, `matching.vector_db`) and its `searcher_params`;
    - `augment`: augmented copies of each reference (data/augment.py) whose vectors are
      averaged with the original's into the reference's one vector;
    - `renditions`: printed-and-photographed copies of each reference (data/renditions.py,
      the learned descriptor's training views) whose mean vector joins the reference's
      own at equal weight. Why: a photo of a print, above all of a mark unlike the
      generator's logos, lands nearer that mean than the clean reference
      (BENCHMARKS.md, Retrieval);
    - `shortlist`: references taken from the search for ranking and rejection;
    - `verify`: how many candidates are geometrically verified (0: none), with the
      `verifier` (`matching.geometry.GeometricVerifier`, or its parameter dict),
      `verify_keypoints` local features kept per reference and view, stored by
      `keypoint_codec` (``uint8`` or ``pq16``, `matching.keypoint_codec`: 144 or 20
      bytes a keypoint), and `min_inliers`: a candidate with at least this many inliers
      outranks every candidate with fewer;
    - `prefilter`: how many of the shortlist's best are first ranked by their count of
      one-to-one matches between the crop's `prefilter_keypoints` strongest keypoints
      and the reference's stored ones (a crop is often small: the reference's strongest
      keypoints are of a scale the crop does not show, so the reference keeps all);
      the `verify` candidates with the most matches are then verified. 0: the `verify`
      best by similarity are verified. Why: a RANSAC fit per candidate only pays for a
      few, but the true reference is often far down the global ranking (a small or
      blurred cover) while still having the most matches;
    - `early_accept` (with a prefilter): the 2 best by similarity are verified first, and
      when one of them has at least this many inliers the prefilter and the rest of the
      verification are skipped. 0: never. Why: most crops are easy (the global vector
      ranks the right cover first and it verifies with tens of inliers); they then cost
      two RANSAC fits instead of a hundred match counts.
    - `reference_blur`: Gaussian sigma, in pixels at the SIFT working size, of a softened
      copy of each reference, which stands for it: its keypoints are the ones stored for
      verification, and its vector is the reference's own. 0: none. Why: a photo softens what it
      shows (distance, focus, noise reduction, JPEG); a sharp reference's strongest
      keypoints are fine details no photo of it keeps, a softened copy's are not.
    """

    extractor: Extractor
    encoder: EncoderConfig
    searcher: str = "faiss"
    searcher_params: dict = field(default_factory=dict)
    augment: int = 0
    renditions: int = 0
    shortlist: int = 50
    verify: int = 0
    verify_keypoints: int = 500
    keypoint_codec: str = "uint8"
    min_inliers: int = 12
    prefilter: int = 0
    prefilter_keypoints: int = 300
    early_accept: int = 0
    reference_blur: float = 0.0
    verifier: GeometricVerifier = field(default_factory=GeometricVerifier)

    def __post_init__(self):
        stages = (("extractor", Extractor), ("encoder", EncoderConfig), ("verifier", GeometricVerifier))
        for name, kind in stages:
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, _from_params(kind, name, value))
            elif not isinstance(value, kind):
                raise ValueError(f"{name} must be a {kind.__name__} or its parameters, got {value!r}")
        if self.keypoint_codec not in CODECS:
            raise ValueError(f"keypoint_codec must be one of {CODECS}, got {self.keypoint_codec!r}")
        if self.searcher not in SEARCHERS:
            raise ValueError(f"searcher must be one of {SEARCHERS}, got {self.searcher!r}")
        for name, minimum in (("shortlist", 2), ("verify", 0), ("verify_keypoints", 1), ("min_inliers", 4),
                              ("prefilter", 0), ("prefilter_keypoints", 1), ("early_accept", 0)):
            check_int(name, getattr(self, name), minimum)
        ReferenceRecipe(self.augment, self.renditions, self.reference_blur)  # validates the three
        if self.verify and self.extractor.sift != "rootsift":
            raise ValueError("verification needs RootSIFT keypoints (extractor sift='rootsift')")
        if self.prefilter and not self.verify:
            raise ValueError("prefilter picks candidates for verification: it needs verify > 0")
        if self.early_accept and not self.prefilter:
            raise ValueError("early_accept skips the prefilter: it needs prefilter > 0")

    @property
    def recipe(self) -> ReferenceRecipe:
        """How each reference image becomes its vector (`features.reference_vector`)."""
        return ReferenceRecipe(self.augment, self.renditions, self.reference_blur)

    @property
    def verifies(self) -> bool:
        """Whether candidates are verified, and so whether rankings carry inlier counts
        (the query and the rejector's calibration must agree on it)."""
        return self.verify > 0

    def to_dict(self) -> dict:
        """JSON-ready: the stages' objects as their parameter dicts (`from_dict`'s input)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**values, "extractor": self.extractor.params(), "encoder": self.encoder.params(),
                "verifier": asdict(self.verifier), "searcher_params": dict(self.searcher_params)}

    @classmethod
    def from_dict(cls, values: dict) -> PathConfig:
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown path parameter(s): {unknown}")
        return cls(**values)


def _from_params(kind: type, name: str, params: dict):
    """A stage's object from its parameter dict; unknown keys are refused, not ignored."""
    unknown = sorted(set(params) - {f.name for f in fields(kind)})
    if unknown:
        raise ValueError(f"unknown {name} parameter(s): {unknown}")
    return kind(**params)


THESIS_PATH = PathConfig(
    extractor={"sift": "sift", "sift_keypoints": 1000, "sift_max_side": 640},
    encoder={"parts": ["sift_vlad"], "sift_clusters": 512, "intra_norm": False, "power_norm": False,
             "projection": None},
    searcher="balltree",
)

PRESETS: dict[str, dict[str, PathConfig]] = {
    "thesis": {"logo": THESIS_PATH, "album": THESIS_PATH},
    "imagenet-cnn": {
        "logo": PathConfig(extractor={"gem_sizes": [224, 448], "polarity": True},
                           encoder={"parts": ["gem"], "projection": None}, searcher="faiss"),
        "album": PathConfig(extractor={"gem_sizes": [320], "gem_grayscale": False},
                            encoder={"parts": ["gem"], "projection": None}, searcher="faiss"),
    },
    "default": {
        # Printed logos: the learned descriptor (features/logo_descriptor.py) fused with a
        # grayscale ImageNet GeM vector (w = 0.4) of the same input, taken from the
        # descriptor's own trunk pass (`gem_shared`), each reference averaged with 16 of its
        # printed-and-photographed renditions, finds the shortlist. The learned part knows
        # band logos, the ImageNet part brand marks unlike the generator's logos, and the
        # renditions pull each reference toward where photos of prints land (BENCHMARKS.md,
        # Retrieval: FlickrLogos-27 one-shot). RootSIFT verification (both
        # polarities) promotes a candidate only on clear geometric evidence, which clean
        # or own-colour prints still give, and verification on the ink map (`ink`) gives
        # it for prints in another colour too. The GeM part is projected to 512-D so the
        # vector fits in 1 KiB (issue 25), at the same top-1 and open-set figures. SIFT
        # enlarges crops under 256 pixels first: a quarter of real logo crops are under 75
        # (FlickrLogos-27), too few pixels a stroke for its keypoints.
        "logo": PathConfig(
            extractor={"learned": "shipped", "gem_shared": True, "sift": "rootsift", "sift_keypoints": 1000,
                       "sift_max_side": 640, "sift_min_side": 256, "polarity": True, "both_polarities": True,
                       "ink": True},
            encoder={"parts": ["learned", "gem"], "fusion_weight": 0.4, "projection": None,
                     "gem_projection": "shipped"},
            searcher="faiss",
            renditions=16,
            verify=30,
            verify_keypoints=200,
            keypoint_codec="pq16",
            min_inliers=8,
            reference_blur=2.0,
        ),
        # Covers: the global vector finds the true cover among its best 100 nearly
        # always, but a small or blurred cover is often far down that list; counting
        # one-to-one matches over all 100 picks the 8 worth a RANSAC fit. Crops whose
        # first or second candidate verifies with 40 inliers skip that (most of them).
        # Softened references: a photographed cover keeps their keypoints, not the sharp
        # ones (BENCHMARKS.md, Retrieval).
        "album": PathConfig(
            extractor={"sift": "rootsift", "sift_keypoints": 1000, "sift_max_side": 640,
                       "gem_sizes": [320], "gem_grayscale": False},
            encoder={"parts": ["sift_vlad", "gem"], "sift_clusters": 64, "fusion_weight": 0.5,
                     "projection": "svd", "components": 512},
            searcher="faiss",
            shortlist=100,
            prefilter=100,
            prefilter_keypoints=200,
            early_accept=40,
            verify=8,
            verify_keypoints=400,
            keypoint_codec="pq16",
            min_inliers=6,
            reference_blur=2.0,
        ),
    },
}


def preset(name: str) -> dict[str, PathConfig]:
    """The named preset's path configurations."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


def read_preset_file(path: str | Path) -> tuple[str, dict[str, PathConfig]]:
    """A custom preset from JSON: ``{"name": ..., "logo": {...}, "album": {...}}`` where each
    kind holds `PathConfig` fields. A kind may be left out only for datasets without
    references of it: the build refuses such references rather than skip them silently.
    ValueError if invalid."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON preset ({exc})") from exc
    if not isinstance(values, dict) or not isinstance(values.get("name"), str):
        raise ValueError(f"{path}: a preset is a JSON object with a \"name\"")
    unknown = sorted(set(values) - {"name", *KINDS})
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}")
    try:
        return values["name"], {kind: PathConfig.from_dict(values[kind]) for kind in KINDS if kind in values}
    except TypeError as exc:
        raise ValueError(f"{path}: {exc}") from exc
