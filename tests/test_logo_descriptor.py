"""The learned logo descriptor: renditions of a reference, a training step that learns,
the model file's round trip and refusal of damage, and the shipped weights ranking a
printed, warped, recoloured rendition of a logo first among other logos."""

from __future__ import annotations

import numpy as np
import pytest

from data import renditions
from data.imaging import ink_mask, to_uint8
from data.logos import design_logo, render_reference
from data.names import band_name
from data.real_logos import band_key
from data.renditions import (
    generated_mark,
    render_as_seen,
    render_beside,
    render_part,
    render_print,
    render_prints,
)
from data.train_real import TRAIN_REAL_ENV
from features import descriptor_training
from features.descriptor_training import TrainingConfig, train_descriptor
from features.logo_descriptor import (
    INPUT_SHAPE,
    SHIPPED_MODEL,
    DescriptorConfig,
    DescriptorModelError,
    LogoDescriptor,
    load_descriptor,
    prepare,
)
from tests.conftest import shared_path


def logo_references(count: int, seed: int) -> list[np.ndarray]:
    """`count` generated logo references (uint8 RGB) from a seed no training run uses."""
    rng = np.random.default_rng([seed, 99])
    return [to_uint8(render_reference(design_logo(band_name(rng), rng), rng)) for _ in range(count)]


def test_ink_mask_finds_coloured_ink_on_a_coloured_background():
    image = np.zeros((60, 120, 3), np.uint8)
    image[:] = (200, 30, 40)
    image[20:40, 30:90] = (20, 220, 60)
    mask = ink_mask(image)
    assert mask[30, 60] > 0.95 and mask[5, 5] < 0.05 and mask[50, 110] < 0.05


def test_render_print_is_deterministic_and_prints_the_logo_anew():
    reference = logo_references(1, seed=1)[0]
    first = render_print(reference, np.random.default_rng(5))
    again = render_print(reference, np.random.default_rng(5))
    other = render_print(reference, np.random.default_rng(6))
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    assert first.shape != other.shape or not np.array_equal(first, other)
    assert max(first.shape[:2]) <= 320  # through a low-resolution camera


def test_renditions_in_a_row_equal_one_call_each():
    reference = logo_references(1, seed=2)[0]
    rng = np.random.default_rng(7)
    one_by_one = [render_print(reference, rng) for _ in range(4)]
    together = render_prints(reference, np.random.default_rng(7), 4)
    assert len(together) == 4
    for alone, batched in zip(one_by_one, together, strict=True):
        np.testing.assert_array_equal(alone, batched)


def test_renditions_as_seen_show_the_whole_logo_a_part_of_it_or_more():
    """Half whole prints, a quarter part of the logo, a quarter the logo beside another mark."""
    reference = logo_references(1, seed=3)[0]
    shown = {"whole": 0, "part": 0, "beside": 0}
    for seed in range(40):
        rendition = render_as_seen(reference, np.random.default_rng(seed))
        np.testing.assert_array_equal(rendition, render_as_seen(reference, np.random.default_rng(seed)))
        rng = np.random.default_rng(seed)
        roll = rng.random()
        state = rng.bit_generator.state
        for name, render in (("whole", lambda r: render_print(reference, r)),
                             ("part", lambda r: render_part(reference, r)),
                             ("beside", lambda r: render_beside(reference, generated_mark(r), r))):
            rng.bit_generator.state = state
            candidate = render(rng)
            if candidate.shape == rendition.shape and np.array_equal(candidate, rendition):
                shown[name] += 1
                assert name == ("part" if roll < 0.25 else "beside" if roll < 0.5 else "whole")
    assert sum(shown.values()) == 40
    assert shown["whole"] >= 12 and shown["part"] >= 4 and shown["beside"] >= 4, shown


