"""The text witness's reading of a photo: which band names the text in each detected box,
and the text outside every box, reads as.

The whole photo is read once, bounded (text/ocr.py); a line belongs to every box that
holds its centre. Of the text the whole photo shows, the largest lines are recognised, as
for a photo with no box, and besides them the largest few in each box, so that the small
patches of a dense photo are read too (the largest lines of a jacket are seldom its
patches' names). A box that a read of its own crop (with a margin, brought to at least
the reader's `min_side`) would see at least a third larger than the whole-photo read does
(a small patch on a large photo, a small logo on any photo) is read again from that crop,
for at most `crop_reads` boxes (first those in which the whole-photo read found no text,
each group largest first), so a patch jacket costs a bounded number of reads. Where that
read's detector finds text in the box, the whole-photo read's lines there are not
recognised at all (the crop's replace them); where it finds none, they stand. A wide box in
which no read found any text (a logo that is one line of letters, which PP-OCR's detector
may not see as text: outlined, textured or filling the box) is recognised whole, as one
line. All reads of a photo share one recognition step (`TextReader.recognize`). The stage
reads on a thread of its own (`begin`, `start`), so that a photo's text is read while its
objects are detected and matched. `TextStage.load` returns None where the OCR model is not
installed or the database holds no band: the stage is optional.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from retrieval.normalize import name_key
from retrieval.store import Store
from text.lookup import NameIndex
from text.ocr import (
    ReaderConfig,
    TextLine,
    TextReader,
    box_quad,
    largest,
    load_reader,
    ocr_available,
    quad_box,
)
from text.witness import NameEvidence, named_bands

#: Margin read around a box read from its own crop, as a share of the box's width and
#: height: PP-OCR's text detector often finds nothing in a crop that a logo fills edge to
#: edge.
CROP_MARGIN = 0.2


@dataclass(frozen=True)
class TextConfig:
    """Thresholds of the text witness (similarities of text/lookup.py, in [0, 1]).

    - `corroborate`: text naming one of a box's visual candidates at this similarity is a
      second witness for it (enough to accept a candidate the rejector left `unknown`).
    - `alone`: text names a band by itself, with no visual agreement (a band without a
      reference image), only at this similarity, `margin` above the next name, for a name
      that is not short or common and belongs to one band only.
    - `crop_reads`: boxes read again from their own crop (module docstring).
    - `lines_per_box`: lines of the whole-photo read recognised in each box besides the
      reader's `max_boxes` largest of the photo; `detected_lines`: the most lines the
      whole-photo read keeps to choose them from.
    - `banner_aspect`, `banner_reads`: a box at least this many times wider than high in
      which no read found text is recognised whole, as one line, for at most this many
      boxes a photo (module docstring).
    """

    corroborate: float = 0.6
    alone: float = 0.9
    margin: float = 0.05
    crop_reads: int = 4
    lines_per_box: int = 2
    detected_lines: int = 48
    banner_aspect: float = 2.0
    banner_reads: int = 8
    reader: ReaderConfig = field(default_factory=ReaderConfig)


@dataclass(frozen=True)
class RegionText:
    """The lines read in one region, the band names they may be and, once
    `TextStage.with_titles` has looked, the album titles they may be, each best first."""

    lines: tuple[TextLine, ...]
    names: tuple[NameEvidence, ...]
    titles: tuple[NameEvidence, ...] = ()

    def shared_names(self, similarity: float) -> list[NameEvidence]:
        """The names read at `similarity` or more that several bands carry."""
        return [evidence for evidence in self.names
                if len(evidence.hit.band_ids) > 1 and evidence.hit.similarity >= similarity]


@dataclass(frozen=True)
class TextReading:
    """A photo's text: one `RegionText` per box, in order, one for the text outside every
    box, and the milliseconds reading and lookup took."""

    boxes: tuple[RegionText, ...]
    outside: RegionText
    ms: float

    def as_one_box(self) -> TextReading:
        """This reading, made with no box, as the reading of one box over the whole photo
        (`retrieval.pipeline.whole_photo_detections`' answer)."""
        return TextReading((self.outside,), RegionText((), ()), self.ms)

    def band_ids(self) -> set[int]:
        """Every band any region's text may name: read from the database in one batch."""
        return {band_id for region in (*self.boxes, self.outside) for evidence in region.names
                for band_id in evidence.hit.band_ids}


class TextStage:
    """The loaded OCR reader and the name index of every band in the database."""

    def __init__(self, reader: TextReader, names: NameIndex, config: TextConfig | None = None):
        self.reader = reader
        self.names = names
        self.config = config or TextConfig()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kyb-text")

    @classmethod
    def load(cls, store: Store, config: TextConfig | None = None) -> TextStage | None:
        """The stage for `store`'s bands, or None without the OCR model or without bands."""
        if not ocr_available():
            return None
        config = config or TextConfig()
        names = NameIndex(store.band_names(), normalize=name_key)
        return cls(load_reader(config.reader), names, config) if len(names) else None

    def read(self, image: np.ndarray, boxes: Sequence[Sequence[float]],
             whole_quads: Sequence[np.ndarray] | None = None) -> TextReading:
        """The text of `image` as a whole and of the `boxes` (pixel x1, y1, x2, y2);
        `whole_quads`: the text the reader's detector found on the whole image, where it
        already ran (`begin`)."""
        started = time.perf_counter()
        if whole_quads is None:
            whole_quads = self.reader.detect(image, self.config.detected_lines)
        recrop = self._boxes_to_recrop(image.shape, boxes, whole_quads)
        crops = [image[y1:y2, x1:x2] for x1, y1, x2, y2 in recrop.values()]
        crop_quads = [self.reader.detect(crop) for crop in crops]
        own_quads = {i: [quad for quad in quads
                         if centre_in(boxes[i], _shifted_box(quad_box(quad), *recrop[i][:2]))]
                     for i, quads in zip(recrop, crop_quads, strict=True)}
        superseded = [i for i in own_quads if own_quads[i]]
        whole_quads = self._lines_to_recognise(
            [quad for quad in whole_quads if not _only_in(quad_box(quad), boxes, superseded)], boxes)
        whole_quads += [box_quad(boxes[i]) for i in self._banners(boxes, whole_quads, superseded)]
        whole, *cropped = self.reader.recognize([image, *crops], [whole_quads, *own_quads.values()])
        regions = [[line for line in whole if centre_in(box, line.box)] for box in boxes]
        outside = [line for line in whole if not any(centre_in(box, line.box) for box in boxes)]
        for i, lines in zip(recrop, cropped, strict=True):
            if own_quads[i]:  # else the whole-photo read of the box stands
                regions[i] = [replace(line, box=_shifted_box(line.box, *recrop[i][:2])) for line in lines]
        texts = tuple(self._region(lines) for lines in regions)
        return TextReading(texts, self._region(outside), round((time.perf_counter() - started) * 1000, 2))

    def begin(self, image: np.ndarray) -> Future[list[np.ndarray]]:
        """The whole image's text detected on the stage's thread, starting now: while the
        caller detects the objects whose boxes `start` then takes."""
        return self._worker.submit(self.reader.detect, image, self.config.detected_lines)

    def start(self, image: np.ndarray, boxes: Sequence[Sequence[float]],
              begun: Future[list[np.ndarray]] | None = None) -> Future[TextReading]:
        """`read` on the stage's own thread, so that the caller matches the crops meanwhile
        (`begun`: `begin`'s future for this image). Why: the OCR runtime, TensorFlow and
        OpenCV release the GIL, and much of the matching runs on one core (verification),
        so on two cores the two overlap."""
        return self._worker.submit(lambda: self.read(image, boxes, begun.result() if begun else None))

    def with_titles(self, reading: TextReading, store: Store) -> TextReading:
        """`reading` with the album titles its boxes may read: those of the bands of every
        shared name read in a box at `alone` similarity, between which a title may decide
        (retrieval/shared_names.py). Why boxes only: text outside every box names a band
        by the strict rule alone, where no title decides. Why not every title in the
        database: a few bands' discographies are read in one query, where a million titles
        would double the lookups' cost, and most photos show no shared name."""
        shared = {band_id for region in reading.boxes
                  for evidence in region.shared_names(self.config.alone) for band_id in evidence.hit.band_ids}
        titles = store.album_titles(shared) if shared else []
        if not titles:
            return reading
        index = NameIndex(titles, normalize=name_key)

        def titled(region: RegionText) -> RegionText:
            return replace(region, titles=tuple(named_bands(index, region.lines))) if region.lines else region

        return replace(reading, boxes=tuple(titled(region) for region in reading.boxes))

    def _region(self, lines: Sequence[TextLine]) -> RegionText:
        names = named_bands(self.names, lines, reread_below=self.config.alone) if lines else []
        return RegionText(tuple(lines), tuple(names))

    def _lines_to_recognise(self, quads: Sequence[np.ndarray],
                            boxes: Sequence[Sequence[float]]) -> list[np.ndarray]:
        """Of the whole photo's text quadrilaterals (in reading order), the reader's
        `max_boxes` largest and the `lines_per_box` largest in each box, in reading order."""
        chosen = {id(quad) for quad in largest(quads, self.config.reader.max_boxes)}
        for box in boxes:
            inside = [quad for quad in quads if centre_in(box, quad_box(quad))]
            chosen.update(id(quad) for quad in largest(inside, self.config.lines_per_box))
        return [quad for quad in quads if id(quad) in chosen]

    def _banners(self, boxes: Sequence[Sequence[float]], quads: Sequence[np.ndarray],
                 superseded: Sequence[int]) -> list[int]:
        """Positions of the wide boxes (`banner_aspect`) in which no read found a line, at
        most `banner_reads`, the largest first."""
        has_text = _holding_text(boxes, quads)
        wide = [i for i, box in enumerate(boxes) if i not in superseded and not has_text[i]
                and box[2] - box[0] >= self.config.banner_aspect * (box[3] - box[1])]
        return sorted(wide, key=lambda i: -_area(boxes[i]))[:self.config.banner_reads]

    def _boxes_to_recrop(self, shape: Sequence[int], boxes: Sequence[Sequence[float]],
                         whole_quads: Sequence[np.ndarray]) -> dict:
        """Box position -> whole-pixel crop (the box and CROP_MARGIN around it), for the
        boxes the whole-photo read sees at under three quarters of the scale a read of
        their own crop would (`ReaderConfig.scale`): first those in which the whole-photo
        read (`whole_quads`) found no text, then the others, each group largest first."""
        height, width = shape[:2]
        reader = self.config.reader
        scale = reader.scale(max(height, width))
        has_text = _holding_text(boxes, whole_quads)
        chosen = {}
        for i in sorted(range(len(boxes)), key=lambda i: (has_text[i], -_area(boxes[i]))):
            x1, y1, x2, y2 = boxes[i]
            longest = max(x2 - x1, y2 - y1)
            own_scale = reader.scale(longest * (1 + 2 * CROP_MARGIN))
            if len(chosen) < self.config.crop_reads and min(x2 - x1, y2 - y1) >= 8 \
                    and scale < 0.75 * own_scale:
                dx, dy = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
                chosen[i] = (max(0, int(x1 - dx)), max(0, int(y1 - dy)),
                             min(width, int(np.ceil(x2 + dx))), min(height, int(np.ceil(y2 + dy))))
        return chosen


def centre_in(box: Sequence[float], line_box: Sequence[float]) -> bool:
    """Whether the centre of a text line's box lies in `box`."""
    cx, cy = (line_box[0] + line_box[2]) / 2, (line_box[1] + line_box[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _shifted_box(box: Sequence[float], dx: float, dy: float) -> tuple[float, float, float, float]:
    """A box found on a crop whose corner is at (dx, dy), in the photo's pixels."""
    x1, y1, x2, y2 = box
    return x1 + dx, y1 + dy, x2 + dx, y2 + dy


def _only_in(line_box: Sequence[float], boxes: Sequence[Sequence[float]], chosen: Sequence[int]) -> bool:
    """Whether a line's centre lies in some of the `chosen` boxes and in no other box."""
    holding = [i for i, box in enumerate(boxes) if centre_in(box, line_box)]
    return bool(holding) and set(holding) <= set(chosen)


def _area(box: Sequence[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _holding_text(boxes: Sequence[Sequence[float]], quads: Sequence[np.ndarray]) -> list[bool]:
    """For each box, whether the centre of one of the text quadrilaterals lies in it."""
    found = [quad_box(quad) for quad in quads]
    return [any(centre_in(box, line_box) for line_box in found) for box in boxes]
