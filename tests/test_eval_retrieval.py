"""Retrieval evaluation: the metrics by hand, the report on a generated dataset, the real
sets' folders, and the commands (`kyb index`, `kyb match`, `kyb eval retrieval`) as a user
runs them."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

from data.crops import GroundTruthCrop, ground_truth_crops
from data.dataset import load_dataset
from matching.calibration import calibration_examples
from matching.evaluate import ece_with_left_out, evaluate_retrieval, kind_metrics, rejector_curve
from matching.openset import ranking_features
from matching.outcomes import Outcome
from matching.rank import Candidate, MatchResult
from tests.conftest import REPO_ROOT, shared_path
from tests.test_index import TINY


def outcome(band_id, answers, verdict="match", kind="logo", milliseconds=10.0):
    crop = GroundTruthCrop("photo", kind, (0, 0, 10, 10), band_id, None, False)
    candidates = [Candidate(i, band, None, 0.5) for i, band in enumerate(answers)]
    return Outcome(crop, MatchResult(kind, candidates, verdict, 0.5), milliseconds)


def answered(band_id, ranking):
    """A verified cover crop's outcome from (band, similarity, inliers) triples, best first."""
    crop = GroundTruthCrop("photo", "album", (0, 0, 10, 10), band_id, None, False)
    candidates = [Candidate(i, band, None, similarity, inliers, matches=2 * inliers)
                  for i, (band, similarity, inliers) in enumerate(ranking)]
    return Outcome(crop, MatchResult("album", candidates, "match", None,
                                     features=ranking_features(candidates, 1)), 5.0)


def test_calibration_uses_each_known_crop_again_without_its_band():
    right = answered(7, [(7, 0.9, 60), (3, 0.5, 4), (4, 0.4, 0)])
    wrong = answered(8, [(3, 0.6, 5), (8, 0.55, 3), (4, 0.3, 0)])
    absent = answered(0, [(5, 0.5, 2), (6, 0.45, 0)])
    X, known, correct, left_out = calibration_examples([right, wrong, absent], 1)
    assert known.tolist() == [True, False, True, False, False]
    assert correct.tolist() == [True, False, False, False, False]
    assert left_out.tolist() == [False, True, False, True, False]  # the absent band's answer is no twin
    # Known crops as answered, then as if their band were not indexed: the rest of the ranking.
    np.testing.assert_allclose(X[0], right.result.features)
    np.testing.assert_allclose(X[1], ranking_features(right.result.candidates[1:], 1))
    np.testing.assert_allclose(X[3], ranking_features([wrong.result.candidates[i] for i in (0, 2)], 1))
    np.testing.assert_allclose(X[4], absent.result.features)


class MarginRejector:
    """A rejector whose score is the ranking's margin, accepting from 0.2."""

    def confidence(self, X):
        return np.asarray(X)[:, 0]

    def accept(self, X):
        return self.confidence(X) >= 0.2


def test_rejector_curve_by_hand():
    outcomes = [answered(7, [(7, 0.9, 60), (3, 0.5, 4), (4, 0.4, 0)]),   # right at 0.4; left out 0.1
                answered(8, [(3, 0.6, 5), (8, 0.55, 3), (4, 0.3, 0)]),   # wrong at 0.05; left out 0.3
                answered(0, [(5, 0.5, 2), (6, 0.45, 0)]),                # absent band, 0.05
                answered(9, [(9, 0.5, 10), (3, 0.48, 2)])]               # right at 0.02; left out 0.48
    examples = calibration_examples(outcomes, verified_views=1)
    curve = rejector_curve(MarginRejector(), examples)
    # By score: 0.48 wrong, 0.4 right, 0.3, 0.1, 0.05, 0.05 wrong, 0.02 right.
    assert (curve["answers"], curve["right"]) == (7, 2)
    assert curve["average_precision"] == pytest.approx((1 / 2 + 2 / 7) / 2, abs=1e-4)
    # Accepted from 0.2: 0.48, 0.4 and 0.3, one of them right, one of the two right answers.
    assert curve["operating_point"] == {"precision": pytest.approx(1 / 3, abs=1e-4), "recall": 0.5}
    assert curve["curve"][-1] == [0.0, 1.0]
    assert rejector_curve(None, examples) is None


class MarginProbability(MarginRejector):
    """States the ranking's margin, doubled, as the probability that the answer is right."""

    calibration_ = "margins"

    def probability(self, X):
        return np.minimum(1.0, 2 * self.confidence(X))


def test_ece_with_left_out_by_hand():
    outcomes = [answered(7, [(7, 0.9, 60), (3, 0.5, 4), (4, 0.4, 0)]),   # right, states 0.8; left out 0.2
                answered(9, [(9, 0.5, 10), (3, 0.48, 2)])]               # right, states 0.04; left out 0.96
    rejector, examples = MarginProbability(), calibration_examples(outcomes, verified_views=1)
    # Bins: 0.04 right (gap 0.96), 0.2 wrong (0.2), 0.8 right (0.2), 0.96 wrong (0.96).
    expected = (0.96 + 0.2 + 0.2 + 0.96) / 4
    assert ece_with_left_out(rejector, examples) == pytest.approx(expected, abs=1e-4)
    rejector.calibration_ = None  # a bundle that states no probability
    assert ece_with_left_out(rejector, examples) is None


