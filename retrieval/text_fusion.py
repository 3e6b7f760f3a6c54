"""The text witness fused into the result JSON, beside the image index's answer.

Per detection (its text read by retrieval/text_stage.py):
- text naming one of the box's visual candidates at `corroborate` similarity, `margin`
  above every other candidate band, adds ``"text"`` to that match's `evidence`, unless the
  text surely names another band (then only within `margin` of that name's similarity); a
  box the rejector left ``unknown`` is accepted with that candidate (two weak witnesses
  that agree) where its name also reads `margin` above every other name of its span.
  Text that reads several names alike singles none out;
- otherwise text names a band by itself only when it is sure (`names_alone`): then it
  leads the box's matches with `evidence` ``["text"]`` and no `ref_id` (a band with no
  reference image, or one the image index got wrong while the print spells it out);
- a name shared by several bands, a short name or a common word never names a band by
  itself: the detection's `text.candidates` lists every band it may be instead, unless
  other text (an album title, a country, a genre) points to exactly one of the bands of a
  shared name (retrieval/shared_names.py): then that band, a deciding title as its
  `album`;
Text outside every box names bands by itself at the same strict rule, each as a detection
of its own over the text's box (detector score 0).
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.result import band_fields, photo_bands
from retrieval.shared_names import decided_names, is_sure
from retrieval.text_stage import RegionText, TextConfig, TextReading, centre_in
from text.ocr import TextLine
from text.witness import NameEvidence

#: Bands listed in a detection's `text.candidates`.
CANDIDATES = 10


def fuse_text(result: dict, reading: TextReading, bands: dict[int, dict], config: TextConfig) -> dict:
    """`result` (pipeline.assemble's JSON) with the text witness of `reading` added;
    `bands` holds the database rows of every band `reading` may name."""
    photo_lines = list({line.box: line for region in (*reading.boxes, reading.outside)
                        for line in region.lines}.values())
    detections = [fuse_detection(entry, region, bands, config, photo_lines)
                  for entry, region in zip(result["detections"], reading.boxes, strict=True)]
    detections += [text_detection(evidence, reading.outside, bands)
                   for evidence in names_alone(reading.outside.names, config)]
    return {**result, "detections": detections, "bands": photo_bands(detections),
            "timings_ms": {**result["timings_ms"], "text": reading.ms}}


def fuse_detection(entry: dict, region: RegionText, bands: dict[int, dict], config: TextConfig,
                   photo_lines: Sequence[TextLine]) -> dict:
    """One detection's entry with its text: evidence marked, verdict and order revised;
    `photo_lines`: every line read on the photo (a country or genre printed anywhere may
    decide between bands that share a name)."""
    if not region.lines:
        return entry
    support: dict[int, NameEvidence] = {}
    for evidence in region.names:
        for band_id in evidence.hit.band_ids:
            support.setdefault(band_id, evidence)

    def similarity(match: dict) -> float:
        evidence = support.get(match["band_id"])
        return evidence.hit.similarity if evidence is not None else 0.0

    alone = ([(named, None) for named in names_alone(region.names, config)]
             or decided_names(region, photo_lines, bands, config))
    # Text that surely spells one band corroborates no other: "URVATH CARCASS" read in
    # full is not a second witness for "Carcass of Altar".
    floor = max(config.corroborate, alone[0][0].hit.similarity - config.margin if alone else 0.0)

    def supported(match: dict) -> bool:
        rivals = (similarity(m) for m in entry["matches"] if m["band_id"] != match["band_id"])
        return similarity(match) >= floor and all(r <= similarity(match) - config.margin for r in rivals)

    matches = [{**m, "evidence": [*m["evidence"], "text"]} if supported(m) else m
               for m in entry["matches"]]
    verdict, confidence = entry["verdict"], entry["confidence"]
    agreeing = [m for m in matches if "text" in m["evidence"]]
    if verdict == "match" and matches and "text" in matches[0]["evidence"]:
        alone = []  # the two witnesses already agree on the top band
    # "EMPEROR'S" reads five covers titled "Cover 0x5" alike: it accepts none of them.
    best = agreeing[0] if agreeing else None  # the one band text singles out, at its best visual rank
    if verdict == "unknown" and best and stands_out(support[best["band_id"]], region.names, config):
        matches = [best, *(m for m in matches if m is not best)]
        verdict, confidence = "match", None
    elif alone:
        named, album = alone[0]
        band_id = named.hit.band_ids[0]
        matches = [text_match(named, bands, album), *(m for m in matches if m["band_id"] != band_id)]
        verdict, confidence = "match", None
    return {**entry, "verdict": verdict, "confidence": confidence, "matches": matches,
            "text": text_json(region, bands)}


def names_alone(names: Sequence[NameEvidence], config: TextConfig) -> list[NameEvidence]:
    """The names text may name without a visual witness: similarity at least `alone`, one
    band only, neither short nor a common word, and `margin` above any other name read
    off the same span."""
    chosen = []
    for evidence in names:
        if not is_sure(evidence, config) or len(evidence.hit.band_ids) != 1:
            continue
        if stands_out(evidence, names, config):
            chosen.append(evidence)
    return chosen


def stands_out(evidence: NameEvidence, names: Sequence[NameEvidence], config: TextConfig) -> bool:
    """Whether `evidence` reads `margin` above every other name read off the same span
    (the bands of one shared name count as one name)."""
    return all(other.hit.similarity <= evidence.hit.similarity - config.margin for other in names
               if other is not evidence and other.span.text == evidence.span.text)


def text_match(evidence: NameEvidence, bands: dict[int, dict], album: str | None = None) -> dict:
    """A match named by text alone: no reference image, no inliers; its score is the
    name similarity; `album`: the album title read beside a shared name."""
    return {**band_fields(evidence.hit.band_ids[0], bands), "album": album, "ref_id": None,
            "score": evidence.hit.similarity, "inliers": None, "evidence": ["text"]}


def text_detection(evidence: NameEvidence, region: RegionText, bands: dict[int, dict]) -> dict:
    """A detection for a band named by text outside every detected box, over the lines of
    its span."""
    lines = tuple(line for line in region.lines if centre_in(evidence.span.box, line.box))
    return {"box": [round(v, 1) for v in evidence.span.box], "kind": "logo", "score": 0.0, "verdict": "match",
            "confidence": None, "matches": [text_match(evidence, bands)],
            "text": text_json(RegionText(lines, (evidence,)), bands)}


def text_json(region: RegionText, bands: dict[int, dict]) -> dict:
    """A detection's `text`: the lines read, the span that best reads as a band name, its
    name similarity and recognition confidence, and the bands it may name (every band of
    a shared name), best first."""
    best = region.names[0] if region.names else None
    candidates = [{"band_id": band_id, "name": band_fields(band_id, bands)["name"],
                   "similarity": evidence.hit.similarity}
                  for evidence in region.names for band_id in evidence.hit.band_ids][:CANDIDATES]
    return {"lines": [line.text for line in region.lines],
            "read": best.span.text if best else None,
            "score": best.hit.similarity if best else None,
            "ocr_score": round(best.span.ocr_score, 4) if best else None,
            "candidates": candidates}
