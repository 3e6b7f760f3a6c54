"""Drawing a result onto its photo: each detection's box, kind and answer.

Used by `kyb identify --annotate` and `kyb demo`, so a person can check an answer at a
glance. Matched boxes are green, ``unknown`` ones orange; the label is the top band
(with the album for covers) or "unknown", and the match score.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MATCH_COLOUR = (40, 200, 60)      # RGB
UNKNOWN_COLOUR = (255, 150, 0)


def label(detection: dict) -> str:
    """The one-line answer for a detection, as drawn on the photo."""
    if detection["verdict"] != "match" or not detection["matches"]:
        return f"{detection['kind']}: unknown"
    best = detection["matches"][0]
    album = f" - {best['album']}" if best.get("album") else ""
    return f"{detection['kind']}: {best['name']}{album} ({best['score']:.2f})"


def annotate(image: np.ndarray, result: dict) -> np.ndarray:
    """A copy of the RGB `image` with `result`'s detections drawn on it."""
    canvas = np.ascontiguousarray(image.copy())
    height, width = canvas.shape[:2]
    thickness = max(2, round(max(height, width) / 400))
    font_scale = max(0.5, max(height, width) / 1400)
    for detection in result["detections"]:
        colour = MATCH_COLOUR if detection["verdict"] == "match" else UNKNOWN_COLOUR
        x1, y1, x2, y2 = (int(round(v)) for v in detection["box"])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        text = label(detection)
        (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        top = y1 - text_h - baseline - 4 if y1 - text_h - baseline - 4 >= 0 else min(y2, height - text_h - 6)
        left = min(max(x1, 0), max(width - text_w - 4, 0))
        cv2.rectangle(canvas, (left, top), (left + text_w + 4, top + text_h + baseline + 4), colour, -1)
        cv2.putText(canvas, text, (left + 2, top + text_h + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def write_annotated(image: np.ndarray, result: dict, path: str | Path) -> Path:
    """Save the annotated photo (format from the suffix); OSError when it cannot be written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), annotate(image, result)[:, :, ::-1]):
        raise OSError(f"{path}: cannot be written")
    return path
