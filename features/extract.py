"""What one image (a reference or a crop) gives before encoding: local features and CNN maps.

An `Extractor` runs only the extractors a preset's path needs, once per image, and
returns them together, so the same SIFT keypoints feed both VLAD and geometric
verification. Its parameters are plain values stored in the bundle's manifest, so a
query is always described exactly as the references were.

The global CNN descriptor (``gem``) is the logo path's answer to printed logos
(ARCHITECTURE.md): Lite0 conv5 on the grayscale image, generalised-mean pooled
(GeM, Radenovic et al. 2018: between average pooling, p=1, and max pooling, p->inf, so
the strongest responses of a small logo are not averaged away by its background) at a
few sizes and summed. Crops are resized to fixed long sides rather than kept at their own
size: a 60-pixel logo crop and a 700-pixel reference must reach the network at the
same scale to give comparable activations.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from data.imaging import ink_mask
from features.images import polarity_normalised, rescale, to_gray, to_rgb_float, to_uint8
from features.local import LocalFeatures, extract_sift, inverted_polarity
from features.normalize import l2_normalize

#: The backbone every CNN descriptor of this package uses.
BACKBONE = "efficientnet-lite0"


@functools.lru_cache(maxsize=1)
def backbone():
    """The process's one Lite0 backbone with ImageNet weights (built on first use: seconds)."""
    from features.backbones import build_backbone

    return build_backbone(BACKBONE)


@dataclass
class Extraction:
    """The raw material of one image; a part is None when the path does not use it.

    `inverted` (queries of paths with ``both_polarities``) holds the SIFT features of the
    image with its polarity flipped (and the same CNN parts): a crop whose border misleads
    `polarity_normalised` still meets its reference the right way round in one of the two.
    `ink` holds the SIFT features of the image's ink map (extractors with ``ink``).
    """

    width: int
    height: int
    sift: LocalFeatures | None = None
    conv5: LocalFeatures | None = None
    gem: np.ndarray | None = None
    learned: np.ndarray | None = None
    ink: LocalFeatures | None = None
    inverted: Extraction | None = None


def gem_pool(cells: np.ndarray, p: float = 3.0, eps: float = 1e-6) -> np.ndarray:
    """Generalised mean over the rows of (N, C) non-negative activations: (C,) float32."""
    cells = np.clip(np.asarray(cells, np.float64), eps, None)
    return (np.mean(cells ** p, axis=0) ** (1.0 / p)).astype(np.float32)


def _check_sizes(name: str, sizes) -> tuple[int, ...]:
    sizes = tuple(sizes)
    if not sizes or any(not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 32
                        for s in sizes):
        raise ValueError(f"{name} must be a non-empty list of integers >= 32, got {sizes!r}")
    return tuple(int(s) for s in sizes)


