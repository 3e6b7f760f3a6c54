"""The index bundle: round trip, atomic builds, refusal of damaged or foreign bundles,
`add` without retraining, readers that survive writers, calibration stored and used."""

import dataclasses
import json

import cv2
import numpy as np
import pytest

from data.crops import ground_truth_crops
from data.dataset import Reference, load_dataset
from data.image_io import read_image
from matching import bundle as bundle_module
from matching.build import add_to_bundle, build_bundle, check_target
from matching.bundle import BundleError, GenerationWriter, open_generation, sha256_file
from matching.calibration import calibrate, copy_calibration
from matching.index import RetrievalIndex
from matching.openset import OpenSetRejector
from matching.presets import PathConfig, preset

# Tiny paths: small codebooks and projections, one faiss and one BallTree path, both verified
# (logos also on the ink map, so its keypoint store goes through every round trip).
TINY = {
    "logo": PathConfig(
        extractor={"sift": "rootsift", "sift_keypoints": 300, "sift_max_side": 400, "polarity": True,
                   "both_polarities": True, "ink": True},
        encoder={"parts": ["sift_vlad"], "sift_clusters": 8, "projection": "svd", "components": 16,
                 "sample_size": 4000},
        searcher="faiss", shortlist=8, verify=4, verify_keypoints=200, min_inliers=8),
    "album": PathConfig(
        extractor={"sift": "rootsift", "sift_keypoints": 300, "sift_max_side": 400},
        encoder={"parts": ["sift_vlad"], "sift_clusters": 8, "projection": None, "sample_size": 4000},
        searcher="balltree", shortlist=8, verify=4, verify_keypoints=200, min_inliers=8),
}


@pytest.fixture(scope="module")
def dataset(small_dataset):
    return load_dataset(small_dataset)


@pytest.fixture(scope="module")
def built(dataset):
    return RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=TINY, progress=False)


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
        rejectors[kind] = OpenSetRejector(max_known_rejection=0.05).fit(X, known, known & (X[:, 0] > -1))
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
    assert opened.query(image, kind).verdict == "match"


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


def test_prefilter_verifies_the_candidate_with_most_matches_wherever_it_ranks(dataset, built):
    """A true reference ranked last by similarity is still the one verified when the
    prefilter counts one-to-one matches over the shortlist."""
    from matching.rank import Candidate
    from matching.verify import candidates_to_verify

    path = built.paths["album"]
    ref = next(r for r in dataset.references if r.kind == "album")
    extraction = path.extractor(read_image(dataset.reference_path(ref)), query=True)
    true_position = int(np.flatnonzero(built.refs["ref_id"][path.rows] == ref.ref_id)[0])
    others = [p for p in range(len(path.rows)) if p != true_position][:5]
    shortlist = [(Candidate(0, 0, None, 1.0 - 0.1 * i), p) for i, p in enumerate(others + [true_position])]
    plain = path.config
    try:
        path.config = dataclasses.replace(plain, verify=1)
        assert [p for _, p in candidates_to_verify(path, extraction, shortlist)] == [others[0]]
        path.config = dataclasses.replace(plain, verify=1, prefilter=len(shortlist), prefilter_keypoints=100)
        assert [p for _, p in candidates_to_verify(path, extraction, shortlist)] == [true_position]
    finally:
        path.config = plain
    with pytest.raises(ValueError, match="needs verify"):
        dataclasses.replace(plain, verify=0, prefilter=10)


def test_early_accept_skips_the_prefilter_only_when_a_first_candidate_convinces(dataset, built):
    from matching.rank import Candidate
    from matching.verify import EARLY_CANDIDATES, verify_shortlist

    path = built.paths["album"]
    ref = next(r for r in dataset.references if r.kind == "album")
    extraction = path.extractor(read_image(dataset.reference_path(ref)), query=True)
    true_position = int(np.flatnonzero(built.refs["ref_id"][path.rows] == ref.ref_id)[0])
    others = [p for p in range(len(path.rows)) if p != true_position][:5]

    def verified_positions():
        order = [true_position] + others
        shortlist = [(Candidate(0, 0, None, 1.0 - 0.1 * i), p) for i, p in enumerate(order)]
        verify_shortlist(path, built.refs, extraction, shortlist)
        return [p for c, p in shortlist if c.inliers is not None], shortlist[0][0].inliers

    plain = path.config
    try:
        path.config = dataclasses.replace(plain, verify=4, prefilter=6, early_accept=8)
        positions, inliers = verified_positions()
        assert inliers >= 8 and positions == [true_position] + others[:EARLY_CANDIDATES - 1]
        path.config = dataclasses.replace(plain, verify=4, prefilter=6, early_accept=10_000)
        positions, _ = verified_positions()
        # Nothing convinces: the prefilter's 4 are verified too (those among the first 2 once).
        assert {true_position, others[0]} <= set(positions) and 4 <= len(positions) <= 6
        assert len(positions) > EARLY_CANDIDATES
    finally:
        path.config = plain
    with pytest.raises(ValueError, match="needs prefilter"):
        dataclasses.replace(plain, early_accept=40)


