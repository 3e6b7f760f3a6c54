"""VOC AP against a hand-worked example, in both VOC variants, with a difficult object."""

import numpy as np
import pytest

from detector.data import Sample
from detector.evaluate import average_precision, evaluate_detections, summary


def sample(name, boxes, classes, difficult):
    return Sample(name, None, np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int32),
                  np.array(difficult, bool))


def test_average_precision_of_a_perfect_curve_is_one():
    for method in ("voc07", "all"):
        assert average_precision([0.5, 1.0], [1.0, 1.0], method) == pytest.approx(1.0)


def test_hand_worked_example():
    # Photo 0: three logos and a difficult one. Photo 1: one album.
    samples = [
        sample("a", [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], [1, 1, 1, 1],
               [False, False, False, True]),
        sample("b", [[0, 0, 40, 40]], [2], [False]),
    ]
    logo = [
        ([60, 0, 70, 10], 0.95),  # on the difficult logo: ignored
        ([0, 0, 10, 10], 0.9),  # TP                       recall 1/3, precision 1
        ([1, 0, 11, 10], 0.8),  # duplicate of it: FP      recall 1/3, precision 1/2
        ([20, 0, 30, 10], 0.7),  # TP                      recall 2/3, precision 2/3
        ([100, 100, 110, 110], 0.6),  # FP                 recall 2/3, precision 1/2
    ]  # the third logo is never found
    predictions = [
        (np.array([b for b, _ in logo], np.float32), np.array([s for _, s in logo]), np.zeros(5, int)),
        (np.array([[1, 1, 40, 40]], np.float32), np.array([0.5]), np.array([1])),
    ]
    results = evaluate_detections(predictions, samples, ("logo", "album"))
    logo_ap = results["classes"]["logo"].ap
    # All-point: envelope 1 up to recall 1/3, 2/3 up to recall 2/3, nothing after.
    assert logo_ap["all"] == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)
    # 11-point: precision 1 at recall 0, .1, .2, .3; 2/3 at .4, .5, .6; 0 at .7 .. 1.
    assert logo_ap["voc07"] == pytest.approx((4 * 1 + 3 * 2 / 3) / 11)
    assert results["classes"]["logo"].positives == 3
    assert results["classes"]["album"].ap == {"voc07": pytest.approx(1.0), "all": pytest.approx(1.0)}
    assert results["map"]["all"] == pytest.approx((5 / 9 + 1) / 2)
    assert results["map"]["voc07"] == pytest.approx((6 / 11 + 1) / 2)
    figures = summary(results, np.array([[100.0, 90.0], [200.0, 150.0], [300.0, 160.0]]))
    assert figures["latency_ms"]["p50"] == pytest.approx(200.0)
    assert figures["latency_ms"]["cpu_p50"] == pytest.approx(150.0)
    assert figures["classes"]["logo"]["max_recall"] == pytest.approx(2 / 3)


def test_class_without_positives_stays_out_of_the_mean():
    samples = [sample("a", [[0, 0, 10, 10]], [1], [False])]
    predictions = [(np.array([[0, 0, 10, 10]], np.float32), np.array([0.9]), np.array([0]))]
    results = evaluate_detections(predictions, samples, ("logo", "album"))
    assert results["map"]["all"] == pytest.approx(1.0)
