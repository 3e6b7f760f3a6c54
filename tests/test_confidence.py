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


def calibration_examples(count: int, seed: int, known_share: float, right_share: float,
                         right_margin: float, spread: float):
    """Calibration examples: `known_share` of the crops show known bands, `right_share`
    of those are named right and stand out by a margin of `right_margin`; the wrong answers
    and the crops of unknown bands sit around 0 (both with noise `spread`)."""
    rng = np.random.default_rng(seed)
    known = rng.random(count) < known_share
    correct = known & (rng.random(count) < right_share)
    margin = np.where(correct, rng.normal(right_margin, spread, count), rng.normal(0.0, spread, count))
    return np.stack([margin, rng.normal(0, 1, count)], axis=1), known, correct


def one_shot_gallery(count: int, seed: int):
    """A gallery whose own answers are often wrong: 60% of the crops of known bands are
    named right and stand out, the other 40% look like the crops of unknown bands."""
    return calibration_examples(count, seed, known_share=0.5, right_share=0.6, right_margin=2.0, spread=0.7)


def separable_gallery(count: int, seed: int):
    """Calibration examples whose right answers all stand clear of the wrong ones (a
    gallery of covers: the right one verifies with tens of inliers, no other does)."""
    return calibration_examples(count, seed, known_share=0.7, right_share=0.99, right_margin=4.0, spread=0.5)


def test_answers_more_likely_wrong_than_right_are_rejected():
    X, known, correct = one_shot_gallery(3000, seed=4)
    floored = OpenSetRejector().fit(X, known, correct)
    unfloored = OpenSetRejector(min_probability=0.0).fit(X, known, correct)
    X_test, known_test, correct_test = one_shot_gallery(3000, seed=5)
    for rejector, least, most in ((floored, 0.85, 1.0), (unfloored, 0.0, 0.5)):
        accepted = rejector.accept(X_test)
        assert least <= correct_test[accepted].mean() <= most
    # The known-rejection quantile alone sits among the wrong answers; the floor does not.
    assert (floored.probability(X_test)[floored.accept(X_test)] >= 0.5).all()
    assert floored.report_["known_rejected"] > 0.3 > unfloored.report_["known_rejected"]


def test_the_probability_floor_travels_with_the_rejector():
    X, known, correct = one_shot_gallery(500, seed=6)
    rejector = OpenSetRejector(min_probability=0.7).fit(X, known, correct)
    copy = OpenSetRejector.from_json(rejector.to_json())
    assert copy.min_probability == 0.7
    np.testing.assert_array_equal(copy.accept(X), rejector.accept(X))
    old = rejector.to_json()
    del old["min_probability"]  # a bundle written before the floor answers as it did
    assert OpenSetRejector.from_json(old).min_probability == 0.0
    with pytest.raises(ValueError, match="min_probability"):
        OpenSetRejector(min_probability=1.0).fit(X, known, correct)


def test_rejector_rejects_no_right_answer_where_right_and_wrong_separate():
    X, known, correct = separable_gallery(2000, seed=1)
    rejector = OpenSetRejector(max_known_rejection=0.04).fit(X, known, correct)
    X_test, known_test, correct_test = separable_gallery(2000, seed=2)
    accepted = rejector.accept(X_test)
    assert np.mean(~accepted[correct_test]) <= 0.005  # the 4% budget is not spent for nothing
    assert np.mean(~accepted[~correct_test]) >= 0.98
    assert rejector.report_["known_rejected"] < 0.02
    # Where they overlap, the known-rejection budget caps the threshold as before.
    overlapping = np.where(correct[:, None], X, X + [3.0, 0.0])
    capped = OpenSetRejector(max_known_rejection=0.04, min_probability=0.0).fit(overlapping, known, correct)
    assert capped.report_["known_rejected"] == pytest.approx(0.04, abs=0.002)
    with pytest.raises(ValueError, match="max_wrong_acceptance"):
        OpenSetRejector(max_wrong_acceptance=1.0).fit(X, known, correct)
