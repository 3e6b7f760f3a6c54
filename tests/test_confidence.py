"""The calibrated confidence: the probability an answer states is the share of such
answers that are right (expected calibration error), kept in the bundle's JSON."""

import numpy as np
import pytest

from matching.evaluate import expected_calibration_error, reliability_bins
from matching.openset import OpenSetRejector


def evidence(count: int, seed: int):
    """Rank features whose first column predicts a right answer with a known probability;
    right answers are a minority, as they are among calibration examples."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 1.5, count)
    right = rng.random(count) < 1 / (1 + np.exp(-(2.5 * margin - 2.5)))
    X = np.stack([margin, rng.normal(0, 1, count)], axis=1)
    return X, right


def test_the_stated_probability_is_the_share_of_right_answers():
    X, right = evidence(4000, seed=1)
    rejector = OpenSetRejector().fit(X, known=right | (np.arange(len(right)) % 2 == 0), correct=right)
    X_test, right_test = evidence(4000, seed=2)
    calibrated = expected_calibration_error(rejector.probability(X_test), right_test)
    raw = expected_calibration_error(rejector.confidence(X_test), right_test)
    assert calibrated <= 0.03
    assert raw > 2 * calibrated  # the balanced regression's score alone is no probability


def test_the_calibration_travels_with_the_rejector():
    X, right = evidence(500, seed=3)
    rejector = OpenSetRejector().fit(X, known=right | (np.arange(len(right)) % 2 == 0), correct=right)
    copy = OpenSetRejector.from_json(rejector.to_json())
    np.testing.assert_allclose(copy.probability(X), rejector.probability(X))
    old = rejector.to_json()
    del old["calibration"]  # a bundle written before the calibration map
    assert OpenSetRejector.from_json(old).probability(X) is None


def test_ece_by_hand():
    assert expected_calibration_error([0.9, 0.9, 0.1, 0.1], [True, False, False, False]) == pytest.approx(
        0.5 * 0.4 + 0.5 * 0.1)
    assert expected_calibration_error([1.0, 0.0], [True, False]) == 0.0


def test_reliability_bins_by_hand():
    assert reliability_bins([0.95, 0.9, 0.15, 0.1, 0.12], [True, False, False, False, True]) == [
        [0.1233, 0.3333, 3], [0.925, 0.5, 2]]
