"""The rejector's threshold, placed on the calibration's wrong answers, and the calibrated
probability each answer states (expected calibration error); both travel in the bundle's
JSON."""

import numpy as np
import pytest

from matching.evaluate import expected_calibration_error, reliability_bins
from matching.openset import OpenSetRejector


def calibration_examples(count: int, seed: int, right_margin: float, right_share: float = 0.6,
                         spread: float = 0.7):
    """Half the crops show known bands, `right_share` of those are named right and stand
    out by `right_margin`; wrong answers and crops of unknown bands sit around 0."""
    rng = np.random.default_rng(seed)
    known = rng.random(count) < 0.5
    correct = known & (rng.random(count) < right_share)
    margin = np.where(correct, rng.normal(right_margin, spread, count), rng.normal(0.0, spread, count))
    return np.stack([margin, rng.normal(0, 1, count)], axis=1), known, correct


def test_the_stated_probability_is_the_share_of_right_answers():
    X, known, correct = calibration_examples(4000, seed=1, right_margin=1.0, spread=1.0)
    rejector = OpenSetRejector().fit(X, known, correct)
    X_test, _, correct_test = calibration_examples(4000, seed=2, right_margin=1.0, spread=1.0)
    calibrated = expected_calibration_error(rejector.probability(X_test), correct_test)
    raw = expected_calibration_error(rejector.confidence(X_test), correct_test)
    assert calibrated <= 0.03
    assert raw > 2 * calibrated  # the balanced regression's score alone is no probability


def test_right_answers_harder_than_the_calibrations_are_still_accepted():
    """Real photos score lower than the renditions that calibrate a gallery; where they still
    outscore the wrong answers, they stand."""
    X, known, correct = calibration_examples(4000, seed=3, right_margin=4.0, right_share=0.95)
    rejector = OpenSetRejector().fit(X, known, correct)
    X_test, known_test, correct_test = calibration_examples(4000, seed=4, right_margin=2.5, right_share=0.8)
    accepted = rejector.accept(X_test)
    assert accepted[correct_test].mean() > 0.6
    assert accepted[~correct_test].mean() <= 0.03
    assert correct_test[accepted].mean() > 0.95
    # Calibrated on right answers as hard as the test's, it accepts the same answers: only
    # the wrong answers place the threshold.
    X_hard, known_hard, correct_hard = calibration_examples(4000, seed=3, right_margin=2.5, right_share=0.8)
    hard = OpenSetRejector().fit(X_hard, known_hard, correct_hard)
    assert np.mean(hard.accept(X_test) == accepted) > 0.99


def test_a_share_max_wrong_acceptance_of_wrong_answers_stands():
    X, known, correct = calibration_examples(3000, seed=5, right_margin=2.0)
    X_test, _, correct_test = calibration_examples(3000, seed=7, right_margin=2.0)
    for share in (0.01, 0.02, 0.1):
        rejector = OpenSetRejector(max_wrong_acceptance=share).fit(X, known, correct)
        assert rejector.accept(X[~correct]).mean() == pytest.approx(share, abs=0.002)
        assert rejector.accept(X_test[~correct_test]).mean() == pytest.approx(share, abs=0.015)
    with pytest.raises(ValueError, match="max_wrong_acceptance"):
        OpenSetRejector(max_wrong_acceptance=1.0).fit(X, known, correct)
    with pytest.raises(ValueError, match="max_wrong_acceptance"):
        OpenSetRejector(max_wrong_acceptance=0).fit(X, known, correct)


def test_known_share_sets_the_mix_the_probability_is_stated_for():
    """Made-up calibration examples hold three unknown crops per known one; with
    `known_share` 0.5 the stated probability is right for a stream half of known bands,
    without it for the examples' own mix."""
    def examples(count, seed, known_share):
        rng = np.random.default_rng(seed)
        known = rng.random(count) < known_share
        correct = known & (rng.random(count) < 0.8)
        margin = np.where(correct, rng.normal(1.0, 1.0, count), rng.normal(0.0, 1.0, count))
        return np.stack([margin, rng.normal(0, 1, count)], axis=1), known, correct

    X, known, correct = examples(8000, seed=8, known_share=0.25)
    X_test, _, correct_test = examples(8000, seed=9, known_share=0.5)
    shared = OpenSetRejector(known_share=0.5).fit(X, known, correct)
    own_mix = OpenSetRejector().fit(X, known, correct)
    assert expected_calibration_error(shared.probability(X_test), correct_test) <= 0.03
    assert expected_calibration_error(own_mix.probability(X_test), correct_test) > 0.08
    # The share changes what an answer states, not which answers stand.
    np.testing.assert_array_equal(shared.accept(X_test), own_mix.accept(X_test))
    assert OpenSetRejector.from_json(shared.to_json()).known_share == 0.5
    with pytest.raises(ValueError, match="known_share"):
        OpenSetRejector(known_share=1.0).fit(X, known, correct)


def test_the_confidence_travels_with_the_rejector():
    X, known, correct = calibration_examples(500, seed=6, right_margin=2.0)
    rejector = OpenSetRejector(max_wrong_acceptance=0.05).fit(X, known, correct)
    copy = OpenSetRejector.from_json(rejector.to_json())
    assert copy.max_wrong_acceptance == 0.05
    np.testing.assert_array_equal(copy.probability(X), rejector.probability(X))
    np.testing.assert_array_equal(copy.accept(X), rejector.accept(X))
    old = rejector.to_json()
    del old["calibration"], old["max_wrong_acceptance"]  # a bundle of before both
    old["threshold"] = 0.5
    older = OpenSetRejector.from_json(old)
    assert older.probability(X) is None
    np.testing.assert_array_equal(older.accept(X), rejector.confidence(X) >= 0.5)


def test_ece_by_hand():
    assert expected_calibration_error([0.9, 0.9, 0.1, 0.1], [True, False, False, False]) == pytest.approx(
        0.5 * 0.4 + 0.5 * 0.1)
    assert expected_calibration_error([1.0, 0.0], [True, False]) == 0.0


def test_reliability_bins_by_hand():
    assert reliability_bins([0.95, 0.9, 0.15, 0.1, 0.12], [True, False, False, False, True]) == [
        [0.1233, 0.3333, 3], [0.925, 0.5, 2]]
