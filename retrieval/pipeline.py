"""The end-to-end query: photo -> detector -> crops -> matching -> band database -> result JSON.

Steps 1 and 3 of ARCHITECTURE.md's five-step query are other packages' work (the
detector, the retrieval index); this module composes them and does steps 4 and 5: one
batched database read for all the bands and albums a photo's crops matched, and the
aggregation into the result JSON (`retrieval/identify_api.py` documents its shape). The
stages are plain functions over plain data, so evaluation and tests can run any one of
them alone; `Pipeline` only holds what is expensive to load (the detector's model, the
index, the database engine), once per process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from data.boxes import box_iou
from detector.inference import Detection, Detector
from matching.index import RetrievalIndex
from matching.rank import MatchResult
from retrieval.result import band_fields, photo_bands
from retrieval.store import Store
from retrieval.text_fusion import fuse_text
from retrieval.text_stage import TextStage

#: Environment variable naming the detector model file for `load_identifier` (`kyb serve`
#: has no option for it); unset, the model shipped in detector/models/ is used.
DETECTOR_MODEL_ENV = "KYB_DETECTOR_MODEL"
#: The stages reported in `timings_ms`, in order.
STAGES = ("detect", "features", "match", "verify", "lookup")


@dataclass(frozen=True)
class PipelineConfig:
    """Knobs of the composition (the detector and the index carry their own).

    - `min_score`: detections below it are dropped. The detector keeps boxes down to a
      low score for mAP, but every kept box costs a full matching query, and a weak box
      mostly adds a wrong band.
    - `max_detections`: at most this many crops per photo, best scores first, bounding the
      latency of a crowded photo; a patch jacket carries up to about forty.
    - `duplicate_iou`: a box overlapping a better box of the other kind this much is the
      same object named twice (a cover with its band's logo printed on it); the weaker
      one is dropped.
    - `margin`: each side of a box grows by this share of its size before cropping, so a
      box drawn slightly tight still leaves the matcher the whole logo or cover.
    - `top_k`: bands listed per detection.
    - `other_kind`: in an index of both kinds, a box answered `unknown` as its detected
      kind is asked again as the other kind, and that answer stands where it is
      ``match`` and either geometrically verified or at least `other_kind_probability`
      likely to be right (`ask_other_kind`). Why: on real photos the detector's
      logo-or-cover call is the weak part of its answer (it calls many brand marks
      `album`), and a gallery from a scrape holds both kinds; why the extra condition: the
      detector's call is still evidence against the other kind, and a wrong-kind crop is
      not what that kind's rejector was calibrated on (BENCHMARKS.md, End to end).
    - `whole_photo`: when the detector keeps no box, the whole photo is queried once as a
      crop of each kind the index calibrates and verifies (`whole_photo_detections`), and
      the best answer that is accepted and verified is reported over the whole photo,
      with a detector score of 0. Why: the detector is trained on synthetic photos and
      misses most real brand logos, while a close-up of one patch or cover is nearly all
      object (BENCHMARKS.md, End to end).
    - `text`: read the text on the photo as a second witness (retrieval/text_stage.py,
      retrieval/text_fusion.py) where the OCR model is installed; off, or without the
      model, results are those of the image index alone.
    """

    min_score: float = 0.5
    max_detections: int = 64
    duplicate_iou: float = 0.7
    margin: float = 0.08
    top_k: int = 5
    other_kind: bool = True
    other_kind_probability: float = 0.5
    whole_photo: bool = True
    text: bool = True


# --------------------------------------------------------------------------- stages


def keep_detections(detections: Sequence[Detection], config: PipelineConfig,
                    kinds: Collection[str] | None = None) -> list[Detection]:
    """The detections worth a query: of a kind in `kinds` (the index's; all when None),
    confident enough, not a cross-kind duplicate, capped. In an index of one kind, a box
    of the other kind is asked as that kind.

    Why the kinds first: a box of a kind the index holds no references of can only answer
    nothing, and as a cross-kind duplicate it would hide the box that can (a cover boxed
    both as a logo and as an album, in a gallery of covers). Why asked, not dropped: on
    real photos the detector's logo-or-cover call is the weak part of its answer (it calls
    many brand marks `album`), while the box itself is often right.
    """
    if kinds is not None and len(set(kinds)) == 1:
        only = next(iter(kinds))
        detections = [d if d.kind == only else replace(d, kind=only) for d in detections]
    wanted = [d for d in detections if d.score >= config.min_score and (kinds is None or d.kind in kinds)]
    ranked = sorted(wanted, key=lambda d: -d.score)
    if not ranked:
        return []
    boxes = [d.box for d in ranked]
    overlaps = box_iou(boxes, boxes)
    kept: list[int] = []
    for position in range(len(ranked)):
        if all(overlaps[position, other] < config.duplicate_iou for other in kept):
            kept.append(position)
        if len(kept) == config.max_detections:
            break
    return [ranked[position] for position in kept]


def crop_box(box: Sequence[float], width: int, height: int, margin: float) -> tuple[int, int, int, int]:
    """`box` grown by `margin` of its size on each side, in whole pixels, clipped to the image
    (never empty: at least one pixel each way)."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    left = int(np.clip(np.floor(x1 - dx), 0, width - 1))
    top = int(np.clip(np.floor(y1 - dy), 0, height - 1))
    right = int(np.clip(np.ceil(x2 + dx), left + 1, width))
    bottom = int(np.clip(np.ceil(y2 + dy), top + 1, height))
    return left, top, right, bottom


def match_crops(index: RetrievalIndex, image: np.ndarray, detections: Sequence[Detection],
                config: PipelineConfig) -> list[MatchResult | None]:
    """One answer per detection, against the references of its detected kind; None where
    the index has no references of that kind (nothing to compare with). The crops of a
    kind are queried together (`RetrievalIndex.query_many`), so a patch jacket's forty
    crops cost a few network calls, not forty."""
    height, width = image.shape[:2]
    results: list[MatchResult | None] = [None] * len(detections)
    for kind in index.kinds:
        positions = [i for i, detection in enumerate(detections) if detection.kind == kind]
        crops = []
        for position in positions:
            x1, y1, x2, y2 = crop_box(detections[position].box, width, height, config.margin)
            crops.append(image[y1:y2, x1:x2])
        for position, result in zip(positions, index.query_many(crops, kind, config.top_k), strict=True):
            results[position] = result
    return results


def ask_other_kind(index: RetrievalIndex, image: np.ndarray, detections: Sequence[Detection],
                   results: Sequence[MatchResult | None],
                   config: PipelineConfig) -> tuple[list[Detection], list[MatchResult | None]]:
    """`detections` and their `results`, where each box answered `unknown` (or nothing) is
    asked again as each other kind the index holds, and takes the first such answer that
    is ``match`` and verified or probable enough (`PipelineConfig.other_kind`), with that
    kind. The crops of a kind are queried together, as in `match_crops`; the stage timings
    of an answer include both of its queries."""
    detections, results = list(detections), list(results)
    for kind in index.kinds:
        positions = [i for i, (detection, result) in enumerate(zip(detections, results, strict=True))
                     if detection.kind != kind and (result is None or result.verdict != "match")]
        if not positions:
            continue
        asked = [replace(detections[i], kind=kind) for i in positions]
        for position, detection, answer in zip(positions, asked, match_crops(index, image, asked, config),
                                               strict=True):
            first = results[position]
            if _stands_as_other_kind(answer, config):
                detections[position], results[position] = detection, _timed_with(answer, first)
            elif first is not None:
                results[position] = _timed_with(first, answer)
    return detections, results


def _stands_as_other_kind(answer: MatchResult | None, config: PipelineConfig) -> bool:
    """Whether a box's answer as a kind the detector did not call it stands: ``match``, and
    verified or stated at least `config.other_kind_probability` likely to be right."""
    if answer is None or answer.verdict != "match" or not answer.candidates:
        return False
    probable = answer.probability is not None and answer.probability >= config.other_kind_probability
    return answer.verified or probable


def _timed_with(result: MatchResult, other: MatchResult | None) -> MatchResult:
    """`result` with the stage timings of `other` (a query made for the same box) added."""
    extra = other.timings_ms if other is not None else {}
    timings = {stage: result.timings_ms.get(stage, 0.0) + extra.get(stage, 0.0)
               for stage in {*result.timings_ms, *extra}}
    return replace(result, timings_ms=timings)


def whole_photo_detections(index: RetrievalIndex, image: np.ndarray,
                           config: PipelineConfig) -> tuple[list[Detection], list[MatchResult]]:
    """The whole photo as one crop of each kind `index` holds, calibrates and verifies:
    the best-confidence answer among those whose verdict is ``match`` and whose best
    candidate is geometrically verified (`MatchResult.verified`); none otherwise.

    Why both conditions: an uncalibrated kind answers ``match`` to anything; and the
    rejector was calibrated on crops of logos and covers, not on whole scenes, which it
    sometimes accepts without a single inlier. A reference really in the photo gives
    inliers (BENCHMARKS.md, End to end).
    """
    height, width = image.shape[:2]
    whole = [Detection((0.0, 0.0, float(width), float(height)), kind, 0.0)
             for kind in index.kinds if index.calibrated(kind) and index.verifies(kind)]
    answers = [(detection, result)
               for detection, result in zip(whole, match_crops(index, image, whole, config), strict=True)
               if result is not None and result.candidates and result.verdict == "match" and result.verified]
    if not answers:
        return [], []
    detection, result = max(answers, key=lambda answer: answer[1].confidence)
    return [detection], [result]


def matched_ids(results: Sequence[MatchResult | None]) -> tuple[set[int], set[int]]:
    """Every band id and album id on the photo's candidate lists: one database read for all."""
    bands, albums = set(), set()
    for result in results:
        for candidate in result.candidates if result is not None else ():
            bands.add(candidate.band_id)
            if candidate.album_id is not None:
                albums.add(candidate.album_id)
    return bands, albums


def lookup(store: Store, band_ids: set[int], album_ids: set[int]) -> tuple[dict[int, dict], dict[int, dict]]:
    """Band and album rows by id, each table read in one batch."""
    bands = store.get_bands(band_ids) if band_ids else {}
    albums = store.get_albums(album_ids) if album_ids else {}
    return bands, albums


def stage_timings(detect_ms: float, results: Sequence[MatchResult | None], lookup_ms: float) -> dict:
    """The five stages in milliseconds; the index reports its own features/search/verify split."""
    totals = {"detect": detect_ms, "features": 0.0, "match": 0.0, "verify": 0.0, "lookup": lookup_ms}
    for result in results:
        if result is not None:
            totals["features"] += result.timings_ms.get("features", 0.0)
            totals["match"] += result.timings_ms.get("search", 0.0)
            totals["verify"] += result.timings_ms.get("verify", 0.0)
    return {stage: round(totals[stage], 2) for stage in STAGES}


def _match_json(candidate, kind: str, bands: dict[int, dict], albums: dict[int, dict]) -> dict:
    album = albums.get(candidate.album_id) if candidate.album_id is not None else None
    return {**band_fields(candidate.band_id, bands),
            "album": album.get("title") if album else None, "ref_id": candidate.ref_id,
            "score": round(float(candidate.similarity), 4), "inliers": candidate.inliers, "evidence": [kind]}


def assemble(image_shape: Sequence[int], detections: Sequence[Detection],
             results: Sequence[MatchResult | None], bands: dict[int, dict], albums: dict[int, dict],
             timings: dict) -> dict:
    """The result JSON: every detection with its ranked bands (each with the witnesses that
    named it: the detected kind, for the image index), verdict and calibrated `confidence`
    (the probability that its top band is right; None for an uncalibrated kind), and the
    photo's band list (`photo_bands`)."""
    entries = []
    for detection, result in zip(detections, results, strict=True):
        matches = ([_match_json(c, detection.kind, bands, albums) for c in result.candidates]
                   if result is not None else [])
        verdict = result.verdict if result is not None and matches else "unknown"
        probability = result.probability if result is not None else None
        confidence = None if probability is None else round(probability, 4)
        entries.append({"box": [round(v, 1) for v in detection.box], "kind": detection.kind,
                        "score": round(detection.score, 4), "verdict": verdict, "confidence": confidence,
                        "matches": matches})
    return {"image": {"width": int(image_shape[1]), "height": int(image_shape[0])},
            "detections": entries,
            "bands": photo_bands(entries),
            "timings_ms": timings}


# --------------------------------------------------------------------------- the pipeline


class Pipeline:
    """The loaded detector, index and database, and the text witness where there is one
    (`TextStage.load`); implements `retrieval.identify_api.Identifier`."""

    def __init__(self, detector: Detector, index: RetrievalIndex, store: Store,
                 config: PipelineConfig | None = None, text: TextStage | None = None):
        self.detector = detector
        self.index = index
        self.store = store
        self.config = config or PipelineConfig()
        self.text = text if self.config.text else None

    @classmethod
    def load(cls, index_path: str | Path, model_path: str | Path | None = None,
             database_url: str | None = None, config: PipelineConfig | None = None,
             shared: bool = False) -> Pipeline:
        """Open everything once: the index bundle at `index_path`, the detector model at
        `model_path` (default: `$KYB_DETECTOR_MODEL`, else the shipped model), the database
        at `database_url` (default: `KYB_DATABASE_URL` or the embedded SQLite file), and the
        text witness over the database's band names unless `config.text` is off.
        `shared`: the bundle is mapped read-only and not re-hashed, for server workers
        that serve one bundle side by side (`kyb serve` checks it once before they start)."""
        index = RetrievalIndex.open(index_path, verify=not shared, mapped=shared)
        detector = load_detector(model_path)
        store = Store.open(database_url)
        config = config or PipelineConfig()
        return cls(detector, index, store, config, TextStage.load(store) if config.text else None)

    def identify(self, image: np.ndarray) -> dict:
        """The result JSON for one (H, W, 3) uint8 RGB photo (its text is looked for while
        its objects are detected: `TextStage.begin`)."""
        begun = self.text.begin(image) if self.text is not None else None
        detections, detect_ms = self.detect(image)
        return self.identify_detections(image, detections, detect_ms, begun)

    def detect(self, image: np.ndarray) -> tuple[list[Detection], float]:
        """Step 1 alone: the detections worth a query, and the milliseconds it took."""
        started = time.perf_counter()
        detections = keep_detections(self.detector.detect(image), self.config, self.index.kinds)
        return detections, (time.perf_counter() - started) * 1000

    def identify_detections(self, image: np.ndarray, detections: Sequence[Detection],
                            detect_ms: float, text_begun: Future | None = None) -> dict:
        """Steps 2-5 for detections already made (with none, the whole photo:
        `PipelineConfig.whole_photo`): evaluation detects a photo once and matches it
        against several indexes. The text is read on the text stage's thread while the
        crops are matched (`TextStage.start`; `text_begun`: `TextStage.begin`'s future
        for this photo, where its text was looked for while it was detected)."""
        boxes = [detection.box for detection in detections]
        pending = self.text.start(image, boxes, text_begun) if self.text is not None else None
        if detections or not self.config.whole_photo:
            results = match_crops(self.index, image, detections, self.config)
            if self.config.other_kind:
                detections, results = ask_other_kind(self.index, image, detections, results, self.config)
        else:
            detections, results = whole_photo_detections(self.index, image, self.config)
        reading = pending.result() if pending is not None else None
        if reading is not None and detections and not boxes:
            reading = reading.as_one_box()  # read with no box; the whole photo answered
        started = time.perf_counter()
        band_ids, album_ids = matched_ids(results)
        bands, albums = lookup(self.store, band_ids | (reading.band_ids() if reading else set()), album_ids)
        if reading is not None:
            reading = self.text.with_titles(reading, self.store)
        lookup_ms = (time.perf_counter() - started) * 1000
        result = assemble(image.shape, detections, results, bands, albums,
                          stage_timings(detect_ms, results, lookup_ms))
        return fuse_text(result, reading, bands, self.text.config) if reading is not None else result

    def identify_batch(self, images: Sequence[np.ndarray]) -> list[dict]:
        """Results for several photos, in order, reusing the loaded models."""
        return [self.identify(image) for image in images]

    def close(self) -> None:
        self.store.close()


def load_detector(model_path: str | Path | None = None) -> Detector:
    """The detector at `model_path`, else `$KYB_DETECTOR_MODEL`, else the shipped model."""
    return Detector.load(model_path or os.environ.get(DETECTOR_MODEL_ENV) or None)


def load_identifier(index_path: Path) -> Pipeline:
    """The identifier `kyb serve` builds once per server process (server/runtime.py): the
    bundle mapped, shared with the other workers through the page cache."""
    return Pipeline.load(index_path, shared=True)
