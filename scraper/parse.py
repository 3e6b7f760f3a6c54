"""Metal Archives HTML pages -> plain dicts. Pure functions: text in, data out.

Each parser reads one kind of page (band page, read-more, discography, album page,
similar artists, links) by the stable ids and classes the site has kept for years.
A field the page lacks is None; a page that lacks what every page of its kind has, or
that stops mid-way (truncated transfer, error page, a redesign), raises `ParseError`
with a message that says which page and what is missing, so the crawl can record it
and go on. The JSON answers (browse, search) are read by `retrieval.metal_archives`.
"""

from __future__ import annotations

import copy
import re

import lxml.html
from lxml import etree

from retrieval.metal_archives import id_from_url

#: band page `#band_stats` labels -> bands-table columns. The site renamed some labels
#: over the years ("Lyrical themes:" became "Themes:"); all spellings map here.
STAT_FIELDS = {
    "country of origin": "country",
    "location": "location",
    "status": "status",
    "formed in": "formed_in",
    "genre": "genre",
    "genres": "genre",
    "lyrical themes": "themes",
    "themes": "themes",
    "current label": "label",
    "last label": "label",
    "label": "label",
    "years active": "years_active",
}
#: What the site writes where it knows nothing; stored as missing.
_UNKNOWN = {"", "n/a"}
_BAND_ID_VAR = re.compile(r"var\s+bandId\s*=\s*(\d+)")
_YEAR = re.compile(r"\b(\d{4})\b")
_BREAK = "\ue000"  # private-use character marking a <br> while text is flattened


class ParseError(ValueError):
    """A page that is not a complete page of the expected kind."""


def _document(html: str, kind: str) -> lxml.html.HtmlElement:
    if not html or not html.strip():
        raise ParseError(f"{kind}: empty page")
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses declarations in str input
    try:
        return lxml.html.fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"{kind}: not HTML ({exc})") from exc


def _require_whole_document(html: str, kind: str) -> None:
    """A full page ends with </html>; one that does not was cut off in transit."""
    if not html.rstrip().lower().endswith("</html>"):
        raise ParseError(f"{kind}: the page is truncated (no closing </html>)")


def _require_balanced_tables(html: str, kind: str) -> None:
    """An AJAX fragment has no </html>; a cut inside one of its tables shows as an
    unclosed <table>."""
    lowered = html.lower()
    if lowered.count("<table") != lowered.count("</table>"):
        raise ParseError(f"{kind}: the fragment is truncated (a <table> is not closed)")


def _text(element) -> str:
    if element is None:
        return ""
    return " ".join(element.text_content().replace("\xa0", " ").split())


def _value(element) -> str | None:
    """Visible text, or None where the page shows nothing or N/A."""
    text = _text(element)
    return None if text.lower() in _UNKNOWN else text


def plain_text(element) -> str:
    """Rich text (a band comment) as plain text: <br> becomes a line break, the
    source's own line wrapping does not, and at most one blank line is kept."""
    element = copy.deepcopy(element)
    for tools in element.xpath(_by_class("div", "tool_strip")):
        tools.drop_tree()
    for br in element.iter("br"):
        br.tail = _BREAK + (br.tail or "")
    lines = [" ".join(part.replace("\xa0", " ").split())
             for part in element.text_content().split(_BREAK)]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()


def _first(element, xpath: str):
    found = element.xpath(xpath)
    return found[0] if found else None


def _by_class(tag: str, name: str, axis: str = ".//") -> str:
    """XPath for `tag` elements having CSS class `name`, below (or at) the context."""
    return f'{axis}{tag}[contains(concat(" ", normalize-space(@class), " "), " {name} ")]'


def parse_band_page(html: str) -> dict:
    """A band page -> every column of the bands table, plus `comment_truncated` (the
    page shows only the start of the comment; the full text is on the read-more page)."""
    kind = "band page"
    _require_whole_document(html, kind)
    doc = _document(html, kind)
    title_link = _first(doc, _by_class("h1", "band_name") + "/a")
    title = title_link if title_link is not None else _first(doc, _by_class("h1", "band_name"))
    if title is None or not _text(title):
        raise ParseError(f"{kind}: no band name (h1.band_name); not a band page, or the "
                         "site's layout changed")
    url = title_link.get("href") if title_link is not None else None
    band_id = id_from_url(url)
    if band_id is None:
        match = _BAND_ID_VAR.search(html)
        band_id = int(match.group(1)) if match else None
    if band_id is None:
        raise ParseError(f"{kind}: no band id (neither in the name's link nor `var bandId`)")
    stats = _first(doc, './/*[@id="band_stats"]')
    if stats is None:
        raise ParseError(f"{kind}: no #band_stats block; the site's layout changed")

    band = {"band_id": band_id, "name": _text(title), "url": url}
    band.update(dict.fromkeys(set(STAT_FIELDS.values())))
    for dt in stats.iter("dt"):
        column = STAT_FIELDS.get(_text(dt).rstrip(":").strip().lower())
        dd = dt.getnext()
        if column and dd is not None and dd.tag == "dd":
            band[column] = _value(dd)
    logo = _first(doc, './/a[@id="logo"]')
    photo = _first(doc, './/a[@id="photo"]')
    band["logo_url"] = logo.get("href") if logo is not None else None
    band["photo_url"] = photo.get("href") if photo is not None else None
    comment = _first(doc, _by_class("div", "band_comment"))
    band["comment"] = (plain_text(comment) or None) if comment is not None else None
    band["comment_truncated"] = comment is not None and bool(
        comment.xpath(_by_class("a", "btn_read_more")))
    return band


