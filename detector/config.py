"""The detector's hyper-parameters, one JSON-serialisable record saved with every model.

Everything a saved model needs to be rebuilt and run the same way lives here, so a model
file is self-describing: its network shape, its anchors, its input size and its
inference thresholds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from detector.anchors import DEFAULT_RATIOS, DEFAULT_SCALES

CLASSES = ("logo", "album")


@dataclass(frozen=True)
class DetectorConfig:
    backbone: str = "efficientnet-lite0"
    classes: tuple[str, ...] = CLASSES
    #: Images are resized so that their short side is this long (aspect ratio kept) ...
    short_side: int = 512
    #: ... unless their long side would then exceed this.
    max_side: int = 1024
    anchor_scales: tuple[float, ...] = DEFAULT_SCALES
    anchor_ratios: tuple[float, ...] = DEFAULT_RATIOS
    #: Channels of the stride-16 feature map shared by the RPN and RoIAlign.
    feature_channels: int = 128
    head_units: int = 256
    pool_size: int = 7
    #: Backbone layers before this EfficientNet-Lite0 block (or ResNet stage, counted the
    #: same way: conv2 = block 0 ...) stay frozen: low-level filters transfer from ImageNet
    #: as they are, and the backward pass then stops at stride 16, which makes a CPU
    #: training step about twice as fast.
    freeze_blocks: int = 8
    rpn_batch: int = 256
    rpn_positive_fraction: float = 0.5
    rpn_positive_iou: float = 0.7
    rpn_negative_iou: float = 0.3
    rpn_nms_iou: float = 0.7
    rpn_pre_nms_train: int = 2000
    rpn_post_nms_train: int = 300
    rpn_pre_nms_test: int = 1000
    rpn_post_nms_test: int = 150
    roi_batch: int = 64
    roi_positive_fraction: float = 0.25
    roi_positive_iou: float = 0.5
    score_threshold: float = 0.05
    nms_iou: float = 0.5
    max_detections: int = 100
    #: A dense photo (at least `dense_min_boxes` boxes scored `dense_min_score` or more,
    #: their median area at most `dense_max_area` of the frame: a patch jacket) is detected
    #: again with its short side at `dense_short_side` (0: never), both passes' boxes merged
    #: by NMS. Small patches gain from the larger scale; every photo at that scale lost real
    #: logos and covers in close-up (BENCHMARKS.md, Detector).
    dense_short_side: int = 640
    dense_min_boxes: int = 6
    dense_min_score: float = 0.5
    dense_max_area: float = 0.02

    @property
    def num_anchors(self) -> int:
        return len(self.anchor_scales) * len(self.anchor_ratios)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> DetectorConfig:
        """Rebuild from `to_dict`'s output; unknown keys are refused so typos surface."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown detector config keys: {', '.join(unknown)}")
        tuples = {"classes", "anchor_scales", "anchor_ratios"}
        return cls(**{k: tuple(v) if k in tuples else v for k, v in values.items()})
