"""The index bundle: round trip, atomic builds, refusal of damaged or foreign bundles,
`add` without retraining, readers that survive writers, calibration stored and used."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from data.crops import ground_truth_crops
from data.image_io import read_image
from matching import bundle as bundle_module
from matching.build import add_to_bundle, build_bundle, check_target
from matching.bundle import BundleError, GenerationWriter, open_generation, sha256_file
from matching.calibration import calibrate, copy_calibration
from matching.index import RetrievalIndex
from matching.openset import OpenSetRejector
from tests.index_support import TINY


@pytest.fixture
def saved(built, tmp_path):
    root = tmp_path / "index"
    built.save(root)
    return root


def reference_queries(dataset, count=3):
    """(kind, band_id, image) of the first references of each kind, as if cropped from a photo."""
    out = []
    for kind in ("logo", "album"):
        for ref in [r for r in dataset.references if r.kind == kind][:count]:
            out.append((kind, ref.band_id, read_image(dataset.reference_path(ref))))
    return out


def test_round_trip_gives_the_same_answers(dataset, built, saved):
    opened = RetrievalIndex.open(saved)
    manifest = opened.generation.manifest
    assert manifest["preset"] == "tiny" and manifest["format_version"] == bundle_module.FORMAT_VERSION
    assert manifest["counts"]["references"] == len(dataset.references)
    assert manifest["counts"]["logo"] == 12 and manifest["versions"]["numpy"] == np.__version__
    assert all(len(info["sha256"]) == 64 for info in manifest["files"].values())
    np.testing.assert_array_equal(opened.refs, built.refs)
    for kind, band_id, image in reference_queries(dataset):
        before, after = built.query(image, kind, 5), opened.query(image, kind, 5)
        assert [c.ref_id for c in after.candidates] == [c.ref_id for c in before.candidates]
        np.testing.assert_allclose([c.similarity for c in after.candidates],
                                   [c.similarity for c in before.candidates], atol=1e-4)
        assert after.candidates[0].band_id == band_id and after.candidates[0].inliers >= 8
    assert opened.bytes_per_reference()["search"] > 0


def test_an_index_verifies_before_its_save_as_after_it(dataset, tmp_path):
    """The rejector is calibrated on the index before it is saved: its keypoints must give
    the inliers the saved store (here product-quantised) gives."""
    configs = {kind: dataclasses.replace(config, keypoint_codec="pq16") for kind, config in TINY.items()}
    index = RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=configs, progress=False)
    queries = reference_queries(dataset)
    before = [index.query(image, kind, 5) for kind, _, image in queries]
    index.save(tmp_path / "index")
    opened = RetrievalIndex.open(tmp_path / "index")
    for (kind, _, image), answered in zip(queries, before, strict=True):
        after = opened.query(image, kind, 5)
        assert [(c.ref_id, c.inliers, c.matches) for c in after.candidates] == \
            [(c.ref_id, c.inliers, c.matches) for c in answered.candidates]
        np.testing.assert_allclose(after.features, answered.features, atol=1e-4)


def test_a_crash_mid_build_leaves_the_previous_bundle(dataset, built, saved, monkeypatch):
    before = open_generation(saved)

    def fail(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(GenerationWriter, "save_bytes", fail)  # writing the faiss index fails
    with pytest.raises(OSError, match="simulated"):
        built.save(saved)
    monkeypatch.undo()
    after = RetrievalIndex.open(saved)
    assert after.generation.name == before.name
    assert not list(saved.glob(f"{bundle_module.TEMP_PREFIX}*"))
    kind, band_id, image = reference_queries(dataset, 1)[0]
    assert after.query(image, kind).candidates[0].band_id == band_id


def test_a_crash_after_the_rename_but_before_the_pointer_swap_is_harmless(built, saved, monkeypatch):
    before = open_generation(saved).name
    real_replace = bundle_module.os.replace

    def crash(source, target):
        raise KeyboardInterrupt("killed between rename and pointer swap")

    monkeypatch.setattr(bundle_module.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        built.save(saved)
    monkeypatch.setattr(bundle_module.os, "replace", real_replace)
    assert open_generation(saved).name == before
    RetrievalIndex.open(saved)


def test_a_rejector_fitted_on_other_evidence_is_refused(built, tmp_path):
    """A bundle calibrated on another set of rank features (an older program's four) is
    refused on open with the reason, rather than scoring queries on misread columns."""
    _save_with_rejectors(built, tmp_path / "index", {kind: 4 for kind in built.paths})
    with pytest.raises(BundleError, match="rejector reads 4 features"):
        RetrievalIndex.open(tmp_path / "index")


def test_calibration_is_copied_only_to_paths_with_the_same_evidence(dataset, built, tmp_path):
    """A rejector lent to another bundle (`--calibration-from`) must read the same rank
    features: a logo path without the ink view lacks `view_agreement`, so it stays
    uncalibrated, while the album path, alike in both, takes the rejector."""
    _save_with_rejectors(built, tmp_path / "source", _feature_counts(built))
    without_ink = dict(TINY, logo=dataclasses.replace(
        TINY["logo"], extractor=dataclasses.replace(TINY["logo"].extractor, ink=False)))
    index = RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=without_ink,
                                 progress=False)
    summary = copy_calibration(index, RetrievalIndex.open(tmp_path / "source"))
    assert summary["album"]["calibrated"] and not summary["logo"]["calibrated"]
    assert set(index.rejectors) == {"album"}


def test_a_flipped_byte_or_a_missing_file_is_refused(saved):
    generation = open_generation(saved)
    victim = generation.path / "logo" / "ann.faiss"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="checksum mismatch"):
        RetrievalIndex.open(saved)
    victim.unlink()
    with pytest.raises(BundleError, match="missing"):
        RetrievalIndex.open(saved)


def test_a_tampered_manifest_or_pointer_is_refused(saved):
    manifest = open_generation(saved).path / bundle_module.MANIFEST
    manifest.write_text(manifest.read_text().replace('"preset": "tiny"', '"preset": "tinz"'))
    with pytest.raises(BundleError, match="checksum mismatch"):
        open_generation(saved)
    (saved / bundle_module.CURRENT).write_text("gen-000001\n")
    with pytest.raises(BundleError, match="malformed"):
        open_generation(saved)
    with pytest.raises(BundleError, match="not an index bundle"):
        open_generation(saved.parent)


def test_another_format_version_is_refused(saved):
    generation = open_generation(saved)
    manifest_path = generation.path / bundle_module.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = bundle_module.FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest))
    (saved / bundle_module.CURRENT).write_text(f"{generation.name} {sha256_file(manifest_path)}\n")
    with pytest.raises(BundleError, match="format version .* rebuild"):
        RetrievalIndex.open(saved)


def test_add_appends_without_retraining_and_readers_keep_working(dataset, tmp_path):
    new_bands = {ref.band_id for ref in dataset.references if ref.kind == "logo"}
    new_bands = set(sorted(new_bands)[:3])
    first = [ref for ref in dataset.references if ref.band_id not in new_bands]
    root = tmp_path / "index"
    RetrievalIndex.build(first, dataset.root, "tiny", configs=TINY, progress=False).save(root)
    reader = RetrievalIndex.open(root)
    old = reader.generation

    updated, added = add_to_bundle(root, dataset.references, dataset.root, progress=False)
    assert added == len(dataset.references) - len(first)
    new = updated.generation
    assert new.name != old.name and open_generation(root).name == new.name
    for name, info in old.manifest["files"].items():
        if "/encoder/" in name or "/keypoints/shard-00000" in name:
            assert new.manifest["files"][name]["sha256"] == info["sha256"], name
    for store in ("logo/keypoints", "logo/ink/keypoints", "album/keypoints"):
        assert f"{store}/shard-00000.kp.npy" in old.manifest["files"]
        assert f"{store}/shard-00001.kp.npy" in new.manifest["files"]

    fresh = RetrievalIndex.open(root)
    added_refs = [ref for ref in dataset.references if ref.band_id in new_bands]
    for ref in added_refs:
        result = fresh.query(read_image(dataset.reference_path(ref)), ref.kind, 3)
        assert result.candidates[0].band_id == ref.band_id
    assert add_to_bundle(root, dataset.references, dataset.root, progress=False)[1] == 0

    # The reader opened before the add still answers from its own generation, even after
    # later writers have pruned that generation away.
    for _ in range(bundle_module.KEEP_OLD + 1):
        fresh.save(root)
    assert not old.path.exists()
    kind, band_id, image = next(q for q in reference_queries(dataset, 3) if q[1] not in new_bands)
    assert reader.query(image, kind).candidates[0].band_id == band_id
    assert len(reader.refs) == len(first)


def _feature_counts(index: RetrievalIndex) -> dict[str, int]:
    """How many rank features each of the index's paths gives its rejector."""
    return {kind: len(path.rank_feature_names) for kind, path in index.paths.items()}


def _save_with_rejectors(built, root, features: dict[str, int]) -> dict[str, OpenSetRejector]:
    """Save `built` with a rejector per kind fitted on random rows of `features[kind]` columns."""
    rng = np.random.default_rng(0)
    rejectors = {}
    for kind in built.paths:
        X = rng.normal(size=(60, features[kind]))
        known = np.arange(60) < 40
        rejectors[kind] = OpenSetRejector(max_wrong_acceptance=0.05).fit(X, known, known & (X[:, 0] > -1))
    built.rejectors = rejectors
    try:
        built.save(root)
    finally:
        built.rejectors = {}
    return rejectors


def test_calibration_is_stored_and_used(dataset, built, tmp_path):
    rejectors = _save_with_rejectors(built, tmp_path / "index", _feature_counts(built))
    opened = RetrievalIndex.open(tmp_path / "index")
    assert set(opened.rejectors) == {"logo", "album"}
    assert opened.rejectors["logo"].threshold_ == rejectors["logo"].threshold_
    kind, _, image = reference_queries(dataset, 1)[0]
    opened.rejectors[kind].threshold_ = 1.01  # nothing is that sure
    result = opened.query(image, kind)
    assert result.verdict == "unknown" and result.band_id is None and result.confidence is not None
    opened.rejectors[kind].threshold_ = 0.0
    accepted = opened.query(image, kind)
    assert accepted.verdict == "match" and 0.0 <= accepted.probability <= 1.0


def test_build_bundle_calibrates_on_a_held_out_split(small_dataset, tmp_path):
    report = build_bundle(small_dataset, tmp_path / "index", "tiny", configs=TINY, calibration_split="train",
                          progress=False)
    assert set(report.calibration) == {"logo", "album"}
    opened = RetrievalIndex.open(tmp_path / "index")
    for kind, outcome in report.calibration.items():
        assert outcome["calibrated"] == (kind in opened.rejectors)
        if not outcome["calibrated"]:
            assert "train split" in outcome["reason"]
    with pytest.raises(FileExistsError, match="--force"):
        check_target(tmp_path / "index", force=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("not a bundle")
    with pytest.raises(FileExistsError, match="not an index bundle"):
        check_target(tmp_path / "other", force=True)


def test_calibration_pools_the_splits_it_is_given(dataset, built):
    """``train,val`` fits each kind's rejector on the crops of both splits; a split the
    dataset does not have is refused by name rather than calibrating on nothing."""
    index = RetrievalIndex(built.preset_name, built.refs, built.paths, seed=built.seed)
    pooled = calibrate(index, dataset, "train,val", progress=False)
    for kind, outcome in pooled.items():
        if outcome["calibrated"]:
            crops = [c for split in ("train", "val") for c in ground_truth_crops(dataset, split)
                     if c.kind == kind and c.known]
            assert outcome["known"] == len(crops)
            assert len(crops) > sum(c.kind == kind and c.known for c in ground_truth_crops(dataset, "train"))
    assert any(outcome["calibrated"] for outcome in pooled.values())
    with pytest.raises(ValueError, match="'vall'"):
        calibrate(index, dataset, "train,vall", progress=False)


def test_a_misnamed_calibration_split_is_refused_before_any_extraction(small_dataset, tmp_path, monkeypatch):
    def no_build(*args, **kwargs):
        raise AssertionError("the index was built before the split was checked")

    monkeypatch.setattr(RetrievalIndex, "build", no_build)
    with pytest.raises(ValueError, match="'vall'"):
        build_bundle(small_dataset, tmp_path / "index", "tiny", configs=TINY, calibration_split="train,vall",
                     progress=False)


def test_writers_take_turns(tmp_path):
    """The writer lock is exclusive: a second writer on the same root waits (here: fails to
    take it without blocking) while the first holds it."""
    import fcntl

    with (GenerationWriter(tmp_path / "index"), open(tmp_path / "index" / bundle_module.LOCK, "a+") as handle,
          pytest.raises(BlockingIOError)):
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_rejector_places_no_threshold_on_too_few_known_crops():
    """A 4% quantile of two known crops' scores is one of them: it rejected a right cover
    with 13 inliers. Below `min_known` the kind stays uncalibrated instead."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    known = np.arange(40) < 9
    correct = known & (np.arange(40) % 2 == 0)
    with pytest.raises(ValueError, match="at least 10 crops of known bands, got 9"):
        OpenSetRejector().fit(X, known, correct)
    assert OpenSetRejector(min_known=9).fit(X, known, correct).threshold_ is not None


def test_a_kind_the_preset_cannot_index_is_refused_before_any_extraction(dataset, monkeypatch):
    """A build refuses at once, not after minutes spent on the kinds it can index."""
    def no_reading(path):
        raise AssertionError(f"read {path} before refusing")

    monkeypatch.setattr("matching.runners.read_image", no_reading)
    with pytest.raises(ValueError, match="no album path"):
        RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs={"logo": TINY["logo"]},
                             progress=False)




def test_stored_rows_read_as_saved_without_loading_or_mapping(tmp_path):
    arrays = {"rows.npy": np.arange(60, dtype=np.float16).reshape(5, 6, 2),
              "vector.npy": np.arange(7, dtype=np.int64), "empty.npy": np.zeros((0, 16), np.uint8)}
    with GenerationWriter(tmp_path / "bundle") as writer:
        for name, array in arrays.items():
            writer.save_array(name, array)
        writer.save_array("fortran.npy", np.asfortranarray(np.ones((3, 4))))
        writer.commit({})
    generation = open_generation(tmp_path / "bundle")
    for name, array in arrays.items():
        stored = generation.rows(name)
        assert len(stored) == len(array)
        assert np.array_equal(stored.rows(0, len(array)), array)
        if len(array) > 2:
            assert stored.rows(1, 2).dtype == array.dtype and np.array_equal(stored.rows(1, 2), array[1:3])
    stored = generation.rows("rows.npy")
    with pytest.raises(IndexError):
        stored.rows(4, 2)
    assert str(generation.file("rows.npy")) not in Path("/proc/self/maps").read_text()
    with pytest.raises(BundleError, match="C order"):
        generation.rows("fortran.npy")
    with open(generation.file("rows.npy"), "r+b") as file:  # cut short
        file.truncate(generation.file("rows.npy").stat().st_size - 8)
    with pytest.raises(BundleError, match="shorter"):
        stored.rows(0, 5)
