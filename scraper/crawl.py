"""The crawl: band lists -> band pages -> rows, images and references, resumably.

A run alternates two steps until its band budget (`limit`) is spent: scrape the next
queued bands of a list, and when none is left, read the list's next page to queue
more. Lists are browse-by-letter pages or an artist search. Each step is one
transaction (see `scraper.state`), so a run can be killed at any moment and the next
run continues with nothing lost and nothing duplicated.

A page that fails (HTTP error after retries, robots.txt, truncated or unrecognised
markup, a refused image) is recorded in `scrape_errors` with its URL and the crawl goes
on; the band is marked failed (`kyb scrape --retry-failed` tries again) but keeps what
its other pages gave. Only a Cloudflare challenge, an unreadable robots.txt or a site
that stops answering altogether stops the crawl.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import sqlalchemy as sa

from data.progress import progress_bar
from retrieval.metal_archives import FormatError, parse_artist_search_json, parse_browse_json
from retrieval.store import Store, StoreError
from scraper.http import CrawlStopped, HTTPFailure, PoliteSession, ScrapeError, Traffic
from scraper.images import ImageRefused, ImageStore
from scraper.parse import (
    ParseError,
    parse_album_page,
    parse_band_page,
    parse_discography,
    parse_links,
    parse_read_more,
    parse_similar,
)
from scraper.state import CrawlState, Failure, QueuedBand

#: The site's browse letters: A-Z, "NBR" (names starting with a digit), "~" (others).
LETTERS = (*"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "NBR", "~")
#: Rows per list page; the most the site serves.
LIST_PAGE_SIZE = 500
#: Queue rows fetched from the database at a time.
_BATCH = 100
#: Band pages failing in a row, each after all its retries, with 5xx or no answer: the
#: site is down, and going on would only mark the rest of the queue failed.
MAX_OUTAGE = 5
_READ_MORE = "/band/read-more/id/{}"
_DISCOGRAPHY = "/band/discography/id/{}/tab/all"
_SIMILAR = "/band/ajax-recommendations/id/{}/showMoreSimilar/1"
_LINKS = "/link/ajax-list/type/band/id/{}"


class SiteDown(CrawlStopped):
    """Several band pages in a row got no answer or a server error: stop, retry later."""


@dataclass(frozen=True)
class BandList:
    """A paged list of bands: where its pages are and how to read one."""

    source: str                                   # the key of its cursor in the database
    page_url: Callable[[int, int], str]           # (start, size) -> URL
    parse: Callable[[bytes], tuple[int, int, list[dict]]]  # -> (total, rows read, bands)


def letter_list(letter: str) -> BandList:
    """Browse-by-letter (`/browse/ajax-letter/l/{L}/json/1`)."""
    if letter not in LETTERS:
        raise ValueError(f"{letter!r} is not a browse letter; one of {' '.join(LETTERS)}")

    def page_url(start: int, size: int) -> str:
        query = urlencode({"sEcho": 1, "iDisplayStart": start, "iDisplayLength": size})
        return f"/browse/ajax-letter/l/{letter}/json/1?{query}"

    def parse(content: bytes) -> tuple[int, int, list[dict]]:
        total, bands = parse_browse_json(content)
        return total, len(bands), bands

    return BandList(f"letter:{letter}", page_url, parse)


def artist_list(query: str) -> BandList:
    """The bands of every artist an artist search finds (`/search/ajax-artist-search/`)."""

    def page_url(start: int, size: int) -> str:
        params = {"field": "alias", "query": query, "sEcho": 1, "iDisplayStart": start,
                  "iDisplayLength": size}
        return f"/search/ajax-artist-search/?{urlencode(params)}"

    def parse(content: bytes) -> tuple[int, int, list[dict]]:
        total, artists = parse_artist_search_json(content)
        bands = {band["band_id"]: band for artist in artists for band in artist["bands"]}
        return total, len(artists), list(bands.values())

    return BandList(f"artist:{query}"[:64], page_url, parse)


@dataclass
class Summary:
    """What a run did, for the closing report."""

    list_pages: int = 0
    bands_done: int = 0
    bands_failed: int = 0
    albums: int = 0
    references: int = 0
    images_new: int = 0
    images_reused: int = 0
    failures: list[Failure] = field(default_factory=list)
    stopped: str | None = None
    seconds: float = 0.0
    traffic: Traffic = field(default_factory=Traffic)


class Crawler:
    def __init__(self, store: Store, session: PoliteSession, images: ImageStore | None = None,
                 *, covers: bool = True, progress: bool = False,
                 page_size: int = LIST_PAGE_SIZE):
        self.store = store
        self.session = session
        self.images = images
        self.covers = covers
        self.progress = progress
        self.page_size = page_size
        self.state = CrawlState(store)
        self.summary = Summary()
        self._outage = 0

    def run(self, lists: Sequence[BandList], limit: int | None = None,
            retry_failed: bool = False) -> Summary:
        """Scrape up to `limit` bands (all, if None) from `lists`, in order.

        `self.summary` is kept current, so a caller interrupted by Ctrl-C can still
        report what was done.
        """
        started = time.perf_counter()
        self.summary = summary = Summary(traffic=self.session.traffic)
        if retry_failed:
            self.state.requeue_failed([band_list.source for band_list in lists])
        if self.images is not None:
            self.images.sweep_partial_files()
        remaining = limit
        bar = progress_bar(total=limit, enabled=self.progress, unit="band", desc="scrape", leave=True)
        try:
            for band_list in lists:
                while remaining is None or remaining > 0:
                    batch = self.state.pending(band_list.source, min(remaining or _BATCH, _BATCH))
                    if not batch:
                        if self._read_list_page(band_list):
                            continue
                        break
                    for queued in batch:
                        self._scrape_band(queued)
                        bar.set_postfix(done=summary.bands_done, failed=summary.bands_failed,
                                        refresh=False)
                        bar.update()
                    if remaining is not None:
                        remaining -= len(batch)
        except CrawlStopped as exc:
            summary.stopped = str(exc)
        finally:
            bar.close()
            summary.seconds = time.perf_counter() - started
        return summary

    def _read_list_page(self, band_list: BandList) -> bool:
        """Queue the next page of a list; False when the list is finished or failed."""
        cursor = self.state.cursor(band_list.source)
        if cursor.done:
            return False
        url = band_list.page_url(cursor.next_start, self.page_size)
        try:
            total, rows_read, bands = band_list.parse(self.session.get(url).content)
        except (ScrapeError, FormatError) as exc:
            failure = Failure("list", url, str(exc))
            self.state.record_list_failure(failure)
            self.summary.failures.append(failure)
            return False
        self.state.record_list_page(band_list.source, cursor.next_start, rows_read, total, bands)
        self.summary.list_pages += 1
        return True

    def _fetch(self, failures: list[Failure], kind: str, url: str, parse):
        """Fetch and parse one page; on failure record it and return None."""
        try:
            return parse(self.session.get(url).text)
        except (ScrapeError, ParseError) as exc:
            failures.append(Failure(kind, url, str(exc)))
            return None

    def _scrape_band(self, queued: QueuedBand) -> None:
        band_id = queued.band_id
        failures: list[Failure] = []
        try:
            band = parse_band_page(self.session.get(queued.url).text)
        except (ScrapeError, ParseError) as exc:
            failures.append(Failure("band", queued.url, str(exc)))
            self._save(band_id, None, None, None, None, [], failures)
            outage = isinstance(exc, HTTPFailure) and (exc.status or 500) >= 500
            self._outage = self._outage + 1 if outage else 0
            if self._outage >= MAX_OUTAGE:
                raise SiteDown(f"{MAX_OUTAGE} band pages in a row failed, the last with: "
                               f"{exc}. The site looks down; run again later with "
                               "--retry-failed.") from exc
            return
        self._outage = 0
        if band["band_id"] != band_id:
            failures.append(Failure("band", queued.url, f"band page: the page is band "
                                    f"{band['band_id']}, not the listed {band_id}"))
            self._save(band_id, None, None, None, None, [], failures)
            return
        if band.pop("comment_truncated"):
            band["comment"] = self._fetch(failures, "read-more", _READ_MORE.format(band_id),
                                          parse_read_more) or band["comment"]
        albums = self._fetch(failures, "discography", _DISCOGRAPHY.format(band_id),
                             parse_discography)
        if albums and self.covers:
            for album in albums:
                page = self._fetch(failures, "album", album["url"], parse_album_page)
                album["cover_url"] = page["cover_url"] if page else None
        similar = self._fetch(failures, "similar", _SIMILAR.format(band_id), parse_similar)
        links = self._fetch(failures, "links", _LINKS.format(band_id), parse_links)
        references = self._download_references(band, albums or [], failures)
        self._save(band_id, band, albums, similar, links, references, failures)

    def _download_references(self, band: dict, albums: list[dict],
                             failures: list[Failure]) -> list[dict]:
        """Fetch the logo and covers into the image store; reference rows for the good ones.

        A reference's `source_key` names what it depicts (this band's logo, this album's
        cover), so a re-scrape updates the same row even when the image changed.
        """
        if self.images is None:
            return []
        wanted = [("logo", None, band["logo_url"])] if band["logo_url"] else []
        wanted += [("album", album["album_id"], album["cover_url"])
                   for album in albums if album.get("cover_url")]
        rows = []
        for kind, album_id, url in wanted:
            try:
                stored = self.images.add(
                    self.session.get(url, max_bytes=self.images.max_bytes).content)
            except (ScrapeError, ImageRefused) as exc:
                failures.append(Failure("image", url, f"image refused: {exc}"))
                continue
            if stored.new:
                self.summary.images_new += 1
            else:
                self.summary.images_reused += 1
            rows.append({
                "band_id": band["band_id"], "album_id": album_id, "kind": kind,
                "path": str(stored.path), "sha256": stored.facts.sha256,
                "width": stored.facts.width, "height": stored.facts.height,
                "source_key": f"ma:{kind}:{band['band_id']}:{album_id or 0}",
            })
        return rows

    def _save(self, band_id: int, band: dict | None, albums: list[dict] | None,
              similar: list[dict] | None, links: list[dict] | None, references: list[dict],
              failures: list[Failure]) -> None:
        """Everything one band gave, and its new queue state, in one transaction.

        Should the database refuse the band's rows (data no page has shown so far), the
        band is marked failed with the database's message instead, so that one odd page
        cannot wedge the crawl; a database that is down still raises.
        """
        store, state = self.store, self.state
        try:
            with store.begin() as conn:
                if band is not None:
                    store.upsert("bands", [band], conn=conn)
                if albums:
                    store.upsert("albums", [{**album, "band_id": band_id} for album in albums],
                                 conn=conn)
                if similar is not None:
                    state.replace_children(conn, "similar_bands", band_id, similar)
                if links is not None:
                    state.replace_children(conn, "band_links", band_id, links)
                store.upsert("references", references, conn=conn, key=["source_key"])
                state.record_failures(conn, band_id, failures)
                state.finish_band(conn, band_id, failed=bool(failures))
        except (sa.exc.IntegrityError, sa.exc.DataError, StoreError) as exc:
            albums, references = None, []
            failures = [*failures, Failure("database", None, f"rows refused: {exc}")]
            with store.begin() as conn:
                state.record_failures(conn, band_id, failures)
                state.finish_band(conn, band_id, failed=True)
        summary = self.summary
        summary.failures.extend(failures)
        summary.albums += len(albums or [])
        summary.references += len(references)
        if failures:
            summary.bands_failed += 1
        else:
            summary.bands_done += 1
