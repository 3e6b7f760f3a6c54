"""The Faster R-CNN networks and the graph pieces between them: proposals and RoIAlign.

Layout (one feature level, stride 16, as the C4 Faster R-CNN of the original paper but
with a small top-down merge of conv5, because logos are often only 20-40 px tall after
resizing and a stride-32 map alone cannot place them):

    image -> backbone (features/) -> C4 (stride 16), C5 (stride 32)
          -> neck: 1x1(C4) + upsample(1x1(C5)), 3x3 conv      -> F (stride 16)
    F -> RPN: 3x3 conv, 1x1 objectness (K), 1x1 box deltas (4K)
    F + proposals -> RoIAlign (crop_and_resize to 2p x 2p, 2x2 average) -> p x p
          -> box head: 2 fully connected layers -> class scores (C + 1), class-wise deltas (4C)

Two Keras models hold the weights (`rpn_model`: image -> F, objectness, deltas;
`head_model`: pooled RoIs -> scores, deltas); everything between them is plain
TensorFlow, shared by training (detector/train.py) and inference (detector/inference.py).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from detector import boxes as box_ops
from detector.anchors import base_anchors, grid_anchors
from detector.config import DetectorConfig
from features.backbones import build_backbone

FEATURE_STRIDE = 16
#: Input sides are padded to a multiple of this, so that C4 is exactly twice C5.
SIZE_DIVISOR = 32
#: The stride-16 layer of each backbone (the end of its second-last stage).
C4_LAYERS = {"efficientnet-lite0": "block10_add", "resnet50": "conv4_block6_out"}


def _is_frozen(layer_name: str, backbone: str, freeze_blocks: int) -> bool:
    """Whether a backbone layer stays at its ImageNet weights (see `DetectorConfig.freeze_blocks`)."""
    if backbone == "efficientnet-lite0":
        if layer_name.startswith("stem_"):
            return True
        if layer_name.startswith("block"):
            return int(layer_name[5:].split("_")[0]) < freeze_blocks
        return False
    # ResNet50 layers are named conv{stage}_...; stage 1 is the stem, stage 2 "block 0".
    if layer_name.startswith("conv") and layer_name[4:5].isdigit():
        return int(layer_name[4]) - 2 < freeze_blocks
    return False


def build_networks(config: DetectorConfig, weights: str | None = "imagenet"):
    """The two Keras models of the detector; `weights` is the backbone's initialisation."""
    trunk = build_backbone(config.backbone, weights=weights).model
    for layer in trunk.layers:
        # BatchNorm stays frozen everywhere: one photo per step gives meaningless batch
        # statistics, and a frozen BN layer also runs in inference mode in Keras 3.
        if isinstance(layer, keras.layers.BatchNormalization) or _is_frozen(
                layer.name, config.backbone, config.freeze_blocks):
            layer.trainable = False
    c4 = trunk.get_layer(C4_LAYERS[config.backbone]).output
    c5 = trunk.output
    channels = config.feature_channels
    lateral = keras.layers.Conv2D(channels, 1, name="neck_lateral4")(c4)
    top_down = keras.layers.UpSampling2D(2, name="neck_upsample")(
        keras.layers.Conv2D(channels, 1, name="neck_lateral5")(c5))
    merged = keras.layers.Add(name="neck_add")([lateral, top_down])
    features = keras.layers.Conv2D(channels, 3, padding="same", name="neck_smooth")(merged)
    hidden = keras.layers.Conv2D(channels, 3, padding="same", activation="relu", name="rpn_conv")(features)
    small = keras.initializers.RandomNormal(stddev=0.01)
    objectness = keras.layers.Conv2D(config.num_anchors, 1, kernel_initializer=small,
                                     name="rpn_objectness")(hidden)
    deltas = keras.layers.Conv2D(4 * config.num_anchors, 1, kernel_initializer=small,
                                 name="rpn_deltas")(hidden)
    rpn_model = keras.Model(trunk.input, [features, objectness, deltas], name="rpn")

    pooled = keras.Input((config.pool_size, config.pool_size, channels), name="pooled_rois")
    x = keras.layers.Flatten(name="head_flatten")(pooled)
    x = keras.layers.Dense(config.head_units, activation="relu", name="head_fc1")(x)
    x = keras.layers.Dense(config.head_units, activation="relu", name="head_fc2")(x)
    scores = keras.layers.Dense(len(config.classes) + 1, kernel_initializer=small, name="head_scores")(x)
    box_deltas = keras.layers.Dense(4 * len(config.classes),
                                    kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
                                    name="head_deltas")(x)
    head_model = keras.Model(pooled, [scores, box_deltas], name="head")
    return rpn_model, head_model


