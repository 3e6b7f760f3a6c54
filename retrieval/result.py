"""The shared pieces of the result JSON (retrieval/identify_api.py documents its shape):
a band's summary fields in a match, and the photo's band list. Both the image index's
answers (retrieval/pipeline.py) and the text witness's (retrieval/text_fusion.py) are
written with them, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence


def band_fields(band_id: int, bands: dict[int, dict]) -> dict:
    """The band's summary fields of a match. A band the index knows but the database lacks
    still gets a name, so the answer keeps its shape; `kyb db import` of the dataset fills
    in the rest."""
    band = bands.get(band_id) or {}
    return {"band_id": band_id, "name": band.get("name") or f"band {band_id}", "url": band.get("url"),
            "country": band.get("country"), "genre": band.get("genre")}


def photo_bands(entries: Sequence[dict]) -> list[dict]:
    """The photo's band list: the top band of each ``match`` detection, at its best score
    and confidence, with every witness that named it in any detection, best first."""
    found: dict[int, dict] = {}
    for entry in entries:
        if entry["verdict"] != "match":
            continue
        best = entry["matches"][0]
        known = found.get(best["band_id"])
        evidence = sorted({*best["evidence"], *(known["evidence"] if known else ())})
        confidence = _best(entry["confidence"], known and known["confidence"])
        if known is None or best["score"] > known["score"]:
            known = found[best["band_id"]] = {key: best[key] for key in ("band_id", "name", "url", "score")}
        known.update(confidence=confidence, evidence=evidence)
    return sorted(found.values(), key=lambda band: -band["score"])


def _best(*confidences: float | None) -> float | None:
    """The highest of the confidences that are known (a band seen twice is as sure as its
    surest sighting)."""
    known = [c for c in confidences if c is not None]
    return max(known) if known else None