def parse_read_more(html: str) -> str | None:
    """The read-more fragment: the band's full comment as plain text."""
    if not html or not html.strip():
        return None
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    return plain_text(fragment) or None


def parse_discography(html: str) -> list[dict]:
    """The "complete discography" tab -> album rows (album_id, title, type, year, url).
    Cover URLs are on each album's own page (`parse_album_page`)."""
    kind = "discography"
    _require_balanced_tables(html, kind)
    doc = _document(html, kind)
    table = _first(doc, _by_class("table", "discog", "descendant-or-self::"))
    if table is None:
        raise ParseError(f"{kind}: no table.discog; not a discography, or the layout changed")
    albums = []
    for row in table.xpath(".//tr[td]"):
        cells = row.findall("td")
        link = _first(cells[0], ".//a[@href]")
        album_id = id_from_url(link.get("href")) if link is not None else None
        if album_id is None:  # "Nothing entered yet." and similar placeholder rows
            continue
        year = _YEAR.search(_text(cells[2])) if len(cells) > 2 else None
        albums.append({
            "album_id": album_id, "title": _text(link), "url": link.get("href"),
            "type": _value(cells[1]) if len(cells) > 1 else None,
            "year": int(year.group(1)) if year else None,
        })
    return albums


def parse_album_page(html: str) -> dict:
    """An album page -> album_id, title and cover_url (None for releases with no cover)."""
    kind = "album page"
    _require_whole_document(html, kind)
    doc = _document(html, kind)
    link = _first(doc, _by_class("*", "album_name") + "/a")
    album_id = id_from_url(link.get("href")) if link is not None else None
    if album_id is None:
        raise ParseError(f"{kind}: no album name link (.album_name a); not an album page, "
                         "or the site's layout changed")
    cover = _first(doc, './/a[@id="cover"]')
    return {"album_id": album_id, "title": _text(link),
            "cover_url": cover.get("href") if cover is not None else None}


def _tab_content(html: str, kind: str, xpath: str, what: str, empty_phrase: str):
    """The element of a band page's tab at `xpath`; None where the tab says it has nothing
    (`empty_phrase`); ParseError where it holds neither (the layout changed)."""
    _require_balanced_tables(html, kind)
    doc = _document(html, kind)
    content = _first(doc, xpath)
    if content is None and empty_phrase not in _text(doc).lower():
        raise ParseError(f"{kind}: no {what}; the layout changed")
    return content


def parse_similar(html: str) -> list[dict]:
    """The similar-artists tab -> rows of similar_id, name, url, country, genre, score."""
    kind = "similar artists"
    table = _tab_content(html, kind, 'descendant-or-self::table[@id="artist_list"]', "table#artist_list",
                         "no similar artist")
    if table is None:
        return []
    similar = []
    for row in table.xpath('.//tr[starts-with(@id, "recRow_")]'):
        cells = row.findall("td")
        link = _first(row, ".//a[@href]")
        similar_id = id_from_url(link.get("href")) if link is not None else None
        if similar_id is None or len(cells) < 4:
            raise ParseError(f"{kind}: row {row.get('id')} has no band link or too few cells")
        score = re.search(r"-?\d+", _text(cells[3]))
        similar.append({
            "similar_id": similar_id, "name": _text(link), "url": link.get("href"),
            "country": _value(cells[1]), "genre": _value(cells[2]),
            "score": int(score.group()) if score else None,
        })
    return similar


def parse_links(html: str) -> list[dict]:
    """The related-links tab -> rows of link_id, category (the sub-tab), title, url."""
    kind = "links"
    container = _tab_content(html, kind, 'descendant-or-self::*[@id="band_links"]', "#band_links block",
                             "no links")
    if container is None:
        return []
    tab_names = {a.get("href", "")[1:]: _text(a) for a in container.xpath("./ul/li/a")}
    links = []
    for panel in container.xpath('./div[starts-with(@id, "band_links_")]'):
        category = tab_names.get(panel.get("id")) or \
            panel.get("id").removeprefix("band_links_").replace("_", " ")
        for anchor in panel.xpath('.//a[starts-with(@id, "link")][@href]'):
            link_id = anchor.get("id").removeprefix("link")
            if not link_id.isdigit():
                continue
            links.append({"link_id": int(link_id), "category": category,
                          "title": _text(anchor), "url": anchor.get("href")})
    return links
