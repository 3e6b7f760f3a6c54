"""A dense photo of small objects (a patch jacket) is detected a second time at a larger
scale, and both passes' boxes are merged; any other photo is detected once."""

import numpy as np

from detector.config import DetectorConfig
from detector.inference import Detector


class GridModel:
    """A stand-in for the networks: `count` boxes of `side` pixels (in the photo's pixels)
    on a diagonal, found at every scale, plus one box found only at the larger scale.
    Records the prepared image sizes it is run at."""

    def __init__(self, count: int, side: float, config: DetectorConfig):
        self.count, self.side, self.config = count, side, config
        self.runs: list[tuple[int, int]] = []

    def detect_prepared(self, image, valid):
        self.runs.append(tuple(valid))
        scale = min(valid) / 480  # photos of 640 x 480
        boxes = [[60 * i, 40 * i, 60 * i + self.side, 40 * i + self.side] for i in range(self.count)]
        scores = [0.9] * self.count
        if min(valid) > self.config.short_side:  # a small patch only the larger scale sees
            boxes.append([600, 440, 630, 470])
            scores.append(0.8)
        boxes = np.array(boxes, np.float32).reshape(-1, 4) * scale
        return boxes, np.array(scores, np.float32), np.zeros(len(scores), np.int64)


def photo():
    return np.zeros((480, 640, 3), np.uint8)


def test_a_dense_photo_is_detected_again_at_the_larger_scale_and_merged():
    model = GridModel(count=8, side=30, config=DetectorConfig())
    boxes, scores, _ = Detector(model).detect_arrays(photo())
    assert [min(run) for run in model.runs] == [512, 640]
    # The eight boxes both passes found are kept once each; the larger scale adds its own.
    assert len(boxes) == 9 and sorted(scores.tolist(), reverse=True) == scores.tolist()
    np.testing.assert_allclose(boxes[-1], [600, 440, 630, 470], atol=0.5)


def test_sparse_or_large_boxes_are_detected_once():
    for count, side in ((5, 30), (8, 200)):  # too few boxes; boxes too large to be patches
        model = GridModel(count=count, side=side, config=DetectorConfig())
        boxes, _, _ = Detector(model).detect_arrays(photo())
        assert len(model.runs) == 1 and len(boxes) == count


def test_the_second_pass_can_be_turned_off():
    config = DetectorConfig(dense_short_side=0)
    model = GridModel(count=8, side=30, config=config)
    Detector(model).detect_arrays(photo())
    assert len(model.runs) == 1