class FasterRCNN:
    """The detector's networks plus the graph code that joins them.

    Images given to it are already resized and padded (detector/data.py:`prepare_image`);
    `valid_size` is the (height, width) of the image inside the padding.
    """

    def __init__(self, config: DetectorConfig, weights: str | None = "imagenet"):
        self.config = config
        self.rpn_model, self.head_model = build_networks(config, weights)
        self.base_anchors = base_anchors(config.anchor_scales, config.anchor_ratios)
        self._detect = tf.function(self._detect_graph, input_signature=[
            tf.TensorSpec([None, None, 3], tf.float32), tf.TensorSpec([2], tf.int32)])

    @property
    def networks(self) -> dict[str, keras.Model]:
        return {"rpn": self.rpn_model, "head": self.head_model}

    @property
    def trainable_variables(self):
        return self.rpn_model.trainable_variables + self.head_model.trainable_variables

    def anchors(self, features):
        shape = tf.shape(features)
        return grid_anchors(shape[1], shape[2], FEATURE_STRIDE, self.base_anchors)

    def proposals(self, objectness, deltas, anchors, valid_size, pre_nms: int, post_nms: int):
        """Top `pre_nms` anchors by objectness, decoded, clipped, NMS'd to at most `post_nms`.

        `objectness` is (A,) logits and `deltas` (A, 4), flattened in anchor order.
        """
        count = tf.minimum(pre_nms, tf.size(objectness))
        scores, index = tf.math.top_k(objectness, count)
        proposals = box_ops.decode(tf.gather(deltas, index), tf.gather(anchors, index))
        proposals = box_ops.clip(proposals, valid_size[0], valid_size[1])
        sizes = proposals[:, 2:] - proposals[:, :2]
        # Boxes clipped to (almost) nothing carry no content to pool.
        keep = tf.where(tf.reduce_all(sizes >= 2.0, axis=1))[:, 0]
        proposals, scores = tf.gather(proposals, keep), tf.gather(scores, keep)
        keep = box_ops.nms(proposals, scores, self.config.rpn_nms_iou, post_nms)
        return tf.gather(proposals, keep), tf.gather(scores, keep)

    def roi_align(self, features, rois):
        """RoIAlign of pixel boxes on the stride-16 map: bilinear samples on a 2p x 2p grid
        (`tf.image.crop_and_resize`), averaged 2 x 2 to p x p."""
        shape = tf.cast(tf.shape(features), tf.float32)
        # Feature cell i is centred on pixel (i + 0.5) * stride; crop_and_resize maps the
        # normalised coordinate 0 to cell 0 and 1 to cell (size - 1).
        scale_y = tf.maximum(shape[1] - 1.0, 1.0)
        scale_x = tf.maximum(shape[2] - 1.0, 1.0)
        x1, y1, x2, y2 = tf.unstack(rois / FEATURE_STRIDE - 0.5, axis=1)
        normalised = tf.stack([y1 / scale_y, x1 / scale_x, y2 / scale_y, x2 / scale_x], axis=1)
        size = 2 * self.config.pool_size
        crops = tf.image.crop_and_resize(features, normalised, tf.zeros(tf.shape(rois)[:1], tf.int32),
                                         (size, size))
        return tf.nn.avg_pool2d(crops, 2, 2, "VALID")

    def class_boxes(self, rois, box_deltas, valid_size):
        """(R, C, 4) class-wise refined boxes from the head's (R, 4C) deltas."""
        deltas = tf.reshape(box_deltas, (-1, len(self.config.classes), 4))
        refined = box_ops.decode(deltas, rois[:, None, :], box_ops.HEAD_WEIGHTS)
        return box_ops.clip(refined, valid_size[0], valid_size[1])

    def _detect_graph(self, image, valid_size):
        config = self.config
        features, objectness, deltas = self.rpn_model(image[None], training=False)
        rois, _ = self.proposals(tf.reshape(objectness, [-1]), tf.reshape(deltas, (-1, 4)),
                                 self.anchors(features), valid_size,
                                 config.rpn_pre_nms_test, config.rpn_post_nms_test)
        scores, box_deltas = self.head_model(self.roi_align(features, rois), training=False)
        probabilities = tf.nn.softmax(scores)[:, 1:]
        boxes = tf.reshape(self.class_boxes(rois, box_deltas, valid_size), (-1, 4))
        num_classes = len(config.classes)
        classes = tf.tile(tf.range(num_classes), tf.shape(rois)[:1])
        probabilities = tf.reshape(probabilities, [-1])
        keep = tf.where(probabilities >= config.score_threshold)[:, 0]
        boxes, probabilities, classes = (tf.gather(t, keep) for t in (boxes, probabilities, classes))
        keep = box_ops.batched_nms(boxes, probabilities, classes, config.nms_iou, config.max_detections)
        return tf.gather(boxes, keep), tf.gather(probabilities, keep), tf.gather(classes, keep)

    def detect_prepared(self, image: np.ndarray, valid_size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N, 4) in the prepared image's pixels, scores (N,), class indices (N,) from 0."""
        boxes, scores, classes = self._detect(tf.convert_to_tensor(image, tf.float32),
                                              tf.convert_to_tensor(valid_size, tf.int32))
        return boxes.numpy(), scores.numpy(), classes.numpy()
