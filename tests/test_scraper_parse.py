"""Parsers on every real Metal Archives page in ../shared (read in place) and on the
project's own handwritten pages. Every expected value was read off the page by hand."""

import pytest

from retrieval.metal_archives import (
    FormatError,
    id_from_url,
    parse_artist_search_json,
    parse_browse_json,
)
from scraper.parse import (
    ParseError,
    parse_album_page,
    parse_band_page,
    parse_discography,
    parse_links,
    parse_read_more,
    parse_similar,
)
from tests.conftest import REPO_ROOT, shared_path

MINI = REPO_ROOT / "tests" / "fixtures" / "metal-archives-mini"
MA = "https://www.metal-archives.com"


def real(*parts: str) -> str:
    return shared_path("fixtures", "metal-archives", *parts).read_text(encoding="utf-8")


def mini(*parts: str) -> str:
    return MINI.joinpath(*parts).read_text(encoding="utf-8")


REAL_BANDS = {
    "Pathfinder_122302.html": {
        "band_id": 122302, "name": "Pathfinder", "url": f"{MA}/bands/Pathfinder/122302",
        "country": "Poland", "location": "Poznań, Wielkopolskie", "status": "Active",
        "formed_in": "2006", "genre": "Symphonic Power Metal", "themes": "Fantasy, Sisu",
        "label": "Sonic Attack Records", "years_active": "2006-present",
        "logo_url": f"{MA}/images/1/2/2/3/122302_logo.jpg",
        "photo_url": f"{MA}/images/1/2/2/3/122302_photo.jpg?4247",
        "comment": "Pathfinder was founded by Arkadiusz Ruth and Karol Mania.",
        "comment_truncated": False,
    },
    "Rhapsody_of_Fire_32.html": {
        "band_id": 32, "name": "Rhapsody of Fire", "url": f"{MA}/bands/Rhapsody_of_Fire/32",
        "country": "Italy", "location": "Trieste, Friuli-Venezia Giulia", "status": "Active",
        "formed_in": "1995", "genre": "Symphonic Power Metal",
        "themes": "Fantasy, Epic battles, Tales", "label": "AFM Records",
        "years_active": "1993-1995 (as Thundercross), 1995-2006 (as Rhapsody), 2006-present",
        "logo_url": f"{MA}/images/3/2/32_logo.jpg?1943",
        "photo_url": f"{MA}/images/3/2/32_photo.jpg?1607",
        "comment": (
            "Not to be confused with the Genova band Rhapsody, who released a demo tape in "
            "1987.\n\nFormed in 1993 as Thundercross, then changed the name to Rhapsody in "
            "1995. They were forced to change their name again, this time to Rhapsody of "
            "Fire, due to copyright problems on July 14th, 2006.\n\nBefore Cristiano "
            "Adacher's arrival, Luca Turilli was also the singer of the band.\n\n"
            "Thunderforce played drums from ..."),
        "comment_truncated": True,
    },
    "Death_141.html": {
        "band_id": 141, "name": "Death", "url": f"{MA}/bands/Death/141",
        "country": "United States", "location": "Altamonte Springs, Florida",
        "status": "Split-up", "formed_in": "1984",
        "genre": "Death Metal (early); Progressive Death Metal (later)",
        "themes": "Death, Gore (early); Society, Enlightenment (later)",
        "label": "Nuclear Blast", "years_active": "1983-1984 (as Mantas), 1984-2001",
        "logo_url": f"{MA}/images/1/4/1/141_logo.png?3006",
        "photo_url": f"{MA}/images/1/4/1/141_photo.jpg?5804",
        "comment": (
            'Click on "read more" for a list of bootleg releases.\n\nThe information on the '
            "rehearsal tapes shown here differs a bit from the information that can be found "
            "in the official Death site, due to inconsistencies found in the latter.\n\nOne "
            "of the first death metal bands, originally founded in 1983 as Mantas, changed "
            "their name to Death in late 1984.\n\nDeath disbanded due to Chuck Schuldiner "
            "dying of a ..."),
        "comment_truncated": True,
    },
    "Mysterium_72882.html": {
        "band_id": 72882, "name": "Mysterium", "url": f"{MA}/bands/Mysterium/72882",
        "country": "Portugal", "location": "Oporto", "status": "Split-up",
        "formed_in": "1996", "genre": "Gothic/Doom/Heavy Metal",
        "themes": None,  # the page says N/A
        "label": "Unsigned/independent", "years_active": "1996-2003, 2003-? (as Tremble)",
        "logo_url": f"{MA}/images/7/2/8/8/72882_logo.jpg",
        "photo_url": f"{MA}/images/7/2/8/8/72882_photo.jpg",
        "comment": "In 2003 due to line-up changes, changed name to Tremble and split after.",
        "comment_truncated": False,
    },
}