@dataclass(frozen=True)
class Extractor:
    """Which raw features to take from an image, and how.

    - `sift`: None (off), ``"sift"`` or ``"rootsift"``; at most `sift_keypoints`
      keypoints on the image shrunk to `sift_max_side`, or enlarged to `sift_min_side`
      (0: never) where smaller;
    - `conv5_sizes`: long sides (pixels) at which Lite0 conv5 cells are taken for
      conv5-VLAD (empty: off); `conv5_grayscale` feeds luma instead of colour;
    - `gem_sizes`: long sides for the GeM-pooled global CNN vector (empty: off), with
      `gem_p` the GeM exponent, on grayscale unless `gem_grayscale` is False;
    - `gem_shared`: the GeM vector is instead that of the learned descriptor's own input
      (grayscale, stretched to its `INPUT_SHAPE`), whose ImageNet trunk pass it shares
      (`LogoDescriptor.embed_with_imagenet_conv5`): a logo costs one network pass, not two;
    - `polarity`: grayscale inputs (SIFT, grayscale CNN) are first turned dark-ink-on-light
      by `polarity_normalised`, so a white-on-black print meets a black-on-white reference;
    - `both_polarities`: queries (``query=True``) also take the SIFT of the inverted
      image (`Extraction.inverted`, `inverted_polarity`), for crops whose border lies
      about their polarity;
    - `learned`: the learned logo descriptor (`features.logo_descriptor`): ``"shipped"``
      for the model shipped with the package, or the path of a trained model file;
    - `ink`: SIFT also on the image's ink map (`data.imaging.ink_mask`: each pixel's
      colour distance from the colour of the image's border, drawn dark on light). Why: a
      logo printed in red on a black shirt, or white on green over cloth texture, has an
      ink map like its black-on-white reference's, while its grayscale shares few
      keypoints with it; verification counts the inliers of both views.
    """

    sift: str | None = None
    sift_keypoints: int = 1000
    sift_max_side: int = 640
    sift_min_side: int = 0
    conv5_sizes: tuple[int, ...] = ()
    conv5_grayscale: bool = False
    gem_sizes: tuple[int, ...] = ()
    gem_p: float = 3.0
    gem_grayscale: bool = True
    gem_shared: bool = False
    polarity: bool = False
    both_polarities: bool = False
    learned: str | None = None
    ink: bool = False

    def __post_init__(self):
        if self.sift not in (None, "sift", "rootsift"):
            raise ValueError(f"sift must be None, 'sift' or 'rootsift', got {self.sift!r}")
        for name in ("sift_keypoints", "sift_max_side"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        value = self.sift_min_side
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) \
                or not 0 <= value <= self.sift_max_side:
            raise ValueError(f"sift_min_side must be an integer from 0 to sift_max_side, got {value!r}")
        object.__setattr__(self, "conv5_sizes",
                           _check_sizes("conv5_sizes", self.conv5_sizes) if self.conv5_sizes else ())
        object.__setattr__(self, "gem_sizes",
                           _check_sizes("gem_sizes", self.gem_sizes) if self.gem_sizes else ())
        if not isinstance(self.gem_p, numbers.Real) or self.gem_p < 1:
            raise ValueError(f"gem_p must be a number >= 1, got {self.gem_p!r}")
        for name in ("conv5_grayscale", "gem_grayscale", "gem_shared", "polarity", "both_polarities", "ink"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.learned is not None and (not isinstance(self.learned, str) or not self.learned):
            raise ValueError(f"learned must be None, 'shipped' or a model path, got {self.learned!r}")
        if self.gem_shared and (not self.learned or self.gem_sizes):
            raise ValueError("gem_shared takes the GeM vector from the learned descriptor's pass: "
                             "it needs learned, and no gem_sizes")
        if self.both_polarities and not (self.sift and self.polarity):
            raise ValueError("both_polarities needs SIFT with polarity=True")
        if self.ink and not self.sift:
            raise ValueError("ink takes SIFT on the ink map: it needs sift")

    def params(self) -> dict:
        """JSON-ready parameters, as a preset or manifest gives them (`matching.presets.PathConfig`)."""
        values = asdict(self)
        return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}

    def __call__(self, image: np.ndarray, query: bool = False) -> Extraction:
        """Extract from one RGB (or gray) image, uint8 or float in 0..255; `query` adds the
        inverted-polarity SIFT where the extractor asks for both polarities."""
        return self.extract_many([image], query)[0]

    def extract_many(self, images: Sequence[np.ndarray], query: bool = False) -> list[Extraction]:
        """`__call__` for each of `images`, with the CNN parts of all of them computed
        together: the learned descriptor in one batch (with a shared GeM, that is all),
        the GeM trunk in one call per padded shape (`Backbone.feature_maps`). A photo's
        crops then cost a few network calls instead of one or two each; each image's
        features are those it gets alone."""
        results = []
        for image in images:
            height, width = image.shape[:2]
            result = Extraction(width=width, height=height)
            if self.sift:
                result.sift = self._sift(self._sift_input(image))
            if self.conv5_sizes:
                result.conv5 = self._conv5(image)
            if self.ink:
                result.ink = self._sift(255.0 - 255.0 * ink_mask(to_rgb_float(image) / 255.0))
            results.append(result)
        if self.gem_sizes and images:
            for result, vector in zip(results, self._gem(images), strict=True):
                result.gem = vector
        if self.learned and images:
            vectors, cells = self._descriptor().embed_with_imagenet_conv5(list(images), conv5=self.gem_shared)
            for position, (result, vector) in enumerate(zip(results, vectors, strict=True)):
                result.learned = vector
                if self.gem_shared:
                    pooled = gem_pool(cells[position].reshape(-1, cells.shape[-1]), self.gem_p)
                    result.gem = l2_normalize(pooled)
        if query and self.both_polarities:
            # The CNN parts and the ink map are shared: neither depends on the polarity.
            for result in results:
                result.inverted = Extraction(result.width, result.height, sift=inverted_polarity(result.sift),
                                             conv5=result.conv5, gem=result.gem, learned=result.learned,
                                             ink=result.ink)
        return results

    def learned_sha256(self) -> str | None:
        """The learned model's weights checksum; None for an extractor without one."""
        return self._descriptor().weights_sha256() if self.learned else None

    def _descriptor(self):
        from features.logo_descriptor import load_descriptor  # imports TensorFlow: only when needed

        return load_descriptor(None if self.learned == "shipped" else self.learned)

    def _sift(self, image: np.ndarray) -> LocalFeatures:
        return extract_sift(image, self.sift_keypoints, self.sift_max_side, root=self.sift == "rootsift",
                            min_side=self.sift_min_side)

    def _sift_input(self, image: np.ndarray) -> np.ndarray:
        return self._gray(image) if self.polarity else image

    def _gray(self, image: np.ndarray) -> np.ndarray:
        gray = to_gray(to_uint8(image))
        return polarity_normalised(gray) if self.polarity else gray

    def _cnn_input(self, image: np.ndarray, grayscale: bool) -> np.ndarray:
        return self._gray(image) if grayscale else image

    def _conv5(self, image: np.ndarray) -> LocalFeatures:
        """conv5 cells at each long side of `conv5_sizes`, in the image's pixel frame."""
        from features.dense import conv5_features  # imports TensorFlow: only when needed

        source = self._cnn_input(image, self.conv5_grayscale)
        parts = []
        for size in self.conv5_sizes:
            resized, scale = rescale(source, size / max(source.shape[:2]))
            cells = conv5_features(backbone(), resized, max_side=None)
            points = cells.keypoints.copy()
            points[:, :3] = (points[:, :3] + [0.5, 0.5, 0.0]) / scale - [0.5, 0.5, 0.0]
            parts.append(LocalFeatures(points, cells.descriptors))
        return LocalFeatures(np.concatenate([p.keypoints for p in parts]),
                             np.concatenate([p.descriptors for p in parts]))

    def _gem(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per image, the sum over `gem_sizes` of the L2-normalised GeM of its conv5 cells."""
        sources = [self._cnn_input(image, self.gem_grayscale) for image in images]
        totals = [0.0] * len(sources)
        for size in self.gem_sizes:
            resized = [to_rgb_float(rescale(source, size / max(source.shape[:2]))[0]) for source in sources]
            for position, cells in enumerate(backbone().feature_maps(resized)):
                pooled = gem_pool(cells.reshape(-1, cells.shape[-1]), self.gem_p)
                totals[position] = totals[position] + l2_normalize(pooled)
        return [l2_normalize(total) for total in totals]
