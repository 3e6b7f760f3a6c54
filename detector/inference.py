"""Running a trained detector on photos of any size.

A photo is resized by its short side (aspect ratio kept, see `DetectorConfig`), run
through the networks, and its boxes are mapped back to the photo's own pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.data import prepare_image
from detector.io import load_model
from detector.model import SIZE_DIVISOR, FasterRCNN

#: The model shipped in the repository, used when no other is named.
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "kyb-detector-lite0.npz"


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]
    kind: str
    score: float


class Detector:
    """A loaded model plus the resizing around it."""

    def __init__(self, model: FasterRCNN, metadata: dict | None = None):
        self.model = model
        self.metadata = metadata or {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> Detector:
        """The model file at `path` (default: the shipped model); raises
        `detector.io.ModelFileError` with the reason when the file is unusable."""
        model, metadata = load_model(path or DEFAULT_MODEL)
        return cls(model, metadata)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.model.config.classes

    def detect_arrays(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N, 4) in `image`'s pixels, scores (N,), class indices (N,) into `classes`,
        best first. `image` is uint8 RGB (or gray)."""
        config = self.model.config
        prepared, scale, valid = prepare_image(image, config.short_side, config.max_side, SIZE_DIVISOR)
        boxes, scores, classes = self.model.detect_prepared(prepared, valid)
        height, width = image.shape[:2]
        boxes = np.clip(boxes / scale, 0, [width, height, width, height]).astype(np.float32)
        return boxes, scores, classes

    def detect(self, image: np.ndarray) -> list[Detection]:
        boxes, scores, classes = self.detect_arrays(image)
        return [Detection(tuple(float(v) for v in box), self.classes[int(c)], float(s))
                for box, s, c in zip(boxes, scores, classes, strict=True)]