MINI_BANDS = {
    "Xenophobic_March_9000001.html": {
        "band_id": 9000001, "name": "Xénophobic Mårch",
        "url": f"{MA}/bands/Xenophobic_March/9000001", "country": "Norway",
        "location": "Tromsø, Troms", "status": "Active", "formed_in": "2011",
        "genre": "Blackened Speed Metal", "themes": "Winter, Warfare & Ruin",  # "Themes:"
        "label": "Frostbitten Tapes",
        "years_active": "2009-2011 (as Xylem Throne), 2011-present",
        "logo_url": f"{MA}/images/9/0/0/0/9000001_logo.png?1111",
        "photo_url": f"{MA}/images/9/0/0/0/9000001_photo.jpg?2222",
        "comment": "Formed by Xeno Frostvinter after the end of Xylem Throne.\n\n"
                   "The band name is written with an å on every release ...",
        "comment_truncated": True,
    },
    "Xylem_Throne_9000002.html": {
        "band_id": 9000002, "name": "Xylem Throne", "url": f"{MA}/bands/Xylem_Throne/9000002",
        "country": "Sweden", "location": None, "status": "Changed name", "formed_in": None,
        "genre": "Raw Black Metal", "themes": None, "label": "Unsigned/independent",
        "years_active": "2009-2011 (as Xylem Throne)", "logo_url": None, "photo_url": None,
        "comment": None, "comment_truncated": False,
    },
}


@pytest.mark.parametrize("name", sorted(REAL_BANDS))
def test_real_band_pages(name):
    assert parse_band_page(real("band", name)) == REAL_BANDS[name]


@pytest.mark.parametrize("name", sorted(MINI_BANDS))
def test_mini_band_pages(name):
    assert parse_band_page(mini("band", name)) == MINI_BANDS[name]


def test_real_read_more():
    assert parse_read_more(real("read-more", "122302.html")) == \
        "Pathfinder was founded by Arkadiusz Ruth and Karol Mania."
    comment = parse_read_more(real("read-more", "32.html"))
    paragraphs = comment.split("\n\n")
    assert paragraphs[0] == ("Not to be confused with the Genova band Rhapsody, who released a "
                             "demo tape in 1987.")
    assert paragraphs[3].startswith("Thunderforce played drums from Dawn of Victory to Power "
                                    "of the Dragonflame, but for contractual obligations")
    assert len(paragraphs) == 12
    assert paragraphs[-1] == (
        "Compilation appearances:\n"
        '- "The Magic of the Wizard\'s Dream" on Metal Hammer - Battle Metal VII '
        "(Metal Hammer, 2008)\n"
        '- "Guardians" on The Keepers of Jericho - A Tribute to Helloween (Arise Records)')


def test_mini_read_more():
    assert parse_read_more(mini("read-more", "9000001.html")) == (
        "Formed by Xeno Frostvinter after the end of Xylem Throne.\n\n"
        "The band name is written with an å on every release, but the founder's passport "
        "spells it without.\n\nLine-up changes:\n- 2013: Ødegård joined on drums")
    assert parse_read_more("  ") is None


def test_real_discographies():
    albums = parse_discography(real("discography", "122302_all.html"))
    assert [(a["album_id"], a["title"], a["type"], a["year"]) for a in albums] == [
        (190714, "Pathfinder / Demo 2007", "Demo", 2007),
        (201587, "The Beginning", "Demo", 2008),
        (283512, "Moonlight Shadow", "Single", 2010),
        (280057, "Beyond the Space, Beyond the Time", "Full-length", 2010),
        (336125, "Fifth Element", "Full-length", 2012),
    ]
    assert albums[3]["url"] == \
        f"{MA}/albums/Pathfinder/Beyond_the_Space%2C_Beyond_the_Time/280057"

    albums = parse_discography(real("discography", "32_all.html"))
    assert len(albums) == 36
    assert albums[0] == {"album_id": 4394, "title": "Eternal Glory", "type": "Demo",
                         "year": 1995, "url": f"{MA}/albums/Rhapsody_of_Fire/Eternal_Glory/4394"}
    assert albums[-1]["title"] == "The Eighth Mountain" and albums[-1]["album_id"] == 746929
    types = {}
    for album in albums:
        types[album["type"]] = types.get(album["type"], 0) + 1
    assert types == {"Full-length": 13, "Single": 12, "Split": 3, "Live album": 3, "EP": 2,
                     "Video": 1, "Compilation": 1, "Demo": 1}


