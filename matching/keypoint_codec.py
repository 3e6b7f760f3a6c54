"""How the keypoint store writes a reference's local features: ``uint8`` or ``pq16``.

- ``uint8``: keypoints (x, y, size, angle) as float32 and RootSIFT as one byte a value,
  144 bytes a keypoint. Every bundle built before the codec existed holds this.
- ``pq16``: positions (x, y) as float16 and RootSIFT product-quantised by faiss into 16
  bytes against a shipped codebook, 20 bytes a keypoint: 400 keypoints of a cover in
  8 KB, so a million references fit in 10 GB (issue 25). Verification reads positions and
  descriptors only; sizes and angles are not kept and read back as 0. A decoded
  descriptor is the sum of its centroids, which costs a cover some of its inliers
  (BENCHMARKS.md, Scale).

A store names its codec by the files it holds (a ``pq16`` store keeps its codebook
beside its shards), so a bundle opens the same whatever the shipped codebook becomes.
The codebook is trained on RootSIFT of photographs by `train_codebook`:

    python -m matching.keypoint_codec --photos ../shared/train-real/backgrounds \\
        --photos ../shared/train-real/logos --out features/models/kyb-rootsift-pq16.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import faiss
import numpy as np

from data.image_io import read_image, spread_sample
from features.local import SIFT_DIM, LocalFeatures, extract_sift

CODECS = ("uint8", "pq16")
#: The shipped product-quantisation codebook of ``pq16``: (16, 256, 8) float32 centroids.
SHIPPED_CODEBOOK = Path(__file__).resolve().parent.parent / "features" / "models" / "kyb-rootsift-pq16.npz"
PQ_BYTES = 16
DESCRIPTOR_SCALE = 255.0


class Uint8Codec:
    """RootSIFT as one byte a value (x 255: RootSIFT lies in [0, 1]), keypoints whole."""

    name = "uint8"

    def encode(self, features: LocalFeatures) -> tuple[np.ndarray, np.ndarray]:
        """(keypoints, codes) of `features`, as the store saves them."""
        descriptors = np.asarray(features.descriptors, np.float32)
        if descriptors.size and (descriptors.min() < 0 or descriptors.max() > 1.0 + 1e-4):
            raise ValueError("the keypoint store holds descriptors in [0, 1] (RootSIFT) only")
        codes = np.rint(np.clip(descriptors, 0, 1) * DESCRIPTOR_SCALE).astype(np.uint8)
        return np.asarray(features.keypoints, np.float32), codes

    def decode(self, keypoints: np.ndarray, codes: np.ndarray) -> LocalFeatures:
        return LocalFeatures(np.array(keypoints, np.float32), codes.astype(np.float32) / DESCRIPTOR_SCALE)

    def empty(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((0, 4), np.float32), np.zeros((0, SIFT_DIM), np.uint8)


class PQCodec:
    """Positions as float16, RootSIFT as 16 product-quantisation codes (faiss)."""

    name = "pq16"

    def __init__(self, centroids: np.ndarray):
        centroids = np.ascontiguousarray(centroids, np.float32)
        if centroids.shape != (PQ_BYTES, 256, SIFT_DIM // PQ_BYTES):
            raise ValueError(f"a pq16 codebook is (16, 256, 8) centroids, got {centroids.shape}")
        self.centroids = centroids
        self.quantizer = faiss.ProductQuantizer(SIFT_DIM, PQ_BYTES, 8)
        faiss.copy_array_to_vector(centroids.ravel(), self.quantizer.centroids)

    @classmethod
    def shipped(cls) -> PQCodec:
        with np.load(SHIPPED_CODEBOOK, allow_pickle=False) as saved:
            return cls(saved["centroids"])

    def encode(self, features: LocalFeatures) -> tuple[np.ndarray, np.ndarray]:
        if not len(features):
            return self.empty()
        positions = np.asarray(features.keypoints[:, :2], np.float16)
        if not np.isfinite(positions).all():
            raise ValueError("keypoint positions beyond float16's range (65,504 pixels)")
        descriptors = np.ascontiguousarray(features.descriptors, np.float32)
        return positions, self.quantizer.compute_codes(descriptors)

    def decode(self, positions: np.ndarray, codes: np.ndarray) -> LocalFeatures:
        keypoints = np.zeros((len(positions), 4), np.float32)
        keypoints[:, :2] = positions
        descriptors = self.quantizer.decode(np.ascontiguousarray(codes, np.uint8)) if len(codes) else \
            np.zeros((0, SIFT_DIM), np.float32)
        return LocalFeatures(keypoints, descriptors)

    def empty(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((0, 2), np.float16), np.zeros((0, PQ_BYTES), np.uint8)


def make_codec(name: str) -> Uint8Codec | PQCodec:
    """The named codec (``pq16`` with the shipped codebook)."""
    if name == "uint8":
        return Uint8Codec()
    if name == "pq16":
        return PQCodec.shipped()
    raise ValueError(f"keypoint codec must be one of {CODECS}, got {name!r}")


def train_codebook(photos: list[Path], keypoints_per_photo: int = 500) -> np.ndarray:
    """A pq16 codebook: faiss k-means (256 centroids in each of 16 sub-spaces) over the
    RootSIFT of `photos` (their strongest `keypoints_per_photo` each, at 640 px)."""
    descriptors = [extract_sift(image, keypoints_per_photo, 640).descriptors
                   for image in map(read_image, photos)]
    training = np.ascontiguousarray(np.concatenate(descriptors), np.float32)
    if len(training) < 256 * 39:
        raise ValueError(f"{len(training)} descriptors are too few to train 256 centroids a sub-space")
    quantizer = faiss.ProductQuantizer(SIFT_DIM, PQ_BYTES, 8)
    quantizer.train(training)
    return faiss.vector_to_array(quantizer.centroids).reshape(PQ_BYTES, 256, SIFT_DIM // PQ_BYTES)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the pq16 keypoint codebook on photographs.")
    parser.add_argument("--photos", type=Path, action="append", required=True,
                        help="a folder of images (repeat for several)")
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write")
    parser.add_argument("--count", type=int, default=300,
                        help="images used a folder, spread over its sorted names")
    args = parser.parse_args(argv)
    chosen = spread_sample(args.photos, args.count)
    centroids = train_codebook(chosen)
    np.savez_compressed(args.out, centroids=centroids)
    print(f"{args.out}: {centroids.shape} centroids from {len(chosen)} images")


if __name__ == "__main__":
    main()
