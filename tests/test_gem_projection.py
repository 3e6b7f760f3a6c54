"""The GeM projection: a fused logo vector in 1 KiB, its learned part kept whole."""

import numpy as np
import pytest

from features import encode as encode_module
from features.encode import EncoderConfig, GlobalEncoder
from features.extract import Extraction
from features.gem_projection import load_projection, project, train_projection
from features.normalize import l2_normalize


def _orthonormal_basis(components, dimension, seed=0):
    matrix = np.random.default_rng(seed).standard_normal((dimension, components))
    return np.linalg.qr(matrix)[0].T.astype(np.float32)


def _basis_file(tmp_path, basis):
    path = tmp_path / "basis.npz"
    np.savez(path, components=basis)
    return str(path)


def test_the_shipped_basis_is_orthonormal_and_compacts_the_default_logo_vector():
    basis = load_projection("shipped")
    assert basis.shape == (512, 1280)
    np.testing.assert_allclose(basis @ basis.T, np.eye(512), atol=0.01)  # stored as float16
    assert 256 + len(basis) + 8 <= 1024  # learned part + projected GeM + faiss id, in SQ8 bytes


def test_projection_keeps_cosines_of_vectors_in_its_span():
    """Uncentred: a vector in the basis's span keeps its cosines with every other such
    vector (centring would shift them all)."""
    basis = _orthonormal_basis(6, 40)
    inside = l2_normalize(np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32) @ basis)
    projected = project(inside * 3.0, basis)
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(projected @ projected.T, inside @ inside.T, atol=1e-5)


def test_a_projected_encoder_keeps_its_learned_part_and_its_basis(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    extractions = [Extraction(10, 10, learned=rng.standard_normal(8).astype(np.float32),
                              gem=rng.standard_normal(40).astype(np.float32)) for _ in range(6)]
    path = _basis_file(tmp_path, _orthonormal_basis(6, 40))
    encoder = GlobalEncoder(parts=["learned", "gem"], fusion_weight=0.4, projection=None,
                            gem_projection=path).fit(extractions)
    assert encoder.dimension_ == 8 + 6 and encoder.transform(extractions).shape == (6, 14)
    assert encoder.separable
    learned = l2_normalize(np.stack([e.learned for e in extractions]))
    references = encoder.transform(extractions[1:])
    np.testing.assert_allclose(encoder.first_part_similarities(extractions[0], references),
                               learned[1:] @ learned[0], atol=1e-6)
    # the bundle keeps the basis: a later shipped file does not change old vectors
    monkeypatch.setattr(encode_module, "load_projection", lambda name: pytest.fail("basis reloaded"))
    restored = GlobalEncoder.from_state(encoder.get_params(), encoder.state())
    np.testing.assert_allclose(restored.transform(extractions), encoder.transform(extractions), atol=1e-6)
    unprojected = GlobalEncoder(parts=["learned", "gem"], fusion_weight=0.4, projection=None).fit(extractions)
    assert unprojected.dimension_ == 48


def test_a_projection_needs_a_gem_part_and_a_basis():
    with pytest.raises(ValueError, match="needs a gem part"):
        EncoderConfig(parts=("learned",), gem_projection="shipped")
    with pytest.raises(ValueError, match="no file"):
        load_projection("/nonexistent/basis.npz")


def test_training_fits_an_orthonormal_basis_on_images():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64, 80, 3), dtype=np.uint8) for _ in range(12)]
    basis = train_projection(images, components=4, batch=5)
    assert basis.shape == (4, 1280)
    np.testing.assert_allclose(basis @ basis.T, np.eye(4), atol=1e-4)
    with pytest.raises(ValueError, match="too few"):
        train_projection(images[:4], components=4)


def test_the_shipped_basis_was_fitted_on_the_default_logo_paths_gem():
    """The basis only fits vectors pooled as it was trained; the default preset must ask for those."""
    from features.gem_projection import TRAINING_EXTRACTOR
    from matching.presets import PRESETS

    logo = PRESETS["default"]["logo"]
    assert logo.encoder.gem_projection == "shipped"
    assert {name: getattr(logo.extractor, name) for name in TRAINING_EXTRACTOR} == TRAINING_EXTRACTOR
    assert logo.extractor.gem_grayscale and logo.extractor.gem_p == 3.0  # the defaults it was trained with