def test_a_softened_reference_verifies_a_small_blurred_photo_of_it_better():
    """`reference_blur`: the keypoints stored for verification come from a softened copy,
    and they survive in a shrunk, blurred, noisy photo where the sharp reference's fine
    detail does not (the photo of ds1000's hard covers, in miniature)."""
    import skimage.data

    from features.local import extract_sift
    from features.reference_vector import reference_extractions
    from matching.geometry import GeometricVerifier

    cover = skimage.data.astronaut()
    config = dataclasses.replace(TINY["album"], reference_blur=2.0)
    softened, sharp = reference_extractions(config.extractor, config.recipe, cover, (0, 1), True)
    small = cv2.resize(cover, (150, 150), interpolation=cv2.INTER_AREA)
    noisy = cv2.GaussianBlur(small, (0, 0), 1.0) + np.random.default_rng(0).normal(0, 6, small.shape)
    photo = extract_sift(np.clip(noisy, 0, 255).astype(np.uint8), 1000, 640)
    verifier = GeometricVerifier()
    with_softened = verifier.verify(photo, softened.sift.head(200), (512, 512)).inliers
    with_sharp = verifier.verify(photo, sharp.sift.head(200), (512, 512)).inliers
    assert with_softened >= max(2 * with_sharp, 20)
    with pytest.raises(ValueError, match="reference_blur"):
        dataclasses.replace(config, reference_blur=-1.0)


def test_a_bundle_refuses_a_learned_model_other_than_its_own(dataset, tmp_path, monkeypatch):
    """Vectors of the shipped descriptor searched with another model's queries would
    give meaningless similarities without any error: the bundle records the model's
    checksum and refuses to open under another. The logo path is the default preset's
    own (the learned descriptor, verified), so its round trip is exercised too."""
    from features.extract import Extractor

    configs = {"logo": preset("default")["logo"], "album": TINY["album"]}
    RetrievalIndex.build(dataset.references, dataset.root, "learned", configs=configs, progress=False).save(
        tmp_path / "index")
    opened = RetrievalIndex.open(tmp_path / "index")
    logos = [ref for ref in dataset.references if ref.kind == "logo"][:3]
    assert opened.paths["logo"].scores_parts and not opened.paths["album"].scores_parts
    for ref in logos:
        photo = read_image(dataset.reference_path(ref))
        result = opened.query(photo, "logo", 5)
        assert result.candidates[0].band_id == ref.band_id
        # The fused path also scores each candidate on its learned part alone, and a
        # reference queried with itself is the nearest there too.
        parts = [candidate.part_similarity for candidate in result.candidates]
        assert parts[0] > 0.5 and parts[0] == max(parts)
        assert len(result.features) == len(opened.paths["logo"].rank_feature_names)
    recorded = opened.generation.manifest["paths"]["logo"]["learned_sha256"]
    assert recorded == opened.paths["logo"].extractor.learned_sha256() and len(recorded) == 64
    assert opened.generation.manifest["paths"]["album"]["learned_sha256"] is None
    monkeypatch.setattr(Extractor, "learned_sha256", lambda self: "0" * 64 if self.learned else None)
    with pytest.raises(BundleError, match="built with model .* rebuild the index"):
        RetrievalIndex.open(tmp_path / "index")


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

    monkeypatch.setattr("matching.index.read_image", no_reading)
    with pytest.raises(ValueError, match="no album path"):
        RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs={"logo": TINY["logo"]},
                             progress=False)


def _text_logo(text: str) -> np.ndarray:
    logo = np.full((160, 520, 3), 255, np.uint8)
    cv2.putText(logo, text, (18, 112), cv2.FONT_HERSHEY_TRIPLEX, 2.6, (0, 0, 0), 7, cv2.LINE_AA)
    return logo


def _isoluminant_print(logo: np.ndarray, seed: int = 0) -> np.ndarray:
    """The logo's ink printed in red on a woven grey shirt of the same luminance, tilted."""
    rng = np.random.default_rng(seed)
    ink = (255 - logo[..., :1]).astype(np.float32) / 255
    yy, xx = np.mgrid[0:logo.shape[0], 0:logo.shape[1]]
    weave = 40 * (np.sin(xx * 1.3) * np.sin(yy * 1.3) > 0) + rng.normal(0, 12, logo.shape[:2])
    shirt = np.repeat(np.clip(75 + weave, 0, 255)[..., None], 3, axis=2)
    printed = shirt * (1 - ink) + np.array([200, 30, 30], np.float32) * ink
    tilt = np.array([[0.7, 0.1, 20], [-0.05, 0.75, 15], [1e-4, 2e-4, 1]])
    photo = cv2.warpPerspective(printed.astype(np.uint8), tilt, (420, 170),
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(95, 95, 95))
    return cv2.GaussianBlur(photo, (0, 0), 0.8)