def test_mini_discographies_and_album_pages():
    albums = parse_discography(mini("discography", "9000001_all.html"))
    assert [(a["album_id"], a["title"], a["type"], a["year"]) for a in albums] == [
        (9000001001, "Marching Through Ice", "Demo", 2012),
        (9000001002, "Ødelagt", "Full-length", 2015),
        (9000001003, "Frozen Split", "Split", 2016),
    ]
    assert parse_discography(mini("discography", "9000002_all.html")) == []
    assert parse_album_page(mini("album", "9000001002.html")) == {
        "album_id": 9000001002, "title": "Ødelagt",
        "cover_url": f"{MA}/images/9/0/0/0/9000001002.jpg?3333"}
    assert parse_album_page(mini("album", "9000001003.html"))["cover_url"] is None


def test_real_similar_artists():
    similar = parse_similar(real("similar", "122302.html"))
    assert len(similar) == 30  # the "show top 20 only" row is not a band
    assert similar[0] == {"similar_id": 32, "name": "Rhapsody of Fire",
                          "url": f"{MA}/bands/Rhapsody_of_Fire/32", "country": "Italy",
                          "genre": "Symphonic Power Metal", "score": 79}
    assert similar[-1]["name"] == "Memories of Old" and similar[-1]["score"] == 3
    assert similar[-1]["similar_id"] == 3540446531

    similar = parse_similar(real("similar", "32.html"))
    assert len(similar) == 93
    assert similar[0] == {
        "similar_id": 3540348143, "name": "Luca Turilli's Rhapsody",
        "url": f"{MA}/bands/Luca_Turilli%27s_Rhapsody/3540348143", "country": "Italy",
        "genre": "Symphonic Power Metal", "score": 162}
    assert similar[-1]["name"] == "Unlucky Morpheus" and similar[-1]["country"] == "Japan"


def test_mini_similar_artists():
    assert [(s["similar_id"], s["name"], s["score"])
            for s in parse_similar(mini("similar", "9000001.html"))] == [
        (9000002, "Xylem Throne", 12), (9000003, "Zyklon Ärger", 4)]
    assert parse_similar(mini("similar", "9000002.html")) == []


def test_real_links():
    links = parse_links(real("links", "122302.html"))
    assert len(links) == 12
    assert links[0] == {"link_id": 527175, "category": "Official",
                        "title": "Arkadiusz E. Ruth's Official Website",
                        "url": "http://www.arkadiusz-e-ruth.com"}
    assert links[-1] == {"link_id": 469803, "category": "Official merchandise",
                         "title": "iTunes",
                         "url": "https://itunes.apple.com/pl/artist/pathfinder/id49403223"}
    links = parse_links(real("links", "32.html"))
    per_category = {}
    for link in links:
        per_category[link["category"]] = per_category.get(link["category"], 0) + 1
    assert per_category == {"Official": 9, "Official merchandise": 6, "Unofficial": 3,
                            "Labels": 2, "Tablatures": 6}
    assert {"link_id": 597471, "category": "Labels", "title": "AFM Records",
            "url": "https://www.afm-records.de/en/r/172-rhapsody-of-fire-2.html"} in links


def test_mini_links():
    assert parse_links(mini("links", "9000001.html")) == [
        {"link_id": 77001, "category": "Official", "title": "Bandcamp",
         "url": "https://xenophobicmarch.bandcamp.com"},
        {"link_id": 77002, "category": "Unofficial", "title": "Fan page (Tromsø)",
         "url": "http://example.org/fans/x%C3%A9no?a=1&b=2"},
    ]
    assert parse_links(mini("links", "9000002.html")) == []


@pytest.mark.parametrize(("letter", "total", "first", "last", "statuses"), [
    ("A", 17009,
     {"band_id": 3540442600, "name": "A // Solution", "url": f"{MA}/bands/A_--_Solution/3540442600",
      "country": "United States", "genre": "Crust Punk/Thrash Metal", "status": "Split-up"},
     {"band_id": 3540268381, "name": "A.T.O.N.", "url": f"{MA}/bands/A.T.O.N./3540268381",
      "country": "Italy", "genre": "Black Metal", "status": "Active"},
     {"Active": 277, "Split-up": 150, "Unknown": 42, "Changed name": 22, "On hold": 9}),
    ("Z", 1194,
     {"band_id": 3540357673, "name": "The Zen", "url": f"{MA}/bands/The_Zen/3540357673",
      "country": "Spain", "genre": "Melodic Death Metal", "status": "Unknown"},
     {"band_id": 50888, "name": "Zero Illusions", "url": f"{MA}/bands/Zero_Illusions/50888",
      "country": "Sweden", "genre": "Power/Progressive Metal", "status": "Split-up"},
     {"Active": 295, "Split-up": 139, "Unknown": 45, "Changed name": 14, "On hold": 7}),
])
def test_real_browse_pages(letter, total, first, last, statuses):
    got_total, bands = parse_browse_json(real("browse", f"{letter}_000000.json"))
    assert got_total == total
    assert len(bands) == 500 and len({b["band_id"] for b in bands}) == 500
    assert bands[0] == first and bands[-1] == last
    counted = {}
    for band in bands:
        counted[band["status"]] = counted.get(band["status"], 0) + 1
    assert counted == statuses


