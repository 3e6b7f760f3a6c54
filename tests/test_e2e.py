"""End-to-end evaluation (retrieval/evaluate_e2e.py, `kyb eval e2e`): the per-photo scoring
by hand, then a short run of the real thing on the generated dataset."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kyb.eval_e2e_cmd import eval_e2e
from retrieval.evaluate_e2e import PhotoTruth, score_photo, summarise
from tests.test_pipeline_support import tiny_bundle, untrained_model


def result(*detections):
    found = {}
    for verdict, band_id, _box in detections:
        if verdict == "match":
            found[band_id] = {"band_id": band_id, "name": str(band_id), "url": None, "score": 0.9}
    return {"detections": [{"box": box, "verdict": verdict, "matches": [{"band_id": band_id}]}
                           for verdict, band_id, box in detections],
            "bands": list(found.values())}


def test_score_photo_counts_bands_misses_and_unknown_objects():
    truth = PhotoTruth(known=frozenset({1, 2}), optional=frozenset({5}),
                       unknown_boxes=((0, 0, 100, 100), (200, 200, 300, 300)))
    scores = score_photo(truth, result(("match", 1, [0, 0, 98, 100]),      # names an unknown object
                                       ("match", 5, [400, 0, 450, 50]),    # a difficult one: ignored
                                       ("unknown", 2, [200, 200, 300, 300]),  # rejected: not a match
                                       ("match", 7, [500, 0, 600, 60])))   # a wrong band
    assert scores == {"tp": 1, "fp": 1, "fn": 1, "exact": False, "unknown_objects": 2,
                      "unknown_rejected": 1}
    assert score_photo(PhotoTruth(frozenset(), frozenset(), ()), result())["exact"]


def test_summarise_gives_ratios_and_latency_percentiles():
    scores = [{"tp": 2, "fp": 0, "fn": 0, "exact": True, "unknown_objects": 1, "unknown_rejected": 1},
              {"tp": 1, "fp": 1, "fn": 1, "exact": False, "unknown_objects": 0, "unknown_rejected": 0}]
    timings = [{"detect": d, "features": 1, "match": 1, "verify": 1, "lookup": 1, "total": d + 4}
               for d in (100, 300)]
    figures = summarise(scores, timings)
    assert figures["band_precision"] == pytest.approx(0.75)
    assert figures["band_recall"] == pytest.approx(0.75)
    assert figures["exact_photo_accuracy"] == 0.5
    assert figures["open_set_rejection"] == 1.0
    assert figures["latency_ms"]["detect"] == {"p50": 200.0, "p95": 290.0}


def test_kyb_eval_e2e_runs_the_pipeline_prints_a_table_and_writes_json(small_dataset, tmp_path):
    from text.ocr import ocr_available

    out = tmp_path / "e2e.json"
    roster = tmp_path / "roster.csv"
    roster.write_text("band_id,name\n990001,Distractor Name\n", encoding="utf-8")
    outcome = CliRunner().invoke(eval_e2e, [
        "--dataset", str(small_dataset), "--index", str(tiny_bundle(small_dataset)),
        "--model", str(untrained_model(tmp_path)), "--limit", "2", "--roster", str(roster),
        "--json", str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert "band-P" in outcome.output and "tiny" in outcome.output
    report = json.loads(out.read_text())
    figures = report["results"]["tiny"]
    assert report["photos"] == figures["photos"] == 2
    assert figures["latency_ms"]["total"]["p50"] > 0
    assert report["roster"] == str(roster) and report["text_reading"] == ocr_available()
    assert (figures["latency_ms"]["text"] is not None) == ocr_available()
    assert set(figures) >= {"band_precision", "band_recall", "exact_photo_accuracy", "open_set_rejection"}
