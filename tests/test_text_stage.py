"""The text witness's reading of a photo (retrieval/text_stage.py) with the real OCR model
over a small band database: text inside a box belongs to it, text outside every box is
read apart, names are looked up among the store's bands; and the stage is optional."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from retrieval.store import Store
from retrieval.text_fusion import fuse_text
from retrieval.text_stage import RegionText, TextConfig, TextReading, TextStage
from tests.test_text_ocr import FONT, printed
from text.lookup import NameHit
from text.ocr import TextLine, box_quad, ocr_available
from text.witness import NameEvidence, Span

BANDS = [{"band_id": 125, "name": "Metallica"}, {"band_id": 7, "name": "Iron Maiden"},
         {"band_id": 186, "name": "Cannibal Corpse"}, {"band_id": 1, "name": "Death"}]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    opened = Store.open(f"sqlite:///{tmp_path_factory.mktemp('text') / 'kyb.sqlite'}", create=True)
    opened.upsert("bands", BANDS)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def stage(store):
    if not ocr_available():
        pytest.skip("the OCR model wheel is not installed")  # tests/test_text_ocr.py fails under CI
    return TextStage.load(store)


def poster() -> np.ndarray:
    """A 'logo' print on the left half, a line of other text on the right half."""
    image = Image.new("RGB", (900, 300), (230, 230, 230))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 44)
    draw.text((30, 120), "METALL1CA", font=font, fill=(10, 10, 10))
    draw.text((500, 120), "IRON MAIDEN", font=font, fill=(10, 10, 10))
    return np.asarray(image)


def test_the_store_lists_every_band_name(store):
    assert sorted(store.band_names()) == sorted((band["band_id"], band["name"]) for band in BANDS)


def test_text_in_a_box_belongs_to_it_and_the_rest_is_read_apart(stage):
    reading = stage.read(poster(), [(0, 0, 450, 300)])
    inside, = reading.boxes
    assert [line.text for line in inside.lines] == ["METALL1CA"]
    assert inside.names[0].hit.band_ids == (125,) and inside.names[0].hit.similarity == 1.0
    assert reading.outside.names[0].hit.band_ids == (7,)
    assert {125, 7} <= reading.band_ids() and reading.ms > 0


def test_a_small_box_on_a_large_photo_is_read_from_its_own_crop(stage):
    photo = np.full((2400, 3200, 3), 120, np.uint8)
    patch = printed(["METALLICA"], size=20)
    photo[1000:1000 + patch.shape[0], 1500:1500 + patch.shape[1]] = patch
    box = (1490, 990, 1510 + patch.shape[1], 1010 + patch.shape[0])
    inside, = stage.read(photo, [box]).boxes
    assert inside.names[0].hit.band_ids == (125,)
    x1, y1, x2, y2 = inside.lines[0].box
    assert box[0] <= x1 < x2 <= box[2] and box[1] <= y1 < y2 <= box[3]


def test_the_stage_is_off_without_bands(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'empty.sqlite'}", create=True) as empty:
        assert TextStage.load(empty) is None


def test_the_stage_is_off_without_the_ocr_model(store, monkeypatch):
    monkeypatch.setattr("retrieval.text_stage.ocr_available", lambda: False)
    assert TextStage.load(store) is None


def test_a_box_its_logo_fills_edge_to_edge_is_read_with_a_margin(stage):
    photo = np.full((2400, 3200, 3), 120, np.uint8)
    patch = printed(["METALLICA"], size=20)
    photo[1000:1000 + patch.shape[0], 1500:1500 + patch.shape[1]] = patch
    ys, xs = np.nonzero(patch.mean(axis=2) < 128)  # the ink alone, as a tight detector box
    box = (1500 + xs.min(), 1000 + ys.min(), 1501 + xs.max(), 1001 + ys.max())
    inside, = stage.read(photo, [box]).boxes
    assert inside.names and inside.names[0].hit.band_ids == (125,)


class CropBlindReader:
    """Finds one text quadrilateral, `whole`'s, on the first image (the photo) and none on
    any crop; records what it was asked to recognise."""

    def __init__(self, whole):
        self.whole = whole
        self.detected = 0

    def detect(self, image, limit=None):
        self.detected += 1
        return [box_quad(self.whole.box)] if self.detected == 1 else []

    def recognize(self, images, quads):
        self.asked = [len(image_quads) for image_quads in quads]
        return [[self.whole] if image_quads else [] for image_quads in quads]


def test_where_the_crop_reads_nothing_the_whole_photo_read_stands(stage):
    from text.ocr import TextLine

    line = TextLine((1500.0, 1000.0, 1600.0, 1020.0), "IRON MAIDEN", 0.95)
    reader = CropBlindReader(line)
    blind = TextStage(reader, stage.names, stage.config)
    photo = np.zeros((2400, 3200, 3), np.uint8)
    box = (1490, 990, 1610, 1030)
    assert blind._boxes_to_recrop(photo.shape, [box], [])  # small on a large photo: read again
    inside, = blind.read(photo, [box]).boxes
    assert inside.lines == (line,) and inside.names[0].hit.band_ids == (7,)
    assert reader.asked == [1, 0]


class SpyReader:
    """A real reader that records the quadrilaterals it detects and is asked to recognise."""

    def __init__(self, reader):
        self.reader, self.detected, self.asked = reader, [], []

    def detect(self, image, limit=None):
        self.detected.append(self.reader.detect(image, limit))
        return self.detected[-1]

    def recognize(self, images, quads):
        self.asked = [len(image_quads) for image_quads in quads]
        return self.reader.recognize(images, quads)


def test_text_a_box_reads_from_its_own_crop_is_recognised_once(stage):
    photo = np.full((1200, 1600, 3), 120, np.uint8)
    patch = printed(["METALLICA"], size=40)
    photo[500:500 + patch.shape[0], 700:700 + patch.shape[1]] = patch
    box = (690, 490, 710 + patch.shape[1], 510 + patch.shape[0])
    spy = SpyReader(stage.reader)
    inside, = TextStage(spy, stage.names, stage.config).read(photo, [box]).boxes
    whole_found, crop_found = (len(quads) for quads in spy.detected)
    assert whole_found >= 1 and crop_found >= 1  # both reads see the name...
    assert spy.asked == [0, crop_found]          # ...but only the crop's is recognised
    assert inside.names[0].hit.band_ids == (125,)
    x1, y1, x2, y2 = inside.lines[0].box
    assert box[0] <= x1 < x2 <= box[2] and box[1] <= y1 < y2 <= box[3]


def test_text_begun_before_the_boxes_reads_as_text_read_at_once(stage):
    photo, boxes = poster(), [(0, 0, 450, 300)]
    begun = stage.begin(photo)
    at_once, in_two_steps = stage.read(photo, boxes), stage.start(photo, boxes, begun).result()
    assert begun.done() and len(begun.result()) == 2  # both lines found on the whole photo
    assert (at_once.boxes, at_once.outside) == (in_two_steps.boxes, in_two_steps.outside)
    assert in_two_steps.boxes[0].names[0].hit.band_ids == (125,)


def test_a_small_patch_among_larger_text_has_its_own_line_read(stage):
    """A jacket's largest lines are seldom its patches' names: nine large lines of other
    text fill the reader's eight, and the small patch in a box is still read."""
    words = ["HELLO", "WORLD", "SUMMER", "WINTER", "GARDEN", "PLANET", "RIVER", "FOREST", "CASTLE"]
    photo = printed(words, size=30)
    patch = printed(["METALLICA"], size=14)
    canvas = np.full((photo.shape[0] + 120, max(photo.shape[1], 400), 3), 235, np.uint8)
    canvas[:photo.shape[0], :photo.shape[1]] = photo
    top = photo.shape[0] + 40
    canvas[top:top + patch.shape[0], 20:20 + patch.shape[1]] = patch
    box = (15, top - 5, 25 + patch.shape[1], top + patch.shape[0] + 5)
    assert len(stage.reader.detect(canvas, 48)) > stage.config.reader.max_boxes
    whole_photo_only = TextStage(stage.reader, stage.names, replace(stage.config, crop_reads=0))
    inside, = whole_photo_only.read(canvas, [box]).boxes
    assert inside.names and inside.names[0].hit.band_ids == (125,)


