"""Dense photos (a patch jacket): many boxes answered in a few batched network calls,
each box answered as it would be alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from data.image_io import read_image
from detector.inference import Detection
from features.backbones import Backbone
from features.extract import Extractor, backbone, gem_pool
from features.logo_descriptor import LogoDescriptor, prepare
from features.normalize import l2_normalize
from matching.index import RetrievalIndex
from retrieval.pipeline import Pipeline, PipelineConfig, keep_detections
from retrieval.store import Store
from tests.index_support import LEARNED_LOGO_PATH
from tests.test_pipeline_support import dataset_database


class FixedBoxes:
    """A detector that answers the boxes it was given."""

    def __init__(self, detections: list[Detection]):
        self.detections = detections

    def detect(self, image: np.ndarray) -> list[Detection]:
        return list(self.detections)


@pytest.fixture(scope="module")
def logo_index(dataset):
    logos = [ref for ref in dataset.references if ref.kind == "logo"]
    return RetrievalIndex.build(logos, dataset.root, "learned", configs={"logo": LEARNED_LOGO_PATH},
                                progress=False)


def _grid_photo(dataset, count: int) -> tuple[np.ndarray, list[Detection], list[int]]:
    """The dataset's logos tiled `count` times in a grid (sizes and shapes vary), with the
    boxes and bands of the tiles."""
    logos = [ref for ref in dataset.references if ref.kind == "logo"]
    columns, cell = 8, 160
    rows = -(-count // columns)
    photo = np.full((rows * cell, columns * cell, 3), 255, np.uint8)
    boxes, bands = [], []
    for i in range(count):
        ref = logos[i % len(logos)]
        image = read_image(dataset.reference_path(ref))
        side = 150 - 11 * (i % 7)
        scale = side / max(image.shape[:2])
        height, width = max(8, int(image.shape[0] * scale)), max(8, int(image.shape[1] * scale))
        tile = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        top, left = (i // columns) * cell + 5, (i % columns) * cell + 5
        photo[top:top + height, left:left + width] = tile
        box = (float(left), float(top), float(left + width), float(top + height))
        boxes.append(Detection(box, "logo", 0.9))
        bands.append(ref.band_id)
    return photo, boxes, bands


def test_extracting_together_gives_each_image_its_own_features(dataset):
    extractor = Extractor(learned="shipped", gem_sizes=(224,), polarity=True, sift="rootsift",
                          sift_keypoints=200, both_polarities=True)
    images = [read_image(dataset.reference_path(ref))[:, : 60 + 40 * i] for i, ref in
              enumerate(dataset.references[:5])]
    together = extractor.extract_many(images, query=True)
    for image, batched in zip(images, together, strict=True):
        alone = extractor(image, query=True)
        np.testing.assert_allclose(batched.gem, alone.gem, atol=1e-5)
        np.testing.assert_allclose(batched.learned, alone.learned, atol=1e-5)
        np.testing.assert_array_equal(batched.sift.descriptors, alone.sift.descriptors)
        assert batched.inverted.learned is batched.learned


def test_a_shared_gem_is_the_imagenet_gem_of_the_descriptor_input_without_a_second_pass(dataset,
                                                                                       monkeypatch):
    images = [read_image(dataset.reference_path(ref)) for ref in dataset.references[:4]]
    inputs = [np.repeat(prepare(image)[..., None], 3, axis=2) for image in images]
    expected = [l2_normalize(gem_pool(cells.reshape(-1, cells.shape[-1]), 3.0))
                for cells in backbone().feature_maps(inputs)]
    shared = Extractor(learned="shipped", gem_shared=True)
    plain = Extractor(learned="shipped")
    monkeypatch.setattr(Backbone, "_run", lambda self, padded: pytest.fail("a second network pass"))
    for extraction, alone, gem in zip(shared.extract_many(images), plain.extract_many(images), expected,
                                      strict=True):
        np.testing.assert_allclose(extraction.gem, gem, atol=1e-5)
        np.testing.assert_array_equal(extraction.learned, alone.learned)


def test_a_64_box_photo_is_answered_in_a_few_batched_network_calls(dataset, small_dataset, logo_index,
                                                                     monkeypatch):
    photo, boxes, bands = _grid_photo(dataset, 64)
    alone = [logo_index.query(photo[int(b.box[1]):int(b.box[3]), int(b.box[0]):int(b.box[2])], "logo", 5)
             for b in boxes[:6]]
    trunk_calls, descriptor_calls = [], []
    run, embed = Backbone._run, LogoDescriptor.embed_with_imagenet_conv5
    monkeypatch.setattr(Backbone, "_run",
                        lambda self, padded: trunk_calls.append(len(padded)) or run(self, padded))
    monkeypatch.setattr(LogoDescriptor, "embed_with_imagenet_conv5", lambda self, images, **kw:
                        descriptor_calls.append(len(images)) or embed(self, images, **kw))
    with Store.open(dataset_database(small_dataset)) as store:
        pipeline = Pipeline(FixedBoxes(boxes), logo_index, store, PipelineConfig(margin=0.0))
        result = pipeline.identify(photo)
    assert len(result["detections"]) == 64
    assert descriptor_calls == [64]
    # One GeM trunk call per padded crop shape (a handful), never one per crop.
    assert sum(trunk_calls) == 64 and len(trunk_calls) <= 8
    named = [d["matches"][0]["band_id"] for d in result["detections"]]
    assert np.mean(np.array(named) == np.array(bands)) >= 0.9
    for answer, single in zip(result["detections"][:6], alone, strict=True):
        assert [m["band_id"] for m in answer["matches"]] == [c.band_id for c in single.candidates]


def test_a_crowded_photo_keeps_64_boxes_by_default():
    """A patch jacket's boxes are all kept (up to 64), not the first ten."""
    detections = [Detection((100.0 * i, 0.0, 100.0 * i + 90, 90.0), "logo", 0.99 - i / 1000)
                  for i in range(70)]
    kept = keep_detections(detections, PipelineConfig())
    assert len(kept) == 64 and kept == detections[:64]
