"""The text witness fused into the result JSON (retrieval/text_fusion.py), on hand-made
readings: agreement, promotion of an `unknown`, text alone, shared names, common words,
and text outside every box."""

from dataclasses import replace

from retrieval.result import photo_bands
from retrieval.text_fusion import fuse_text
from retrieval.text_stage import RegionText, TextConfig, TextReading
from text.lookup import NameHit
from text.ocr import TextLine
from text.witness import NameEvidence, Span

BANDS = {125: {"name": "Metallica", "url": "u125"}, 186: {"name": "Cannibal Corpse", "url": "u186"},
         7: {"name": "Iron Maiden"}, 1: {"name": "Death", "country": "Sweden", "genre": "Black Metal"},
         2: {"name": "Death", "country": "United States",
             "genre": "Death Metal (early); Progressive Death Metal (later)"},
         3: {"name": "Death", "country": "Germany", "genre": "Thrash Metal"}}
CONFIG = TextConfig()


def match(band_id: int, score: float = 0.5) -> dict:
    return {"band_id": band_id, "name": BANDS.get(band_id, {}).get("name", f"band {band_id}"), "url": None,
            "country": None, "genre": None, "album": None, "ref_id": band_id * 10, "score": score,
            "inliers": None, "evidence": ["logo"]}


def detection(verdict: str, *matches: dict, box=(0, 0, 100, 100)) -> dict:
    return {"box": list(box), "kind": "logo", "score": 0.9, "verdict": verdict, "confidence": 0.7,
            "matches": list(matches)}


def region(text: str, *hits: tuple[tuple[int, ...], float, bool], box=(10, 10, 90, 40)) -> RegionText:
    line = TextLine(box, text, 0.95)
    span = Span(text, box, 0.95)
    return RegionText((line,), tuple(NameEvidence(NameHit(ids, BANDS[ids[0]]["name"], sim, common), span)
                                     for ids, sim, common in hits))


def with_title(read: RegionText, title: str, band_ids: tuple[int, ...], similarity: float,
               box=(10, 50, 90, 70)) -> RegionText:
    """`read` with an album title of `band_ids` read off a line at `box`."""
    line = TextLine(box, title.upper(), 0.95)
    evidence = NameEvidence(NameHit(band_ids, title, similarity, False), Span(title.upper(), box, 0.95))
    return replace(read, lines=(*read.lines, line), titles=(*read.titles, evidence))


def fused(detections: list[dict], regions: list[RegionText], outside: RegionText | None = None) -> dict:
    result = {"image": {"width": 400, "height": 300}, "detections": detections,
              "bands": photo_bands(detections), "timings_ms": {"detect": 1.0}}
    return fuse_text(result, TextReading(tuple(regions), outside or RegionText((), ()), 3.5), BANDS, CONFIG)


def test_text_agreeing_with_the_visual_match_is_a_second_witness():
    result = fused([detection("match", match(125, 0.8), match(186))],
                   [region("METALLICA", ((125,), 1.0, False))])
    top = result["detections"][0]
    assert top["verdict"] == "match" and top["matches"][0]["evidence"] == ["logo", "text"]
    assert top["text"]["read"] == "METALLICA" and top["text"]["score"] == 1.0
    assert result["bands"][0]["evidence"] == ["logo", "text"] and result["timings_ms"]["text"] == 3.5


def test_text_agreeing_with_a_lower_candidate_accepts_an_unknown_box():
    result = fused([detection("unknown", match(125), match(186, 0.4))],
                   [region("CANNIBAIN", ((186,), 0.75, False))])
    top = result["detections"][0]
    assert top["verdict"] == "match" and top["matches"][0]["band_id"] == 186
    assert top["matches"][0]["evidence"] == ["logo", "text"] and top["confidence"] is None
    assert [band["band_id"] for band in result["bands"]] == [186]


