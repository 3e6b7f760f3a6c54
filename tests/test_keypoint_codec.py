"""The compact keypoint store (issue 25): pq16 codes, 8 KB a reference, verification on
decoded descriptors, `index add` in the store's own codec, and old uint8 stores still read."""

import dataclasses

import cv2
import numpy as np
import pytest

from data.image_io import read_image
from features.local import extract_sift
from matching.build import add_to_bundle
from matching.geometry import GeometricVerifier
from matching.index import RetrievalIndex
from matching.keypoint_codec import PQCodec, Uint8Codec, make_codec
from matching.presets import PRESETS, PathConfig
from tests.index_support import TINY

#: The tiny paths with the default preset's keypoint store: pq16, 400 keypoints of a
#: cover, 200 a view of a logo (two views: its SIFT and its ink map).
TINY_PQ = {kind: dataclasses.replace(config, keypoint_codec="pq16",
                                     verify_keypoints=PRESETS["default"][kind].verify_keypoints)
           for kind, config in TINY.items()}
BUDGET = 8 * 1024


def textured(seed: int, size=(360, 480)) -> np.ndarray:
    """A grey image with blobs and edges at several scales, rich in SIFT keypoints."""
    rng = np.random.default_rng(seed)
    image = np.zeros(size, np.float32)
    for sigma in (2, 5, 11):
        image += cv2.GaussianBlur(rng.normal(size=size).astype(np.float32), (0, 0), sigma) * sigma
    image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX)
    return cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_GRAY2BGR)


def test_pq16_takes_20_bytes_a_keypoint_and_keeps_positions_and_nearest_neighbours():
    features = extract_sift(textured(0), 400, None)
    codec = make_codec("pq16")
    positions, codes = codec.encode(features)
    assert positions.dtype == np.float16 and codes.dtype == np.uint8
    assert positions.nbytes + codes.nbytes == 20 * len(features)
    decoded = codec.decode(positions, codes)
    np.testing.assert_allclose(decoded.keypoints[:, :2], features.keypoints[:, :2], rtol=1e-3, atol=0.05)
    distances = ((decoded.descriptors[:, None, :] - features.descriptors[None, :, :]) ** 2).sum(-1)
    assert (distances.argmin(axis=1) == np.arange(len(features))).mean() >= 0.9
    empty = codec.decode(*codec.encode(features.head(0)))
    assert len(empty) == 0 and empty.descriptors.shape == (0, 128)


def test_a_warped_photo_verifies_against_pq16_codes_and_a_stranger_does_not():
    reference = textured(1)
    tilt = np.array([[0.8, 0.12, 30], [-0.06, 0.85, 20], [0.0002, 0.0001, 1]])
    photo = cv2.warpPerspective(reference, tilt, (480, 360), borderMode=cv2.BORDER_REFLECT)
    query = extract_sift(photo, 1000, None)
    codec, verifier, size = make_codec("pq16"), GeometricVerifier(), (480.0, 360.0)
    exact = extract_sift(reference, 400, None)
    coded = codec.decode(*codec.encode(exact))
    exact_inliers = verifier.verify(query, exact, size).inliers
    assert verifier.verify(query, coded, size).inliers >= 0.6 * exact_inliers >= 20
    stranger = codec.decode(*codec.encode(extract_sift(textured(2), 400, None)))
    assert verifier.verify(query, stranger, size).inliers < 8


def test_codecs_refuse_what_they_cannot_hold():
    with pytest.raises(ValueError, match="keypoint_codec must be one of"):
        dataclasses.replace(TINY["album"], keypoint_codec="zip")
    with pytest.raises(ValueError, match="16, 256, 8"):
        PQCodec(np.zeros((8, 256, 16), np.float32))
    features = extract_sift(textured(3), 50, None)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Uint8Codec().encode(dataclasses.replace(features, descriptors=-features.descriptors))


@pytest.fixture(scope="module")
def pq_bundle(dataset, tmp_path_factory):
    """The small dataset's first bands in a pq16 bundle, the last three left to `index add`."""
    logo_bands = sorted({ref.band_id for ref in dataset.references if ref.kind == "logo"})
    left_out = set(logo_bands[-3:])
    root = tmp_path_factory.mktemp("pq") / "index"
    first = [ref for ref in dataset.references if ref.band_id not in left_out]
    RetrievalIndex.build(first, dataset.root, "tiny-pq", configs=TINY_PQ, progress=False).save(root)
    return root, left_out


def test_a_pq16_bundle_fits_8_kb_a_reference_and_names_its_references(dataset, pq_bundle):
    root, left_out = pq_bundle
    index = RetrievalIndex.open(root)
    files = index.generation.manifest["files"]
    for prefix in ("logo/keypoints", "logo/ink/keypoints", "album/keypoints"):
        assert f"{prefix}/codebook.npy" in files
    per_reference = sum(info["bytes"] for name, info in files.items()
                        if "/keypoints/" in name and not name.endswith("codebook.npy")) / len(index.refs)
    assert per_reference <= BUDGET  # the codebooks (128 KiB a store) are paid once, not per reference
    for kind in ("logo", "album"):
        path = index.paths[kind]
        assert max(len(path.keypoints(row)["sift"]) for row in range(len(path.rows))) <= \
            TINY_PQ[kind].verify_keypoints
    for ref in [r for r in dataset.references if r.band_id not in left_out][::3]:
        best = index.query(read_image(dataset.reference_path(ref)), ref.kind, 3).candidates[0]
        assert best.band_id == ref.band_id and best.inliers >= TINY_PQ[ref.kind].min_inliers


def test_index_add_writes_the_stores_own_codec_and_keeps_its_codebook(dataset, pq_bundle, tmp_path):
    root, left_out = pq_bundle
    before = RetrievalIndex.open(root).generation.manifest["files"]
    updated, added = add_to_bundle(root, dataset.references, dataset.root, progress=False)
    assert added > 0
    after = updated.generation.manifest["files"]
    assert after["logo/keypoints/codebook.npy"]["sha256"] == before["logo/keypoints/codebook.npy"]["sha256"]
    assert updated.generation.array("logo/keypoints/shard-00001.desc.npy").shape[1] == 16
    fresh = RetrievalIndex.open(root)
    for ref in [r for r in dataset.references if r.band_id in left_out and r.kind == "logo"]:
        best = fresh.query(read_image(dataset.reference_path(ref)), "logo", 3).candidates[0]
        assert best.band_id == ref.band_id


def test_a_uint8_store_still_reads_as_it_was_written(built, tmp_path):
    """Bundles written before the codec existed have no codebook: they read as uint8."""
    built.save(tmp_path / "old")
    opened = RetrievalIndex.open(tmp_path / "old")
    assert not any(name.endswith("codebook.npy") for name in opened.generation.manifest["files"])
    assert isinstance(opened.paths["album"].stores["sift"].codec, Uint8Codec)
    stored = opened.paths["album"].keypoints(0)["sift"]
    assert stored.descriptors.shape[1] == 128 and np.abs(stored.keypoints[:, 2]).sum() > 0
    assert opened.bytes_per_reference()["verification"] > BUDGET


def test_default_preset_stores_pq16_within_the_budget():
    for config in PRESETS["default"].values():
        views = 2 if config.extractor.ink else 1
        assert config.keypoint_codec == "pq16"
        assert views * config.verify_keypoints * 20 <= BUDGET - 192
    assert PathConfig.from_dict({k: v for k, v in PRESETS["default"]["album"].to_dict().items()
                                 if k != "keypoint_codec"}).keypoint_codec == "uint8"
