"""Text reading: PP-OCR detection and recognition (ONNX, CPU), bounded and batched.

The models are the PP-OCRv4 files shipped inside the PyPI wheel `rapidocr-onnxruntime`,
run through that package's own detector (DB post-processing) and recogniser (its line
resizing, network session and CTC decoding, called one by one so that each line's class
probabilities are kept too), so nothing is downloaded and no pre/post-processing is
rewritten. The wheel is installed without its dependencies (`make` does it; see
scripts/install-ocr): it asks for `opencv-python`, whose `cv2` would replace our contrib
build, while its code runs on any cv2. Without the wheel `ocr_available()` is False and
the pipeline simply reads no text.

Bounds, because the package's defaults took 0.6 to 20 s a photo: the detector sees the
image at most `max_side` pixels on its longest side, at most `max_boxes` text boxes
(largest first) are recognised, and the recognition of every box of every image passed
to `read_many` runs in batches of `batch` lines (one by default: see `ReaderConfig`).
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

#: The wheel that carries the models (installed with --no-deps, see the module docstring).
OCR_PACKAGE = "rapidocr_onnxruntime"
DETECTION_MODEL = "ch_PP-OCRv4_det_infer.onnx"
RECOGNITION_MODEL = "ch_PP-OCRv4_rec_infer.onnx"
#: The recogniser's input height and least width (PP-OCR's 3x48x320 line images).
_LINE_HEIGHT, _LINE_WIDTH = 48, 320
#: The letters a line's posteriors keep (`TextLine.posteriors`), after a column for the
#: blank and every other class.
LATIN = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class TextLine:
    """One line of text read: its axis-aligned box in the input image's pixels, the
    characters, the recogniser's mean character confidence and its per-frame class
    probabilities folded to Latin letters and digits (T x (1 + len(LATIN)), column 0 the
    blank and every other class, case and accents summed), which text/lexicon.py aligns
    names to."""

    box: tuple[float, float, float, float]
    text: str
    score: float
    posteriors: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ReaderConfig:
    """Bounds and thresholds of a read.

    - `max_side` / `min_side`: the detector sees the image scaled so that its longest side
      is at most `max_side` (speed) and at least `min_side` (a small crop's letters grow to
      a size the detector finds: 480 read more band names printed small than 320, and
      640 a few more again at a cost 640 did not earn, BENCHMARKS.md, Text reading).
    - `max_boxes`: text boxes recognised per image, the largest first; a band name is
      usually the biggest text on its print.
    - `min_score`: lines read with a lower mean confidence are dropped.
    - `batch`: line images per recogniser call. One: the recogniser pads each line of a
      call to the call's widest, which changes what it reads, and on one CPU thread a
      batch cost more per line than lines read alone, even of equal width (BENCHMARKS.md,
      Text reading).
    - `threads`: onnxruntime's intra-op threads. One: on a 2-core host shared with other
      work, two threads took more wall time and CPU time than one (BENCHMARKS.md, Text
      reading), and a server runs one reader per worker process anyway.
    """

    max_side: int = 640
    min_side: int = 480
    max_boxes: int = 8
    min_score: float = 0.5
    batch: int = 1
    threads: int = 1

    def scale(self, longest: float) -> float:
        """The factor the detector resizes an image by whose longest side is `longest`."""
        return min(self.max_side / longest, max(1.0, self.min_side / longest))


def models_dir() -> Path | None:
    """The folder of the shipped ONNX files, or None where the wheel is not installed."""
    spec = importlib.util.find_spec(OCR_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if (folder / DETECTION_MODEL).is_file() and (folder / RECOGNITION_MODEL).is_file() else None


def ocr_available() -> bool:
    """Whether text can be read here (the model wheel is installed)."""
    return models_dir() is not None


class TextReader:
    """The loaded detector and recogniser; `load_reader` keeps one per process."""

    def __init__(self, config: ReaderConfig | None = None):
        folder = models_dir()
        if folder is None:
            raise RuntimeError(f"the OCR models are not installed (pip install --no-deps {OCR_PACKAGE})")
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

        self.config = config or ReaderConfig()
        threads = {"intra_op_num_threads": self.config.threads, "inter_op_num_threads": 1}
        self._detector = TextDetector({
            **threads, "model_path": str(folder / DETECTION_MODEL), "limit_side_len": self.config.max_side,
            "limit_type": "max", "mean": [0.5] * 3, "std": [0.5] * 3, "thresh": 0.3, "box_thresh": 0.5,
            "max_candidates": 200, "unclip_ratio": 1.6, "use_dilation": True, "score_mode": "fast"})
        self._recognizer = TextRecognizer({
            **threads, "model_path": str(folder / RECOGNITION_MODEL),
            "rec_img_shape": [3, _LINE_HEIGHT, _LINE_WIDTH], "rec_batch_num": self.config.batch})
        self._latin = latin_folding(self._recognizer.postprocess_op.character)

    def read(self, image: np.ndarray) -> list[TextLine]:
        """The text lines of one (H, W, 3) uint8 RGB image, in reading order."""
        return self.read_many([image])[0]

    def read_many(self, images: Sequence[np.ndarray]) -> list[list[TextLine]]:
        """The text lines of each image; the line images of all of them are recognised
        together, in batches."""
        return self.recognize(images, [self.detect(image) for image in images])

    def recognize(self, images: Sequence[np.ndarray],
                  quads: Sequence[Sequence[np.ndarray]]) -> list[list[TextLine]]:
        """The text lines of each image's quadrilaterals (`detect`'s, or some of them),
        recognised together in batches; lines under `min_score` are dropped."""
        lines = [line_image(image, quad) for image, image_quads in zip(images, quads, strict=True)
                 for quad in image_quads]
        read = self._read_lines(lines)
        results, position = [], 0
        for image_quads in quads:
            found = []
            for quad in image_quads:
                text, score, posteriors = read[position]
                position += 1
                text = " ".join(text.split())
                if text and score >= self.config.min_score:
                    found.append(TextLine(quad_box(quad), text, float(score), posteriors))
            results.append(found)
        return results

    def _read_lines(self, lines: Sequence[np.ndarray]) -> list[tuple[str, float, np.ndarray]]:
        """(text, mean confidence, Latin posteriors) of each line image, `batch` lines a
        call, through the package's own resizing, network and CTC decoding."""
        recognizer, read = self._recognizer, []
        for start in range(0, len(lines), self.config.batch):
            group = lines[start:start + self.config.batch]
            ratio = max([_LINE_WIDTH / _LINE_HEIGHT, *(line.shape[1] / line.shape[0] for line in group)])
            batch = np.stack([recognizer.resize_norm_img(line, ratio) for line in group]).astype(np.float32)
            probabilities = recognizer.session(batch)[0]
            decoded = recognizer.postprocess_op(probabilities)
            read += [(text, score, frames @ self._latin) for (text, score), frames in zip(
                decoded, probabilities, strict=True)]
        return read

    def detect(self, image: np.ndarray, limit: int | None = None) -> list[np.ndarray]:
        """Text quadrilaterals (4x2, input pixels): at most `limit` (default `max_boxes`),
        the largest, in reading order."""
        height, width = image.shape[:2]
        longest = max(height, width)
        if min(height, width) < 4:
            return []
        scale = self.config.scale(longest)
        scaled = cv2.resize(image[:, :, ::-1], (max(4, round(width * scale)), max(4, round(height * scale))),
                            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        found, _ = self._detector(np.ascontiguousarray(scaled))
        if found is None or len(found) == 0:
            return []
        quads = [np.asarray(quad, dtype=np.float32) / scale for quad in found]
        return largest(quads, self.config.max_boxes if limit is None else limit)


def latin_folding(characters: Sequence[str]) -> np.ndarray:
    """The (classes, 1 + len(LATIN)) 0/1 matrix that sums the recogniser's classes into
    `LATIN` letters (either case, accents dropped) and column 0 (blank, the rest)."""
    matrix = np.zeros((len(characters), 1 + len(LATIN)), dtype=np.float32)
    for row, character in enumerate(characters):
        plain = unicodedata.normalize("NFKD", character).encode("ascii", "ignore").decode().casefold()
        matrix[row, 1 + LATIN.index(plain) if row and len(plain) == 1 and plain in LATIN else 0] = 1
    return matrix


def line_image(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quadrilateral's text straightened into an upright BGR line image (the
    recogniser's channel order); a line standing on its side is turned to lie flat."""
    top = np.linalg.norm(quad[1] - quad[0])
    side = np.linalg.norm(quad[3] - quad[0])
    width, height = max(2, round(top)), max(2, round(side))
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    warp = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    line = cv2.warpPerspective(np.ascontiguousarray(image[:, :, ::-1]), warp, (width, height),
                               flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(np.rot90(line)) if height >= 1.5 * width else line


def quad_box(quad: np.ndarray) -> tuple[float, float, float, float]:
    """The axis-aligned box around a quadrilateral, rounded to tenths of a pixel."""
    x1, y1 = quad.min(axis=0)
    x2, y2 = quad.max(axis=0)
    return tuple(round(float(v), 1) for v in (x1, y1, x2, y2))


def box_quad(box: Sequence[float]) -> np.ndarray:
    """An axis-aligned box (x1, y1, x2, y2) as a quadrilateral, corners clockwise from the
    top left: `quad_box`'s inverse, to recognise a box whole as one line."""
    x1, y1, x2, y2 = box
    return np.float32([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])


def largest(quads: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
    """The `count` largest quadrilaterals by area, in reading order."""
    return reading_order(sorted(quads, key=lambda quad: -_area(quad))[:count])


def _area(quad: np.ndarray) -> float:
    return float(cv2.contourArea(quad.astype(np.float32)))


def reading_order(quads: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Rows top to bottom, each left to right. A quadrilateral joins the row above when its
    centre lies within half that row's first height of the row's centre: the words of one
    printed line, found apart, stay together and in order however their tops differ."""
    rows: list[tuple[float, float, list[np.ndarray]]] = []
    for quad in sorted(quads, key=lambda quad: float(quad[:, 1].mean())):
        centre, height = float(quad[:, 1].mean()), float(np.ptp(quad[:, 1]))
        if rows and abs(centre - rows[-1][0]) <= rows[-1][1] / 2:
            rows[-1][2].append(quad)
        else:
            rows.append((centre, height, [quad]))
    return [quad for _, _, row in rows for quad in sorted(row, key=lambda quad: float(quad[:, 0].min()))]


@lru_cache(maxsize=4)
def load_reader(config: ReaderConfig | None = None) -> TextReader:
    """The process's reader for `config` (the models load once; a server worker reuses them)."""
    return TextReader(config)