def test_a_sure_reading_names_a_band_without_a_reference_image():
    result = fused([detection("unknown", match(186))], [region("IRON MAIDEN", ((7,), 1.0, False))])
    top = result["detections"][0]
    assert top["verdict"] == "match"
    assert top["matches"][0] == {"band_id": 7, "name": "Iron Maiden", "url": None, "country": None,
                                 "genre": None, "album": None, "ref_id": None, "score": 1.0,
                                 "inliers": None, "evidence": ["text"]}
    assert result["bands"][0]["evidence"] == ["text"]


def test_a_weak_reading_alone_names_nothing():
    result = fused([detection("unknown", match(186))], [region("IRNMADN", ((7,), 0.8, False))])
    assert result["detections"][0]["verdict"] == "unknown" and result["bands"] == []
    assert result["detections"][0]["text"]["candidates"][0]["band_id"] == 7


def test_a_name_shared_by_three_bands_lists_them_and_names_none():
    result = fused([detection("unknown")], [region("DEATH", ((1, 2, 3), 1.0, True))])
    entry = result["detections"][0]
    assert entry["verdict"] == "unknown" and result["bands"] == []
    assert [c["band_id"] for c in entry["text"]["candidates"]] == [1, 2, 3]


def test_a_shared_name_is_decided_by_the_visual_witness():
    result = fused([detection("unknown", match(186), match(2, 0.3))],
                   [region("DEATH", ((1, 2, 3), 1.0, True))])
    assert result["detections"][0]["verdict"] == "match"
    assert result["detections"][0]["matches"][0]["band_id"] == 2


def test_text_reading_two_candidates_alike_accepts_neither():
    result = fused([detection("unknown", match(125), match(186, 0.4))],
                   [region("EMPEROR'S", ((125,), 0.62, False), ((186,), 0.62, False))])
    top = result["detections"][0]
    assert top["verdict"] == "unknown" and result["bands"] == []
    assert [m["evidence"] for m in top["matches"]] == [["logo"], ["logo"]]


def test_text_that_reads_another_name_as_well_accepts_no_unknown_box():
    """"EMPEROR'S" read five covers titled "Cover 0x5" at 0.62 each, one of them the
    box's visual candidate: text that fits other names as well is no second witness."""
    result = fused([detection("unknown", match(125))],
                   [region("EMPEROR'S", ((125,), 0.62, False), ((186,), 0.62, False))])
    assert result["detections"][0]["verdict"] == "unknown" and result["bands"] == []


def test_a_shared_name_read_over_two_of_its_bands_picks_neither():
    result = fused([detection("unknown", match(1), match(2, 0.4))], [region("DEATH", ((1, 2, 3), 1.0, True))])
    assert result["detections"][0]["verdict"] == "unknown" and result["bands"] == []


def test_an_album_title_read_beside_a_shared_name_decides_the_band():
    read = with_title(region("DEATH", ((1, 2, 3), 1.0, True)), "Scream Bloody Gore", (2, 9), 0.95)
    result = fused([detection("unknown", match(186))], [read])
    top = result["detections"][0]
    assert top["verdict"] == "match" and [m["band_id"] for m in top["matches"]] == [2, 186]
    assert top["matches"][0]["album"] == "Scream Bloody Gore" and top["matches"][0]["evidence"] == ["text"]


def test_a_self_titled_album_read_off_the_name_itself_decides_nothing():
    read = with_title(region("DEATH", ((1, 2, 3), 1.0, True)), "Death", (2,), 1.0, box=(10, 10, 90, 40))
    result = fused([detection("unknown", match(186))], [read])
    assert result["detections"][0]["verdict"] == "unknown" and result["bands"] == []


def test_a_weakly_read_title_decides_no_shared_name():
    read = with_title(region("DEATH", ((1, 2, 3), 1.0, True)), "Scream Bloody Gore", (2,), 0.8)
    assert fused([detection("unknown")], [read])["detections"][0]["verdict"] == "unknown"


def printed_elsewhere(text: str) -> RegionText:
    """A line read outside every box."""
    return RegionText((TextLine((200, 200, 380, 230), text, 0.95),), ())