def test_a_small_box_is_read_again_where_its_own_read_sees_it_larger_even_on_a_small_photo(stage):
    """A crop is read at least `min_side` pixels long: a 100 px logo on a 500 px photo
    (which the whole-photo read sees at full size) is seen 3 times larger read alone; a
    box filling the photo is not read twice."""
    small_photo = (400, 500, 3)
    assert list(stage._boxes_to_recrop(small_photo, [(200, 180, 300, 220)], [])) == [0]
    assert not stage._boxes_to_recrop(small_photo, [(0, 0, 500, 400)], [])


def test_boxes_the_whole_photo_read_found_no_text_in_are_read_again_first(stage):
    one_read = TextStage(stage.reader, stage.names, replace(stage.config, crop_reads=1))
    photo = np.zeros((2400, 3200, 3), np.uint8)
    large, small = (100, 100, 500, 500), (1000, 1000, 1200, 1100)
    line_in_large = np.float32([[200, 200], [400, 200], [400, 240], [200, 240]])
    assert list(one_read._boxes_to_recrop(photo.shape, [large, small], [])) == [0]
    assert list(one_read._boxes_to_recrop(photo.shape, [large, small], [line_in_large])) == [1]


class TextBlindReader(SpyReader):
    """A real recogniser behind a text detector that finds nothing anywhere."""

    def detect(self, image, limit=None):
        self.detected.append([])
        return []