def test_prepare_gives_the_network_input_whatever_the_image():
    for image in (np.zeros((10, 400), np.uint8), np.full((300, 50, 3), 255.0, np.float32),
                  np.zeros((128, 256, 4), np.uint8)):
        prepared = prepare(image)
        assert prepared.shape == INPUT_SHAPE and prepared.dtype == np.uint8


def test_a_training_step_reduces_the_loss_on_a_tiny_set(tmp_path):
    config = TrainingConfig(designs=10, val_designs=2, renditions=2, epochs=5, logos_per_batch=4,
                            views_per_logo=3, learning_rate=1e-3, workers=1)
    descriptor, report = train_descriptor(config, DescriptorConfig(dimension=32, trainable_from=15),
                                          cache=tmp_path, progress=False, log=lambda _: None)
    losses = [epoch["loss"] for epoch in report["epochs"]]
    assert losses[-1] < losses[0] * 0.9, losses
    assert len(list(tmp_path.glob("trunk-*.npy"))) == 1  # a second run would skip rendering
    path = tmp_path / "model.npz"
    descriptor.save(path)
    images = logo_references(3, seed=2)
    np.testing.assert_allclose(LogoDescriptor.load(path).embed(images), descriptor.embed(images), atol=2e-2)

    damaged = tmp_path / "damaged.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(DescriptorModelError):
        LogoDescriptor.load(damaged)
    with pytest.raises(DescriptorModelError):
        LogoDescriptor.load(tmp_path / "missing.npz")

    # Fine-tuning starts from the saved model, on views that add partial ones, and keeps
    # its configuration.
    more = TrainingConfig(designs=10, val_designs=2, renditions=2, partial_views=2, epochs=1,
                          logos_per_batch=4, views_per_logo=3, workers=1, seed=1)
    tuned, report = train_descriptor(more, cache=tmp_path, progress=False, log=lambda _: None, init=path)
    assert report["init"]["sha256"] == LogoDescriptor.load(path).weights_sha256()
    assert report["views"] == 10 * 6 and tuned.config == descriptor.config
    with pytest.raises(ValueError, match="not of"):
        train_descriptor(more, DescriptorConfig(dimension=64, trainable_from=15), progress=False,
                         log=lambda _: None, init=path)


def test_real_designs_join_training_and_their_held_out_bands_are_scored(tmp_path, monkeypatch):
    monkeypatch.setenv(TRAIN_REAL_ENV, str(shared_path("train-real")))
    config = TrainingConfig(designs=6, val_designs=2, renditions=1, epochs=1, logos_per_batch=4,
                            views_per_logo=2, workers=2, real_designs=3)
    real_train, real_validation = descriptor_training.real_design_sets(config)
    assert len(real_train) == 3 and len(real_validation) > 100
    train_bands = {band_key(logo.name) for logo in real_train}
    assert not train_bands & {band_key(logo.name) for logo in real_validation}
    assert descriptor_training.real_design_sets(TrainingConfig()) == ([], [])
    generated = descriptor_training.render_views(0, 6, 1)
    real = descriptor_training.render_views(0, 6, 1, real=real_train[0])
    assert real.shape == generated.shape and not np.array_equal(real[0], generated[0])

    _, report = train_descriptor(config, DescriptorConfig(dimension=32, trainable_from=15), progress=False,
                                 log=lambda _: None)
    assert report["real_designs"]["train"] == 3
    assert report["real_designs"]["validation"] == len(real_validation)
    assert report["views"] == (6 + 3 + len(real_validation)) * 3
    assert all(0 <= epoch["real_val_top1"] <= 1 for epoch in report["epochs"])
    assert report["real_designs"]["best_epoch_top1"] == report["epochs"][0]["real_val_top1"]


def test_descriptor_configuration_is_validated():
    for bad in ({"dimension": 8}, {"dimension": True}, {"trainable_from": 17}, {"trainable_from": -1}):
        with pytest.raises(ValueError):
            DescriptorConfig(**bad)
    for bad in ({"designs": 4, "val_designs": 4}, {"designs": 10, "val_designs": 2, "logos_per_batch": 9},
                {"renditions": 1, "views_per_logo": 4}, {"temperature": 0}, {"partial_views": -1}):
        with pytest.raises(ValueError):
            TrainingConfig(**bad)


