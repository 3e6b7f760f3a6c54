"""Detections made elsewhere, read for scoring against a VOC folder's ground truth.

Three formats, told apart by the path:

- VOC devkit results files, ``comp4_det_test_CLASS.txt`` (a folder of them or one file):
  one detection a line, ``IMAGE_ID SCORE X1 Y1 X2 Y2``, the class in the file name;
- the JSON that ``kyb identify PHOTO... --json`` prints (a list of ``{"photo", "result"}``,
  or one of them): a photo that identify could not read has no detections, and an entry
  of score 0 is its whole-photo fallback (nothing was detected), not a detection;
- CSV with the columns ``image,class,score,x1,y1,x2,y2`` (a header row naming them in
  any order, or none and that order).

Boxes are corners in the photo's pixels, like the annotations. An image is named by the
photo's name, its file name, or a path ending in it. Every error is a `PredictionsError`
whose message starts with the file (and line) at fault.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np

#: A devkit results file name: an optional prefix (comp4, comp4_SALT), the image set, the class.
RESULTS_FILE = re.compile(r"^(?:.*?_)?det_(?P<image_set>[^_]+)_(?P<kind>.+)\.txt$")
CSV_COLUMNS = ("image", "class", "score", "x1", "y1", "x2", "y2")


class PredictionsError(ValueError):
    """A predictions file that cannot be read or does not fit the ground truth."""


class Prediction(NamedTuple):
    image: str
    kind: str
    score: float
    box: tuple[float, float, float, float]
    where: str  # "FILE: line N", for error messages


def read_predictions(path: str | os.PathLike) -> list[Prediction]:
    """Every detection in a results folder or file, an identify JSON or a CSV file."""
    path = Path(path)
    if path.is_dir():
        return _read_results_folder(path)
    if not path.is_file():
        raise PredictionsError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _read_identify_json(path)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".txt":
        return _read_results_file(path, _results_class(path))
    raise PredictionsError(f"{path}: unknown predictions format: expected a folder or .txt file of VOC "
                           "results (comp4_det_test_CLASS.txt), a .json file of `kyb identify --json`, "
                           "or a .csv file (image,class,score,x1,y1,x2,y2)")


def _results_class(path: Path) -> str:
    match = RESULTS_FILE.match(path.name)
    if match is None:
        raise PredictionsError(f"{path}: cannot tell the class from the file name; VOC results files "
                               "are named like comp4_det_test_CLASS.txt")
    return match["kind"]


def _read_results_folder(folder: Path) -> list[Prediction]:
    files = sorted(path for path in folder.iterdir() if path.is_file() and RESULTS_FILE.match(path.name))
    if not files:
        raise PredictionsError(f"{folder}: no VOC results files (comp4_det_test_CLASS.txt) in the folder")
    image_sets = sorted({RESULTS_FILE.match(path.name)["image_set"] for path in files})
    if len(image_sets) > 1:
        raise PredictionsError(f"{folder}: results for several image sets ({', '.join(image_sets)}); "
                               "name one file, or keep one set's files in the folder")
    return [prediction for path in files for prediction in _read_results_file(path, _results_class(path))]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PredictionsError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PredictionsError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from exc


def _read_results_file(path: Path, kind: str) -> list[Prediction]:
    predictions = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}: line {number}"
        if len(fields) != 6:
            raise PredictionsError(f"{where}: expected 'IMAGE_ID SCORE X1 Y1 X2 Y2', got {len(fields)} "
                                   f"field(s): {line.strip()!r}")
        predictions.append(_prediction(fields[0], kind, fields[1], fields[2:], where))
    return predictions


def _read_csv(path: Path) -> list[Prediction]:
    rows = list(csv.reader(_read_text(path).splitlines()))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if set(CSV_COLUMNS) <= set(header):
        columns, first = [header.index(column) for column in CSV_COLUMNS], 2
    elif header and header[0] in CSV_COLUMNS:
        missing = [column for column in CSV_COLUMNS if column not in header]
        raise PredictionsError(f"{path}: line 1: header lacks the column(s) {', '.join(missing)}")
    else:
        columns, first = list(range(len(CSV_COLUMNS))), 1
    predictions = []
    for number, row in enumerate(rows[first - 1:], start=first):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}: line {number}"
        if len(row) <= max(columns) or (first == 1 and len(row) != len(CSV_COLUMNS)):
            raise PredictionsError(f"{where}: expected the columns {','.join(CSV_COLUMNS)}, "
                                   f"got {len(row)} field(s)")
        image, kind, score, *box = (row[column].strip() for column in columns)
        predictions.append(_prediction(image, kind, score, box, where))
    return predictions


def _read_identify_json(path: Path) -> list[Prediction]:
    try:
        outcomes = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise PredictionsError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    if isinstance(outcomes, dict):
        outcomes = [outcomes]
    if not isinstance(outcomes, list):
        raise PredictionsError(f"{path}: expected the output of `kyb identify --json`: a list of "
                               '{"photo": ..., "result": ...}')
    predictions = []
    for number, outcome in enumerate(outcomes, start=1):
        where = f"{path}: entry {number}"
        if not isinstance(outcome, dict) or not isinstance(outcome.get("photo"), str):
            raise PredictionsError(f"{where}: expected an object with a \"photo\" path, as "
                                   "`kyb identify --json` writes")
        if "result" not in outcome:
            continue  # identify could not read the photo: no detections, its objects are misses
        detections = outcome["result"].get("detections") if isinstance(outcome["result"], dict) else None
        if not isinstance(detections, list):
            raise PredictionsError(f"{where} ({outcome['photo']}): its result has no \"detections\" list")
        for index, detection in enumerate(detections, start=1):
            at = f"{where} ({outcome['photo']}) detection {index}"
            if not isinstance(detection, dict) or not {"box", "kind", "score"} <= set(detection):
                raise PredictionsError(f"{at}: expected \"box\", \"kind\" and \"score\"")
            box = detection["box"]
            if not isinstance(box, list) or len(box) != 4:
                raise PredictionsError(f"{at}: \"box\" must be [x1, y1, x2, y2], got {box!r}")
            prediction = _prediction(outcome["photo"], str(detection["kind"]), detection["score"], box, at)
            if prediction.score > 0:  # 0: the whole-photo fallback where nothing was detected
                predictions.append(prediction)
    return predictions


def _number(value, what: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise PredictionsError(f"{where}: {what} {value!r} is not a number")
    return number


def _prediction(image: str, kind: str, score, box: Sequence, where: str) -> Prediction:
    if not image:
        raise PredictionsError(f"{where}: the image is empty")
    if not kind:
        raise PredictionsError(f"{where}: the class is empty")
    try:  # the common case, fast: five plain numbers
        values = (float(score), *map(float, box))
    except (TypeError, ValueError):
        values = (math.nan,)
    if len(values) != 5 or not all(map(math.isfinite, values)):
        values = (_number(score, "score", where),
                  *(_number(value, name, where) for value, name in zip(box, ("x1", "y1", "x2", "y2"),
                                                                        strict=True)))
    score, x1, y1, x2, y2 = values
    if x2 < x1 or y2 < y1:
        raise PredictionsError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) has x2 < x1 or y2 < y1; "
                               "boxes are corners x1 y1 x2 y2 (not x, y, width, height)")
    return Prediction(image, kind, score, (x1, y1, x2, y2), where)


# ----------------------------------------------------------------- fitting to the samples


def image_keys(name: str, image_path: Path) -> set[str]:
    """The ids a prediction may name a photo by: its name, its file name, either without extension."""
    keys = {name, PurePosixPath(name).name, image_path.name, image_path.stem}
    return {key for key in keys if key}


def _key(image: str) -> list[str]:
    """`image` as written, then without its folders, then also without its extension."""
    path = PurePosixPath(image.replace("\\", "/"))
    return [image, path.name, path.stem, str(path.with_suffix("")) if path.suffix else image]


def fit_to_samples(predictions: Iterable[Prediction], samples: Sequence, classes: Sequence[str],
                   class_map: dict[str, str] | None = None, known: Iterable[str] = (),
                   source: str = "the ground truth") -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per sample, (boxes (N, 4), scores (N,), class indices from 0 into `classes`), the
    input of `detector.evaluate.evaluate_detections`. Predictions for the names in `known`
    that are not samples (photos past a --limit) are dropped; for any other image, or of a
    class outside `classes`, they are an error naming the first such line."""
    class_map = class_map or {}
    lookup: dict[str, int | None] = {}
    for index, sample in enumerate(samples):
        for key in image_keys(sample.name, Path(sample.image_path)):
            lookup[key] = index if lookup.get(key, index) == index else None  # None: ambiguous
    skipped = set(known)
    number = {name: position for position, name in enumerate(classes)}
    per_sample: list[list[Prediction]] = [[] for _ in samples]
    unknown: list[Prediction] = []
    for prediction in predictions:
        keys = [prediction.image] if prediction.image in lookup else _key(prediction.image)
        found = next((lookup[key] for key in keys if key in lookup), -1)
        if found is None:
            raise PredictionsError(f"{prediction.where}: image {prediction.image!r} could be any of several "
                                   "photos of the same name; name it by its path below the annotations")
        if found < 0:
            if not any(key in skipped for key in keys):
                unknown.append(prediction)
            continue
        kind = class_map.get(prediction.kind, prediction.kind)
        if kind not in number:
            raise PredictionsError(f"{prediction.where}: unknown class {prediction.kind!r} "
                                   f"(the classes scored: {', '.join(classes)})")
        per_sample[found].append(prediction._replace(kind=kind))
    if unknown:
        images = sorted({prediction.image for prediction in unknown})
        raise PredictionsError(f"{unknown[0].where}: image {unknown[0].image!r} is not in {source} "
                               f"({len(images)} image(s) predicted there are not)")
    return [(np.array([p.box for p in rows], np.float64).reshape(-1, 4),
             np.array([p.score for p in rows], np.float64),
             np.array([number[p.kind] for p in rows], np.int64)) for rows in per_sample]