def test_a_print_in_another_colour_verifies_on_the_ink_map(tmp_path):
    """`ink`: red letters on a grey shirt of the same luminance leave nothing for SIFT on
    grayscale, but their ink map is the reference's; an unrelated logo still gets nothing."""
    names = ["Morbid Fog", "Vile Throne", "Ashen Crypt"]
    references = []
    for number, name in enumerate(names, start=1):
        cv2.imwrite(str(tmp_path / f"{number}.png"), _text_logo(name)[..., ::-1])
        references.append(Reference(number, number, None, "logo", f"{number}.png"))
    photo = _isoluminant_print(_text_logo(names[0]))
    with_ink = dataclasses.replace(TINY["logo"], shortlist=3, verify=3, min_inliers=8,
                                   encoder={"parts": ["sift_vlad"], "sift_clusters": 4, "projection": None})
    gray_only = dataclasses.replace(with_ink, extractor=dataclasses.replace(with_ink.extractor, ink=False))

    inliers = {}
    for name, config in (("gray", gray_only), ("ink", with_ink)):
        index = RetrievalIndex.build(references, tmp_path, "ink", configs={"logo": config}, progress=False)
        index.save(tmp_path / name)
        reopened = RetrievalIndex.open(tmp_path / name)
        inliers[name] = {c.band_id: c.inliers for c in reopened.query(photo, "logo", 3).candidates}
    assert max(inliers["gray"].values()) < 8
    assert inliers["ink"][1] >= 20
    assert max(inliers["ink"][2], inliers["ink"][3]) < 8

    # Only the extraction whose keypoints are stored (the softened copy's) takes the ink map.
    from features.reference_vector import ReferenceRecipe, reference_extractions

    softened, sharp = reference_extractions(with_ink.extractor, ReferenceRecipe(blur=2.0),
                                            _text_logo(names[0]), (0, 1), True)
    assert softened.ink is not None and len(softened.ink) > 0 and sharp.ink is None


def test_rendition_averaged_references_sit_nearer_photos_of_prints_and_add_agrees_with_build(dataset):
    """A reference's vector that averages in its renditions is nearer new prints of the
    logo (renditions of another seed, as a photo of a shirt is) than its clean vector, and
    a reference added later gets the vector a full build gives it."""
    from data.renditions import render_print

    plain = dataclasses.replace(preset("default")["logo"], renditions=0, verify=0, searcher="balltree")
    averaged = dataclasses.replace(plain, renditions=8)
    logos = [ref for ref in dataset.references if ref.kind == "logo"]

    def vectors(index):
        path = index.paths["logo"]
        return dict(zip(index.refs["ref_id"][path.rows].tolist(), path.vectors, strict=True))

    plain_vectors = vectors(RetrievalIndex.build(logos, dataset.root, "plain", configs={"logo": plain},
                                                 progress=False))
    full = RetrievalIndex.build(logos, dataset.root, "averaged", configs={"logo": averaged}, progress=False)
    averaged_vectors = vectors(full)
    extractor, encoder = full.paths["logo"].extractor, full.paths["logo"].encoder
    nearer = []
    for i, ref in enumerate(logos):
        reference = read_image(dataset.reference_path(ref))
        prints = [render_print(reference, np.random.default_rng([99, i, n])) for n in range(3)]
        for photo in prints:
            query = encoder.transform([extractor(photo)])[0]
            own = ref.ref_id
            nearer.append(float(query @ averaged_vectors[own]) > float(query @ plain_vectors[own]))
    assert np.mean(nearer) > 0.7

    partial = RetrievalIndex.build(logos[:-2], dataset.root, "averaged", configs={"logo": averaged},
                                   progress=False)
    assert partial.add(logos, dataset.root, progress=False) == 2
    for ref in logos[-2:]:
        np.testing.assert_allclose(vectors(partial)[ref.ref_id], averaged_vectors[ref.ref_id], atol=1e-5)


@pytest.mark.parametrize("name, value", [("renditions", -1), ("renditions", 2.5), ("augment", True),
                                         ("shortlist", 1), ("reference_blur", -1.0)])
def test_a_path_refuses_a_count_out_of_range(name, value):
    with pytest.raises(ValueError, match=name):
        dataclasses.replace(TINY["album"], **{name: value})