def test_browse_names_keep_their_accents():
    _total, bands = parse_browse_json(real("browse", "Z_000000.json"))
    assert {"band_id": 3540589993, "name": "The Ziön Experience",
            "url": f"{MA}/bands/The_Zi%C3%B6n_Experience/3540589993", "country": "Chile",
            "genre": "Stoner Metal/Rock", "status": "Active"} in bands
    total, bands = parse_browse_json(mini("browse", "X_000000.json"))
    assert total == 3 and [b["name"] for b in bands] == ["Xénophobic Mårch", "Xylem Throne"]


def test_real_artist_search():
    total, artists = parse_artist_search_json(real("search", "artist_Alberto_R.json"))
    assert total == 2
    assert artists[0] == {
        "artist_id": 251636, "name": "Alberto R.", "url": f"{MA}/artists/Alberto_R./251636",
        "real_name": "Alberto R.", "country": "Spain",
        "bands": [{"band_id": 78216, "name": "Alcohólica",
                   "url": f"{MA}/bands/Alcoh%C3%B3lica/78216"}]}
    assert artists[1]["real_name"] == "Alberto R. Cisneros"
    assert [b["band_id"] for b in artists[1]["bands"]] == [3540292809, 2891, 33472, 97829]
    assert parse_artist_search_json(real("search", "artist_no_result.json")) == (0, [])


def test_mini_artist_search():
    total, artists = parse_artist_search_json(mini("search", "artist_Xeno.json"))
    assert total == 1 and artists[0]["real_name"] == "Xenophon Frost"
    assert [(b["band_id"], b["name"]) for b in artists[0]["bands"]] == [
        (9000001, "Xénophobic Mårch"), (9000002, "Xylem Throne")]


# -- bad input: truncated and changed pages ---------------------------------------------

def test_truncated_band_page_is_a_clear_error():
    page = mini("band", "Xenophobic_March_9000001.html")
    with pytest.raises(ParseError, match="band page: the page is truncated"):
        parse_band_page(page[: len(page) // 2])
    with pytest.raises(ParseError, match="empty page|truncated"):
        parse_band_page("")


def test_changed_band_page_markup_is_a_clear_error():
    page = mini("band", "Xenophobic_March_9000001.html")
    with pytest.raises(ParseError, match=r"no band name \(h1.band_name\)"):
        parse_band_page(page.replace('class="band_name"', 'class="title"'))
    with pytest.raises(ParseError, match="no #band_stats"):
        parse_band_page(page.replace('id="band_stats"', 'id="facts"'))
    unknown_label = parse_band_page(page.replace("<dt>Genre:</dt>", "<dt>Style:</dt>"))
    assert unknown_label["genre"] is None and unknown_label["country"] == "Norway"


def test_truncated_and_changed_fragments_are_clear_errors():
    discography = mini("discography", "9000001_all.html")
    with pytest.raises(ParseError, match="discography: the fragment is truncated"):
        parse_discography(discography[: len(discography) // 2])
    with pytest.raises(ParseError, match="no table.discog"):
        parse_discography("<div>Service unavailable</div>")
    with pytest.raises(ParseError, match="similar artists: the fragment is truncated"):
        parse_similar(mini("similar", "9000001.html")[:700])
    with pytest.raises(ParseError, match="no table#artist_list"):
        parse_similar("<p>maintenance</p>")
    with pytest.raises(ParseError, match="no #band_links"):
        parse_links("<p>maintenance</p>")
    with pytest.raises(ParseError, match="album page: no album name link"):
        parse_album_page("<html><body><h1>Oops</h1></body></html>")


@pytest.mark.parametrize(("text", "message"), [
    ("<html>Just a moment...</html>", "not JSON"),
    ('{"aaData": "nope"}', "no aaData list"),
    ('{"iTotalRecords": 1, "aaData": [["only", "three", "cells"]]}', "row 0 has not the 4"),
    ('{"iTotalRecords": 1, "aaData": [["no link", "c", "g", "s"]]}', "row 0: no band link"),
    ('{"iTotalRecords": "many", "aaData": []}', "is not a number"),
])
def test_bad_browse_answers_are_clear_errors(text, message):
    with pytest.raises(FormatError, match=message):
        parse_browse_json(text)


def test_ids_from_urls():
    assert id_from_url(f"{MA}/bands/Death/141") == 141
    assert id_from_url(f"{MA}/albums/X/Y/9000001002/") == 9000001002
    assert id_from_url(f"{MA}/bands/Death") is None
    assert id_from_url(None) is None