def test_metrics_by_hand():
    outcomes = [
        outcome(1, [1, 2, 3], milliseconds=10),                        # known, top-1
        outcome(2, [1, 3, 4, 5, 6, 2], milliseconds=20),               # known, rank 6: top-10 only
        outcome(3, [1, 2], verdict="unknown", milliseconds=30),        # known, missed and rejected
        outcome(0, [1, 2], verdict="unknown", milliseconds=40),        # unknown, rejected
        outcome(0, [4, 1], verdict="match", milliseconds=50),          # unknown, accepted
    ]
    metrics = kind_metrics(outcomes)
    assert (metrics["known"], metrics["unknown"]) == (3, 2)
    assert metrics["top1"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["top5"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["top10"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["known_rejected"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["unknown_recall"] == 0.5            # 1 of the 2 unknown crops rejected
    assert metrics["unknown_precision"] == 0.5         # 1 of the 2 rejections was an unknown band
    assert metrics["accepted_correct"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["latency_ms_p50"] == 30.0


def kyb(*args, timeout=300):
    env = {**os.environ, "KYB_NO_PROGRESS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "kyb", *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cli_bundle(small_dataset, tmp_path_factory):
    """A bundle built by `kyb index build` with a custom tiny preset file."""
    folder = tmp_path_factory.mktemp("cli")
    preset = folder / "tiny.json"
    preset.write_text(json.dumps({"name": "tiny", **{kind: asdict(config) for kind, config in TINY.items()}}))
    index = folder / "index"
    built = kyb("index", "build", "--dataset", small_dataset, "--out", index, "--preset-file", preset,
                "--calibration-split", "train")
    assert built.returncode == 0, built.stderr
    assert "preset tiny, 26 references (12 logos, 14 covers)" in built.stdout
    assert "threshold" in built.stdout or "not calibrated" in built.stdout
    return index


def test_evaluation_report_on_a_generated_dataset(small_dataset, cli_bundle):
    report = evaluate_retrieval(small_dataset, {"tiny": cli_bundle}, split="train", progress=False)
    assert report["crops"] == len(ground_truth_crops(load_dataset(small_dataset), "train"))
    result = report["results"]["tiny"]
    assert set(result["metrics"]) == {"logo", "album", "all"}
    for metrics in result["metrics"].values():
        assert 0 <= metrics["top1"] <= metrics["top5"] <= metrics["top10"] <= 1
        assert metrics["latency_ms_p50"] <= metrics["latency_ms_p95"]
    assert result["metrics"]["all"]["crops"] == report["crops"]
    facts = result["index"]
    assert facts["references"] == 26 and facts["bytes_per_reference"]["search"] > 0
    assert facts["build"]["references_per_second"] > 0


@pytest.mark.parametrize("name, kind", [("smvs-dvd-canon", "album"), ("flickrlogos27-half", "logo")])
def test_real_sets_give_ground_truth_crops(name, kind):
    dataset = load_dataset(shared_path("real", name))
    crops = ground_truth_crops(dataset, "test")
    assert len(crops) > 90 and {crop.kind for crop in crops} == {kind}
    assert all(crop.known for crop in crops)  # the real sets have no open-set objects
    assert {crop.band_id for crop in crops} <= {ref.band_id for ref in dataset.references}


def test_commands_end_to_end(small_dataset, cli_bundle, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(cli_bundle, index)
    info = kyb("index", "info", "--index", index, "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["counts"]["references"] == 26

    dataset = load_dataset(small_dataset)
    logo = next(ref for ref in dataset.references if ref.kind == "logo")
    matched = kyb("match", dataset.reference_path(logo), "--index", index, "--kind", "logo", "--json")
    assert matched.returncode == 0, matched.stderr
    answer = json.loads(matched.stdout)
    assert answer["matches"][0]["band_id"] == logo.band_id and answer["verdict"] in ("match", "unknown")

    figures = tmp_path / "figures.json"
    plot, curves = tmp_path / "reliability.png", tmp_path / "rejector.png"
    evaluated = kyb("eval", "retrieval", "--dataset", small_dataset, "--index", index, "--split", "train",
                    "--json", figures, "--reliability-plot", plot, "--rejector-plot", curves)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "top-1" in evaluated.stdout and "tiny" in evaluated.stdout and "rej-AP" in evaluated.stdout
    metrics = json.loads(figures.read_text())["results"]["tiny"]["metrics"]
    assert metrics["all"]["crops"] > 0
    curved = [kind for kind in ("logo", "album") if metrics[kind]["rejector"] is not None]  # calibrated kinds
    assert curved
    for kind in curved:
        assert 0 <= metrics[kind]["rejector_ap"] <= 1 and len(metrics[kind]["rejector"]["curve"]) >= 2
    assert plot.read_bytes().startswith(b"\x89PNG") and curves.read_bytes().startswith(b"\x89PNG")

    added = kyb("index", "add", "--index", index, "--references", small_dataset / "references.csv")
    assert added.returncode == 0, added.stderr
    assert "added 0 reference(s)" in added.stdout

    manifest = next(index.glob("gen-*/manifest.json"))
    manifest.write_bytes(manifest.read_bytes().replace(b'"tiny"', b'"tinz"'))
    broken = kyb("match", dataset.reference_path(logo), "--index", index)
    assert broken.returncode != 0 and "checksum mismatch" in broken.stderr


def test_eval_group_lists_its_subcommands():
    listed = kyb("eval", "--help")
    assert listed.returncode == 0 and "retrieval" in listed.stdout