def test_a_genre_printed_on_the_photo_decides_a_shared_name():
    result = fused([detection("unknown")], [region("DEATH", ((1, 2, 3), 1.0, True))],
                   printed_elsewhere("PROGRESSIVE DEATH METAL"))
    top = result["detections"][0]
    named = top["matches"][0]
    assert top["verdict"] == "match" and (named["band_id"], named["album"]) == (2, None)


def test_a_country_printed_on_the_photo_decides_a_shared_name():
    result = fused([detection("unknown")], [region("DEATH", ((1, 2, 3), 1.0, True))],
                   printed_elsewhere("TOUR 1991 - USA"))
    assert result["detections"][0]["matches"][0]["band_id"] == 2


def test_text_that_fits_two_bands_of_a_shared_name_decides_nothing():
    result = fused([detection("unknown")], [region("DEATH", ((1, 2, 3), 1.0, True))],
                   printed_elsewhere("BLACK METAL FROM GERMANY"))
    assert result["detections"][0]["verdict"] == "unknown" and result["bands"] == []


def test_a_genre_read_off_the_names_own_line_decides_nothing():
    result = fused([detection("unknown")], [region("DEATH METAL", ((1, 2, 3), 1.0, True))])
    assert result["detections"][0]["verdict"] == "unknown"


def test_an_album_title_alone_accepts_no_unknown_box():
    """A title is printed on merch that is not its band's ("FLAMEMOON" read as a title of
    the box's visual candidate Flametomb): it decides only between bands of a name read."""
    read = with_title(region("ZZYZX"), "Ride the Lightning", (125,), 1.0)
    result = fused([detection("unknown", match(186), match(125, 0.4))], [read])
    assert result["detections"][0]["verdict"] == "unknown" and result["bands"] == []


def test_two_close_names_from_one_span_name_neither_alone():
    result = fused([detection("unknown")], [region("METALICA", ((125,), 0.94, False), ((186,), 0.92, False))])
    assert result["detections"][0]["verdict"] == "unknown"


def test_text_outside_every_box_names_a_band_over_its_own_box():
    outside = region("METALLICA", ((125,), 1.0, False), box=(200, 200, 380, 250))
    result = fused([detection("unknown", match(186))], [RegionText((), ())], outside)
    assert len(result["detections"]) == 2
    added = result["detections"][1]
    assert added["box"] == [200, 200, 380, 250] and added["score"] == 0.0 and added["kind"] == "logo"
    assert added["matches"][0]["band_id"] == 125 and added["text"]["lines"] == ["METALLICA"]
    assert result["detections"][0] == detection("unknown", match(186))


def test_a_sure_reading_overrules_a_visual_match_that_text_does_not_support():
    result = fused([detection("match", match(186, 0.6))], [region("IRON MAIDEN", ((7,), 1.0, False))])
    top = result["detections"][0]
    assert [m["band_id"] for m in top["matches"]] == [7, 186] and top["matches"][0]["evidence"] == ["text"]


def test_a_reading_that_surely_spells_another_band_corroborates_no_lookalike():
    """"URVATH CARCASS" read in full shares a word with the visual match "Carcass of
    Altar" (similarity 0.6): it names its own band, not a second witness for the match."""
    result = fused([detection("match", match(186, 0.6))],
                   [region("IRON MAIDEN", ((7,), 1.0, False), ((186,), 0.65, False))])
    top = result["detections"][0]
    assert [m["band_id"] for m in top["matches"]] == [7, 186]
    assert top["matches"][1]["evidence"] == ["logo"]


def test_a_result_with_text_is_valid_against_the_api_document():
    from tests.test_server_support import schema_validator

    outside = region("METALLICA", ((125,), 1.0, False), box=(200, 200, 380, 250))
    result = fused([detection("unknown", match(186)), detection("unknown")],
                   [region("IRON MAIDEN", ((7,), 1.0, False)), region("DEATH", ((1, 2, 3), 1.0, True))],
                   outside)
    schema_validator("IdentifyResult").validate(result)
    assert [band["evidence"] for band in result["bands"]] == [["text"], ["text"]]
