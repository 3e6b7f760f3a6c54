"""Index paths: which candidates are verified, softened and rendition-averaged
references, ink-map verification, the learned model's checksum, validated path counts."""

import dataclasses

import cv2
import numpy as np
import pytest

from data.dataset import Reference
from data.image_io import read_image
from matching.bundle import BundleError
from matching.index import RetrievalIndex
from matching.presets import preset
from tests.index_support import TINY


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
    [softened] = reference_extractions(config.extractor, config.recipe, cover, (0, 1), True)
    sharp = config.extractor(cover)
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

    softened, rendition = reference_extractions(with_ink.extractor, ReferenceRecipe(renditions=1, blur=2.0),
                                                _text_logo(names[0]), (0, 1), True)
    assert softened.ink is not None and len(softened.ink) > 0 and rendition.ink is None


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
