"""A shipped projection of the GeM part to fewer dimensions: a fused logo vector in 1 KiB.

The default logo vector fuses the learned descriptor (256-D) with a 1,280-D ImageNet GeM
vector: 1,536 bytes a reference in the SQ8 index, past issue 25's 1 KiB. With
`EncoderConfig.gem_projection` the GeM part is projected on the leading right singular
vectors of *uncentred* GeM vectors of real photographs and logo designs (sklearn
TruncatedSVD; uncentred for the reason `features.encode` gives for ``"svd"``), then
L2-normalised. The basis is fitted once on training material, not on the gallery, so a
gallery of 14 logos is encoded like one of 200,000, and the learned part, which the
rejector reads back from the index, is left as it was. A bundle keeps the basis it was
built with (`GlobalEncoder.state`).

    python -m features.gem_projection --photos ../shared/train-real/backgrounds \\
        --photos ../shared/train-real/logos --out features/models/kyb-gem-svd512.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.decomposition import TruncatedSVD

from data.image_io import read_image, spread_sample
from features.extract import Extractor
from features.normalize import l2_normalize

#: The shipped basis: (512, 1280) components, stored as float16.
SHIPPED_PROJECTION = Path(__file__).resolve().parent / "models" / "kyb-gem-svd512.npz"
#: The logo path's GeM (`matching.presets`, default preset) that the shipped basis was fitted on.
TRAINING_EXTRACTOR = {"learned": "shipped", "gem_shared": True}


def load_projection(name: str) -> np.ndarray:
    """The (components, GeM dimension) float32 basis of ``"shipped"`` or of an .npz path."""
    path = SHIPPED_PROJECTION if name == "shipped" else Path(name)
    if not path.is_file():
        raise ValueError(f"gem_projection must be 'shipped' or the path of a basis file: no file {path}")
    with np.load(path, allow_pickle=False) as saved:
        return np.asarray(saved["components"], np.float32)


def project(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """GeM vectors (n, D) on `basis` (k, D): (n, k) float32 unit vectors."""
    return l2_normalize(l2_normalize(np.asarray(vectors, np.float32)) @ basis.T)


def train_projection(images: list[np.ndarray], components: int = 512, seed: int = 0,
                     batch: int = 32) -> np.ndarray:
    """The basis: TruncatedSVD of the unit GeM vectors of `images` (RGB uint8), fitted
    with `components` components."""
    if len(images) <= components:
        raise ValueError(f"{len(images)} images are too few for {components} components")
    extractor = Extractor(**TRAINING_EXTRACTOR)
    vectors = [extraction.gem for start in range(0, len(images), batch)
               for extraction in extractor.extract_many(images[start:start + batch])]
    svd = TruncatedSVD(components, algorithm="randomized", n_iter=7, random_state=seed)
    return svd.fit(l2_normalize(np.stack(vectors))).components_.astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fit the GeM projection on photographs and logo designs.")
    parser.add_argument("--photos", type=Path, action="append", required=True,
                        help="a folder of images (repeat for several)")
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write")
    parser.add_argument("--components", type=int, default=512)
    parser.add_argument("--count", type=int, default=1200, help="images used a folder, spread over its names")
    args = parser.parse_args(argv)
    chosen = spread_sample(args.photos, args.count)
    basis = train_projection([read_image(path) for path in chosen], args.components)
    np.savez_compressed(args.out, components=basis.astype(np.float16))
    print(f"{args.out}: {basis.shape} components from {len(chosen)} images")


if __name__ == "__main__":
    main()
