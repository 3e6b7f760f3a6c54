"""A reference's one global vector: the recipe each path applies to its reference images.

A reference is described by several copies of itself: the image (or a softened copy,
which stands for it), augmented copies, and printed-and-photographed renditions. Their
vectors are averaged into the one vector the index searches. Only the first extraction
keeps the features verification reads; the copies serve the vector alone. Why the
copies: a photo softens, recolours and prints what it shows, and a vector near where such
photos land is found more often (BENCHMARKS.md, Retrieval).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from data.augment import augment_reference
from data.renditions import render_prints
from features.codebook import check_int
from features.encode import GlobalEncoder
from features.extract import Extraction, Extractor
from features.normalize import l2_normalize

#: The last entry of the seed of a reference's renditions (its first: the index seed and ref_id).
RENDITION_STREAM = 1
#: Images a network call takes when references are extracted together.
CNN_BATCH = 64
#: Raised whenever what a recipe gives changes (2: the softened copy stands for the image
#: instead of joining it), so that a build does not resume on a work folder extracted by
#: an earlier version (`matching.build_work.fingerprint`).
RECIPE_VERSION = 2


@dataclass(frozen=True)
class ReferenceRecipe:
    """How a reference image becomes its vector.

    - `augment`: augmented copies (data/augment.py) averaged with the image's own vector;
    - `renditions`: printed-and-photographed copies (data/renditions.py) whose mean vector
      joins the reference's own at equal weight;
    - `blur`: Gaussian sigma, in pixels at the SIFT working size, of a softened copy that
      stands for the image: its keypoints are stored for verification and its vector is
      the image's own (0: the image itself). Why not both: the sharp image's vector moves
      the mean by nothing measurable and cost a cover a second SIFT extraction.
    """

    augment: int = 0
    renditions: int = 0
    blur: float = 0.0

    def __post_init__(self):
        check_int("augment", self.augment, 0)
        check_int("renditions", self.renditions, 0)
        if not isinstance(self.blur, numbers.Real) or isinstance(self.blur, bool) or not 0 <= self.blur <= 20:
            raise ValueError(f"reference_blur must be a number in [0, 20], got {self.blur!r}")


def reference_extractions(extractor: Extractor, recipe: ReferenceRecipe, image: np.ndarray,
                          seed: Sequence[int], encoder_uses_sift: bool) -> list[Extraction]:
    """Extractions whose vectors make the reference's one vector, renditions last; the
    first one's keypoints are stored for verification (the softened copy's, with a
    `blur`). The copies are extracted without the features only verification reads
    (`vector_extractor`)."""
    return reference_extractions_many(extractor, recipe, [image], [seed], encoder_uses_sift)[0]


def reference_extractions_many(extractor: Extractor, recipe: ReferenceRecipe, images: Sequence[np.ndarray],
                               seeds: Sequence[Sequence[int]], encoder_uses_sift: bool,
                               batch: int = CNN_BATCH) -> list[list[Extraction]]:
    """`reference_extractions` for each of several references, their images and copies
    going through the networks together, `batch` images a call (`Extractor.extract_many`).
    Why: a reference with renditions is a score of images, and many small network calls
    cost several times what a few full ones do. The result depends only on the images and
    on how they are grouped, so the same references in the same order always give the
    same extractions."""
    for_vectors = vector_extractor(extractor, encoder_uses_sift)
    firsts, copies = [], []
    for image, seed in zip(images, seeds, strict=True):
        first, own = _reference_copies(recipe, image, seed, extractor.sift_max_side)
        firsts.append(first)
        copies.append(own)
    first_extractions = _in_batches(extractor, firsts, batch)
    flat = _in_batches(for_vectors, [copy for own in copies for copy in own], batch)
    result, start = [], 0
    for first, own in zip(first_extractions, copies, strict=True):
        result.append([first, *flat[start:start + len(own)]])
        start += len(own)
    return result


def _reference_copies(recipe: ReferenceRecipe, image: np.ndarray, seed: Sequence[int],
                      working_side: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The image whose keypoints are stored (softened with a `blur`) and the copies that
    serve the vector alone: augmented copies, renditions."""
    first = softened(image, recipe.blur, working_side) if recipe.blur else image
    copies = []
    if recipe.augment:
        rng = np.random.default_rng(list(seed))
        source = image.astype(np.float32) / 255.0
        copies += [np.clip(augment_reference(source, rng) * 255.0, 0, 255) for _ in range(recipe.augment)]
    if recipe.renditions:
        # A stream of its own, so that the renditions stay the same whatever `augment` is.
        rng = np.random.default_rng([*seed, RENDITION_STREAM])
        copies += render_prints(image, rng, recipe.renditions)
    return first, copies


def _in_batches(extractor: Extractor, images: Sequence[np.ndarray], batch: int) -> list[Extraction]:
    """`extractor.extract_many` over `images`, `batch` at a time (bounded network inputs)."""
    return [extraction for start in range(0, len(images), batch)
            for extraction in extractor.extract_many(images[start:start + batch])]


def reference_vector(encoder: GlobalEncoder, extractions: Sequence[Extraction],
                     renditions: int) -> np.ndarray:
    """The reference's one vector: the mean over its own copies and, with `renditions`,
    the mean over its last `renditions` extractions (the renditions), at equal weight.

    Why equal weight: the renditions' mean moves the vector toward where photos of prints
    land, but a handful of renditions alone is a noisy estimate of it, and the clean
    copies anchor it (BENCHMARKS.md, Retrieval)."""
    vectors = encoder.transform(extractions)
    if not renditions:
        return l2_normalize(vectors.mean(axis=0))
    own, printed = vectors[:-renditions], vectors[-renditions:]
    return l2_normalize(l2_normalize(own.mean(axis=0)) + l2_normalize(printed.mean(axis=0)))


def vector_extractor(extractor: Extractor, encoder_uses_sift: bool) -> Extractor:
    """`extractor` less what only verification reads: the ink map always, and SIFT (with
    its second polarity) when the encoder has no SIFT-VLAD part."""
    if encoder_uses_sift:
        return dataclasses.replace(extractor, ink=False)
    return dataclasses.replace(extractor, ink=False, sift=None, both_polarities=False)


def softened(image: np.ndarray, sigma: float, working_side: int) -> np.ndarray:
    """The image blurred by `sigma` pixels as seen at `working_side` (SIFT shrinks larger
    images to it, so a larger image needs a proportionally wider blur)."""
    scale = max(1.0, max(image.shape[:2]) / working_side)
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma * scale)
