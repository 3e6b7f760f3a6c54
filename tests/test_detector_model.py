"""The detector's networks, training step, data preparation and model files, on tiny inputs."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from data.image_io import read_image
from detector.boxes import iou
from detector.config import DetectorConfig
from detector.data import load_samples, prepare_image, training_example
from detector.inference import Detector
from detector.io import HEADER_KEY, ModelFileError, load_model, save_model
from detector.model import SIZE_DIVISOR, FasterRCNN
from detector.train import Trainer, TrainSettings, photo_index
from kyb.cli import cli

#: Small enough for a CPU test: 128 px photos, narrow neck and head, few proposals.
TINY = DetectorConfig(short_side=128, max_side=192, feature_channels=16, head_units=32, rpn_batch=64,
                      rpn_pre_nms_train=300, rpn_post_nms_train=50, rpn_pre_nms_test=100,
                      rpn_post_nms_test=20, roi_batch=32)


@pytest.fixture(scope="module")
def tiny_model():
    return FasterRCNN(TINY, weights="imagenet")


@pytest.fixture(scope="module")
def tiny_file(tiny_model, tmp_path_factory):
    return save_model(tmp_path_factory.mktemp("model") / "tiny.npz", tiny_model, metadata={"note": "test"})


def test_prepare_image_keeps_aspect_and_pads():
    image = np.zeros((300, 400, 3), np.uint8)
    prepared, scale, valid = prepare_image(image, 128, 1000, SIZE_DIVISOR)
    assert scale == pytest.approx(128 / 300)
    assert valid == (128, 171)
    assert prepared.shape == (128, 192, 3)
    _, scale, valid = prepare_image(np.zeros((100, 1000, 3), np.uint8), 128, 512, SIZE_DIVISOR)
    assert valid == (51, 512)  # the long side caps the scale


def test_load_samples_maps_classes_of_a_plain_voc_folder(small_dataset, tmp_path):
    shutil.copytree(small_dataset / "photos", tmp_path / "photos")
    (tmp_path / "annotations").mkdir()
    for path in sorted((small_dataset / "annotations").glob("*.xml"))[:3]:
        text = path.read_text().replace("<name>logo</name>", "<name>brand</name>")
        (tmp_path / "annotations" / path.name).write_text(text)
    original = load_samples(small_dataset, None, TINY.classes)[:3]
    mapped = load_samples(tmp_path, "test", TINY.classes, {"brand": "logo"})  # no splits: every file
    unmapped = load_samples(tmp_path, None, TINY.classes)
    assert [s.classes.tolist() for s in mapped] == [s.classes.tolist() for s in original]
    assert all((s.classes == 2).all() for s in unmapped)  # logos dropped, albums kept


def test_detect_runs_on_any_size(tiny_model):
    boxes, scores, classes = tiny_model.detect_prepared(np.zeros((96, 160, 3), np.float32), (90, 150))
    assert boxes.shape[1] == 4 and len(scores) == len(classes) <= TINY.max_detections
    assert (boxes[:, 2] <= 150).all() and (boxes[:, 3] <= 90).all()


def test_a_few_training_steps_reduce_the_loss(small_dataset, tiny_model, tmp_path):
    tf.random.set_seed(0)
    samples = load_samples(small_dataset, "train", TINY.classes)[:2]
    examples = [training_example(s, TINY.short_side, TINY.max_side, SIZE_DIVISOR, None) for s in samples]
    trainer = Trainer(tiny_model, TrainSettings(datasets=[], out=tmp_path, learning_rate=1e-3, warmup=0))

    def loss():  # sampling is random: average a few draws
        return np.mean([sum(float(v) for v in trainer.loss_step(*example).values())
                        for example in examples for _ in range(3)])

    before = loss()
    for step in range(16):
        trainer.train_step(*examples[step % len(examples)])
    assert loss() < 0.7 * before


def test_model_file_round_trip(tiny_model, tiny_file):
    model, metadata = load_model(tiny_file)
    assert metadata == {"note": "test"}
    assert model.config == TINY
    for original, loaded in zip(tiny_model.head_model.weights, model.head_model.weights, strict=True):
        np.testing.assert_allclose(loaded.numpy(), original.numpy(), rtol=1e-3, atol=1e-4)


def rewrite(source, target, change):
    with np.load(source) as archive:
        arrays = dict(archive)
    header = json.loads(arrays[HEADER_KEY].tobytes())
    change(arrays, header)
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(target, **arrays)
    return target


def test_bad_model_files_give_clear_errors(tiny_file, tmp_path):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(tiny_file.read_bytes()[: 4096])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a model at all" * 100)
    newer = rewrite(tiny_file, tmp_path / "newer.npz", lambda a, h: h.update(version=99))
    other = rewrite(tiny_file, tmp_path / "other.npz", lambda a, h: h.update(format="something-else"))
    key = next(k for k in np.load(tiny_file).files if k.startswith("head/"))
    missing = rewrite(tiny_file, tmp_path / "missing.npz", lambda a, h: a.pop(key))
    reshaped = rewrite(tiny_file, tmp_path / "reshaped.npz",
                       lambda a, h: h["config"].update(head_units=64))
    cases = {truncated: "not a readable .npz", garbage: "not a readable .npz", newer: "version 99",
             other: "not a detector model file", missing: "is missing", reshaped: "has shape",
             tmp_path / "absent.npz": "not found"}
    for path, message in cases.items():
        with pytest.raises(ModelFileError, match=message) as error:
            load_model(path)
        assert str(path) in str(error.value)


def test_eval_command_reports_a_corrupt_model(small_dataset, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00" * 64)
    result = CliRunner().invoke(cli, ["eval", "detector", "--dataset", str(small_dataset),
                                      "--model", str(bad)])
    assert result.exit_code == 2  # kyb/cli.py: one line for the project's own errors
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {bad}")
    assert "not a detector model file" in lines[0]


def test_config_round_trips_and_refuses_unknown_keys():
    assert DetectorConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ValueError, match="unknown"):
        DetectorConfig.from_dict({**TINY.to_dict(), "shortside": 3})
    assert dataclasses.replace(TINY, anchor_ratios=(1.0,)).num_anchors == len(TINY.anchor_scales)


def test_shipped_model_finds_the_items_of_generated_photos(small_dataset):
    """The dataset fixture uses a seed the shipped model was not trained on."""
    detector = Detector.load()
    assert detector.model.config.classes == ("logo", "album")
    samples = load_samples(small_dataset, None, detector.classes)[:5]
    found = total = 0
    for sample in samples:
        boxes, scores, classes = detector.detect_arrays(read_image(sample.image_path))
        for box, number in zip(sample.boxes, sample.classes, strict=True):
            mine = (classes == number - 1) & (scores >= 0.5)
            total += 1
            found += bool(mine.any() and iou(box[None], boxes[mine]).numpy().max() >= 0.5)
    assert total >= 8
    assert found / total >= 0.9, f"found {found} of {total} items"


def test_learning_rate_warms_up_then_decays(tmp_path):
    trainer = Trainer.__new__(Trainer)  # the schedule needs only the settings
    trainer.settings = TrainSettings(datasets=[], out=tmp_path, steps=1000, learning_rate=1e-3, warmup=100)
    assert trainer.learning_rate(0) == pytest.approx(1e-5)
    assert trainer.learning_rate(99) == pytest.approx(1e-3)
    assert trainer.learning_rate(100) == pytest.approx(1e-3)
    assert trainer.learning_rate(999) == pytest.approx(5e-5, rel=1e-3)


def test_photo_order_is_a_fresh_permutation_each_epoch():
    first = [photo_index(7, 3, step) for step in range(7)]
    second = [photo_index(7, 3, step) for step in range(7, 14)]
    assert sorted(first) == sorted(second) == list(range(7))
    assert first != second
    assert first == [photo_index(7, 3, step) for step in range(7)]  # a resumed run sees the same photos


def test_a_fresh_run_can_start_from_a_model_file(small_dataset, tiny_file, tmp_path):
    """`kyb detector train --init MODEL`: the run fine-tunes that model (its weights and
    configuration), not a new network of the configuration given."""
    from detector.train import train

    settings = TrainSettings(datasets=[small_dataset], out=tmp_path, steps=1, warmup=0, learning_rate=1e-6,
                             val_every=1, val_images=1, init=tiny_file)
    logged = []
    train(settings, DetectorConfig(), resume=False, log=logged.append)
    tuned, _ = load_model(tmp_path / "checkpoint.npz")
    assert tuned.config == TINY and any("starting from the weights" in line for line in logged)
    start, _ = load_model(tiny_file)
    for before, after in zip(start.head_model.weights, tuned.head_model.weights, strict=True):
        np.testing.assert_allclose(after.numpy(), before.numpy(), atol=1e-3)
