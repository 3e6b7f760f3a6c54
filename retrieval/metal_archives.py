"""Metal Archives' JSON answers (browse-by-letter, artist search) turned into rows.

Both endpoints answer DataTables JSON: `iTotalRecords` and `aaData`, a list of rows
whose cells are HTML snippets. The band database imports saved browse answers
(`kyb db import`) and the scraper reads the same answers live, so the format is read
here, in the lower layer, once for both.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

_ID_AT_END = re.compile(r"/(\d+)/?$")


class FormatError(ValueError):
    """An answer that does not have the shape Metal Archives gives it."""


def id_from_url(url: str | None) -> int | None:
    """The numeric id that ends a Metal Archives URL (`.../bands/Death/141` -> 141)."""
    if not url:
        return None
    match = _ID_AT_END.search(urlsplit(url).path)
    return int(match.group(1)) if match else None


def cell_text(html: str) -> str:
    """The visible text of one table cell's HTML, whitespace collapsed."""
    if not html or not html.strip():
        return ""
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except etree.ParserError:
        return ""
    return " ".join(fragment.text_content().replace("\xa0", " ").split())


def cell_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of every link in one cell's HTML."""
    if not html or not html.strip():
        return []
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    return [(a.get("href", ""), " ".join(a.text_content().split())) for a in fragment.iter("a")]


def parse_datatables(text: str | bytes, columns: int) -> tuple[int, list[list[str]]]:
    """(iTotalRecords, rows) of a DataTables answer whose rows have `columns` cells."""
    try:
        payload = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not JSON ({exc})") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("aaData"), list):
        raise FormatError("no aaData list: not a DataTables answer")
    try:
        total = int(payload.get("iTotalRecords", len(payload["aaData"])))
    except (TypeError, ValueError) as exc:
        raise FormatError(f"iTotalRecords {payload.get('iTotalRecords')!r} is not a number") \
            from exc
    rows = payload["aaData"]
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) < columns:
            raise FormatError(f"row {index} has not the {columns} cells expected: {row!r:.200}")
    return total, rows


def parse_browse_json(text: str | bytes) -> tuple[int, list[dict]]:
    """A browse-by-letter page: (total bands under the letter, band rows of this page).

    Rows carry what the list shows: band_id, name, url, country, genre, status.
    """
    total, rows = parse_datatables(text, 4)
    bands = []
    for index, (link_cell, country, genre, status_cell, *_rest) in enumerate(rows):
        links = cell_links(link_cell)
        band_id = id_from_url(links[0][0]) if links else None
        if band_id is None or not links[0][1]:
            raise FormatError(f"row {index}: no band link in {link_cell!r:.200}")
        bands.append({
            "band_id": band_id, "name": links[0][1], "url": links[0][0],
            "country": cell_text(country) or None, "genre": cell_text(genre) or None,
            "status": cell_text(status_cell) or None,
        })
    return total, bands


def parse_artist_search_json(text: str | bytes) -> tuple[int, list[dict]]:
    """An artist search answer: (total hits, artists with the bands they play in)."""
    total, rows = parse_datatables(text, 4)
    artists = []
    for index, (artist_cell, real_name, country, bands_cell, *_rest) in enumerate(rows):
        links = cell_links(artist_cell)
        if not links or id_from_url(links[0][0]) is None:
            raise FormatError(f"row {index}: no artist link in {artist_cell!r:.200}")
        artists.append({
            "artist_id": id_from_url(links[0][0]), "name": links[0][1], "url": links[0][0],
            "real_name": cell_text(real_name) or None, "country": cell_text(country) or None,
            "bands": [{"band_id": id_from_url(href), "name": name, "url": href}
                      for href, name in cell_links(bands_cell) if id_from_url(href)],
        })
    return total, artists
