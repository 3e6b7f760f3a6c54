"""Marks made of parts: the mark's box is the whole mark, not one of its pieces."""

import numpy as np
import pytest

from data.composite_marks import _two_coloured, _with_emblem, composite_mark, emblem
from data.imaging import tight_box
from data.scenes import logo_region


def lettering(height=40, width=160):
    """Two words of ink with a gap between them, black."""
    alpha = np.zeros((height, width), np.float32)
    alpha[8:32, 10:70] = 1.0
    alpha[8:32, 90:150] = 1.0
    return np.zeros((height, width, 3), np.float32), alpha


@pytest.mark.parametrize("seed", range(6))
def test_an_emblem_is_ink_of_its_own_beside_or_above_the_lettering(seed):
    rgb, alpha = lettering()
    out_rgb, out_alpha = _with_emblem(rgb, alpha, np.random.default_rng(seed), np.ones(3, np.float32))
    assert out_rgb.shape[:2] == out_alpha.shape
    assert out_alpha.sum() > alpha.sum() * 1.1  # the emblem added ink
    # The lettering is still there, whole, at one place in the mark.
    letters = alpha > 0.5
    found = any((out_alpha[y:y + alpha.shape[0], x:x + alpha.shape[1]][letters] > 0.5).all()
                for y in range(out_alpha.shape[0] - alpha.shape[0] + 1)
                for x in range(out_alpha.shape[1] - alpha.shape[1] + 1))
    assert found


def test_the_box_of_a_mark_with_an_emblem_holds_emblem_and_lettering():
    rgb, alpha = lettering()
    _, out_alpha = _with_emblem(rgb, alpha, np.random.default_rng(3), np.ones(3, np.float32))
    region = logo_region(out_alpha)
    x0, y0, x1, y1 = tight_box(region, 0.5)
    # The region spans the whole ink, both parts and the gap between them.
    assert (x0, y0, x1, y1) == tight_box(out_alpha, 0.3)
    assert (x1 - x0) * (y1 - y0) > 1.2 * 120 * 24


def test_two_colours_split_the_lettering_where_it_is_thinnest():
    rgb, alpha = lettering()
    ground = np.ones(3, np.float32)
    out_rgb, out_alpha = _two_coloured(rgb, alpha, np.random.default_rng(0), ground)
    np.testing.assert_array_equal(out_alpha, alpha)
    left, right = out_rgb[20, 40], out_rgb[20, 120]
    np.testing.assert_array_equal(left, rgb[20, 40])
    assert np.abs(right - left).sum() > 0.1
    changed = np.flatnonzero(np.abs(out_rgb[20] - rgb[20]).sum(axis=1) > 0)
    assert 70 <= changed.min() <= 90  # the split falls in the gap between the words


@pytest.mark.parametrize("seed", range(10))
def test_emblems_are_filled_shapes_inside_their_square(seed):
    mask = emblem(64, np.random.default_rng(seed))
    assert mask.shape == (64, 64)
    assert 0.05 * 64 * 64 < mask.sum() < 64 * 64
    assert mask.min() >= 0 and mask.max() <= 1


def test_composite_marks_are_deterministic_per_seed():
    rgb, alpha = lettering()
    ground = np.full(3, 0.2, np.float32)
    first = composite_mark(rgb, alpha, np.random.default_rng(11), ground)
    again = composite_mark(rgb, alpha, np.random.default_rng(11), ground)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_every_emblem_shape_is_drawn():
    drawn = set()
    for seed in range(60):
        mask = emblem(48, np.random.default_rng(seed))
        # A disc fills about 0.78 of its square, a ring less, a star or swoosh less still:
        # the fill tells shapes apart well enough to see that several kinds come out.
        drawn.add(round(float(mask.mean()), 1))
    assert len(drawn) >= 3