def test_shipped_weights_load_offline_and_rank_a_rendition_first():
    assert SHIPPED_MODEL.stat().st_size <= 25 * 2**20
    descriptor = load_descriptor()
    references = logo_references(40, seed=3)
    gallery = descriptor.embed(references)
    firsts = 0
    for index in range(40):  # recoloured, printed on cloth or art, warped, cropped, through a camera
        rendition = render_print(references[index], np.random.default_rng(index))
        similarities = gallery @ descriptor.embed([rendition])[0]
        firsts += int(np.argmax(similarities) == index)
    # The shipped model gets 31 of 40 (its held-out top-1 is 0.76); the untrained network
    # about 3 (0.08). Forty renditions, not sixteen: a change of background photographs
    # alone moved sixteen from 14 to 11.
    assert firsts >= 26, f"the rendition's own logo came first for {firsts} of 40"


def test_the_trunk_cache_is_keyed_by_the_rendering_code(monkeypatch):
    """A cache rendered by other generator code is not reused."""
    config, descriptor_config = TrainingConfig(), DescriptorConfig()
    name = descriptor_training.trunk_cache_name(config, descriptor_config)
    assert name == descriptor_training.trunk_cache_name(config, descriptor_config)
    assert name != descriptor_training.trunk_cache_name(TrainingConfig(designs=3000),
                                                        descriptor_config)
    monkeypatch.setattr(descriptor_training, "rendering_fingerprint", lambda: "0123456789ab")
    assert name != descriptor_training.trunk_cache_name(config, descriptor_config)


def _printed_input(monkeypatch) -> list[np.ndarray]:
    """Make `render_print` hand back what it was given (float RGB), to look at what the
    partial views print, apart from the print's own randomness."""
    given = []
    monkeypatch.setattr(renditions, "render_print", lambda image, rng: given.append(image) or image)
    return given


def test_a_part_view_prints_a_window_of_the_logo(monkeypatch):
    given = _printed_input(monkeypatch)
    reference = np.ones((100, 300, 3), np.float32)
    reference[20:80, 20:280] = np.linspace(0, 0.2, 260)[None, :, None]  # ink, told apart by column
    for seed in range(12):
        part = render_part(reference, np.random.default_rng(seed))
        assert part is given[-1]
        height, width = part.shape[:2]
        assert (0.5 * 260 - 1 <= width <= 0.85 * 260 and height == 60) or \
            (0.5 * 60 - 1 <= height <= 0.85 * 60 and width == 260)
        columns = np.flatnonzero(np.isin(reference[50, :, 0], part[height // 2, :, 0]))
        assert len(columns) == width and np.all(np.diff(columns) == 1)  # one window, in place


def test_a_beside_view_prints_the_whole_logo_and_another_mark(monkeypatch):
    given = _printed_input(monkeypatch)
    reference = np.ones((100, 300, 3), np.float32)
    reference[20:80, 20:280] = (0.1, 0.1, 0.5)
    other = np.ones((80, 80, 3), np.float32)
    other[10:70, 10:70] = 0
    for seed in range(12):
        canvas = render_beside(reference, other, np.random.default_rng(seed))
        assert canvas is given[-1]
        ink = np.abs(canvas - 1).sum(axis=2) > 0.5
        inked = np.all(np.isclose(canvas, (0.1, 0.1, 0.5), atol=1e-3), axis=2)
        area = np.pad(inked.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        blocks = area[60:, 260:] - area[:-60, 260:] - area[60:, :-260] + area[:-60, :-260]
        assert blocks.max() == 60 * 260  # the whole logo, unchanged
        assert ink.sum() > 60 * 260 + 0.5 * (0.4 * 60) ** 2  # and the other mark, in the logo's ink
