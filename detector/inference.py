"""Running a trained detector on photos of any size.

A photo is resized by its short side (aspect ratio kept, see `DetectorConfig`), run
through the networks, and its boxes are mapped back to the photo's own pixels. A dense
photo of small objects is run a second time at a larger scale (`DetectorConfig.dense_*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.boxes import batched_nms
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
        boxes, scores, classes = self._detect_at(image, config.short_side, config.max_side)
        if self._dense(boxes, scores, image.shape[:2]):
            side = config.dense_short_side
            more = self._detect_at(image, side, round(config.max_side * side / config.short_side))
            boxes, scores, classes = (np.concatenate(pair) for pair in zip((boxes, scores, classes), more,
                                                                            strict=True))
            keep = batched_nms(boxes, scores, classes, config.nms_iou, config.max_detections).numpy()
            boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        return boxes, scores, classes

    def _detect_at(self, image: np.ndarray, short_side: int, max_side: int):
        """One pass with the photo's short side at `short_side` (long side at most `max_side`)."""
        prepared, scale, valid = prepare_image(image, short_side, max_side, SIZE_DIVISOR)
        boxes, scores, classes = self.model.detect_prepared(prepared, valid)
        height, width = image.shape[:2]
        boxes = np.clip(boxes / scale, 0, [width, height, width, height]).astype(np.float32)
        return boxes, scores, classes

    def _dense(self, boxes: np.ndarray, scores: np.ndarray, shape) -> bool:
        """Whether a first pass's boxes make the photo dense (`DetectorConfig.dense_*`)."""
        config = self.model.config
        strong = boxes[scores >= config.dense_min_score]
        if not config.dense_short_side or len(strong) < max(1, config.dense_min_boxes):
            return False
        areas = (strong[:, 2] - strong[:, 0]) * (strong[:, 3] - strong[:, 1]) / float(shape[0] * shape[1])
        return float(np.median(areas)) <= config.dense_max_area

    def detect(self, image: np.ndarray) -> list[Detection]:
        boxes, scores, classes = self.detect_arrays(image)
        return [Detection(tuple(float(v) for v in box), self.classes[int(c)], float(s))
                for box, s, c in zip(boxes, scores, classes, strict=True)]