def test_a_wide_box_in_which_no_text_was_found_is_read_whole_as_one_line(stage):
    photo = np.full((600, 800, 3), 235, np.uint8)
    patch = printed(["METALLICA"], size=40)
    photo[100:100 + patch.shape[0], 50:50 + patch.shape[1]] = patch
    banner = (50, 100, 50 + patch.shape[1], 100 + patch.shape[0])
    square = (500, 300, 700, 500)
    blind = TextBlindReader(stage.reader)
    wide, square_box = TextStage(blind, stage.names, stage.config).read(photo, [banner, square]).boxes
    assert blind.asked[0] == 1  # the banner alone, not the square box
    assert wide.names[0].hit.band_ids == (125,) and not square_box.lines


def test_album_titles_are_read_only_where_a_shared_name_is(stage, store):
    store.upsert("albums", [{"album_id": 20, "band_id": 125, "title": "Ride the Lightning"}])
    cover = printed(["METALLICA", "RIDE THE LIGHTNING"])
    read = stage.read(cover, [(0, 0, cover.shape[1], cover.shape[0])])
    assert stage.with_titles(read, store) is read


def test_a_shared_name_read_outside_every_box_looks_up_no_album_titles():
    """Text outside every box names a band by the strict rule alone, so its shared names ask
    the database nothing; inside a box they do."""

    class AlbumsAsked:
        def __init__(self):
            self.asked = []

        def album_titles(self, band_ids):
            self.asked.append(sorted(band_ids))
            return [(2, "Scream Bloody Gore")]

    line = TextLine((0, 0, 100, 30), "DEATH", 0.95)
    death = RegionText((line,), (NameEvidence(NameHit((1, 2, 3), "Death", 1.0, False),
                                              Span("DEATH", line.box, 0.95)),))
    stage = TextStage(None, None, TextConfig())
    store = AlbumsAsked()
    outside_only = TextReading((), death, 1.0)
    assert stage.with_titles(outside_only, store) is outside_only and store.asked == []
    titled = stage.with_titles(TextReading((death,), RegionText((), ()), 1.0), store)
    assert store.asked == [[1, 2, 3]] and titled.boxes[0].lines == (line,)


def test_an_album_title_printed_under_a_shared_name_names_the_band_that_released_it(tmp_path):
    if not ocr_available():
        pytest.skip("the OCR model wheel is not installed")
    store = Store.open(f"sqlite:///{tmp_path / 'kyb.sqlite'}", create=True)
    store.upsert("bands", [{"band_id": band_id, "name": "Death"} for band_id in (1, 2, 3)])
    store.upsert("albums", [{"album_id": 10, "band_id": 2, "title": "Scream Bloody Gore"},
                            {"album_id": 11, "band_id": 3, "title": "Leprosy"}])
    assert store.album_titles([3, 4]) == [(3, "Leprosy")]
    cover = printed(["DEATH", "SCREAM BLOODY GORE"])
    box = (0, 0, cover.shape[1], cover.shape[0])
    stage = TextStage.load(store)
    read = stage.read(cover, [box])
    assert read.boxes[0].names[0].hit.band_ids == (1, 2, 3) and not read.boxes[0].titles
    reading = stage.with_titles(read, store)
    region, = reading.boxes
    assert region.titles[0].hit.band_ids == (2,) and region.titles[0].hit.similarity == 1.0
    detection = {"box": list(box), "kind": "album", "score": 0.9, "verdict": "unknown", "confidence": 0.2,
                 "matches": []}
    result = fuse_text({"image": {}, "detections": [detection], "bands": [], "timings_ms": {}}, reading,
                       {band_id: {"name": "Death"} for band_id in (1, 2, 3)}, TextConfig())
    named = result["detections"][0]["matches"][0]
    assert (named["band_id"], named["album"]) == (2, "Scream Bloody Gore")
    store.close()
