"""A local Metal Archives for the scraper tests: a real HTTP server on 127.0.0.1 serving
the fixture pages under their real URL paths, generated PNG images, and switchable faults."""

import contextlib
import hashlib
import io
import json
import re
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from tests.conftest import REPO_ROOT

MINI = REPO_ROOT / "tests" / "fixtures" / "metal-archives-mini"
MA = "https://www.metal-archives.com"
CHALLENGE_PAGE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                  b"<div id=\"challenge-platform\"></div><script>window._cf_chl_opt={}</script>"
                  b"</body></html>")


def png_bytes(seed: str, size=(24, 16)) -> bytes:
    """A small PNG whose colour depends on `seed`, so distinct URLs give distinct files."""
    digest = hashlib.sha256(seed.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", size, tuple(digest[:3])).save(buffer, "PNG")
    return buffer.getvalue()


class FakeSite:
    """Metal Archives in miniature. Pages are registered per band id and served under the
    site's URL paths; faults are queued per path (one-shot) or set for good."""

    def __init__(self):
        #: The bytes served for an image path (tests that match images serve real-looking ones).
        self.image_for = png_bytes
        self.bands: dict[int, dict[str, str]] = {}
        self.albums: dict[int, str] = {}
        self.letters: dict[str, list[dict]] = defaultdict(list)
        self.searches: dict[str, str] = {}
        self.faults: dict[str, deque] = defaultdict(deque)
        self.always: dict[str, str] = {}
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self.page_size = 2
        self.hang_s = 0.8
        self.huge_bytes = 3 * 1024 * 1024
        self.seen: list[tuple[str, str]] = []  # (path, User-Agent)
        self.lock = threading.Lock()
        self.server = None

    # -- content ----------------------------------------------------------------------

    def add_band(self, root: Path, band_file: str, letter: str, status="Active") -> int:
        """Serve a band's saved pages (those that exist under `root`) and list it."""
        page = (root / "band" / band_file).read_text(encoding="utf-8")
        band_id = int(re.search(r"_(\d+)\.html$", band_file).group(1))
        self._register(band_id, page, {
            "read-more": root / "read-more" / f"{band_id}.html",
            "discography": root / "discography" / f"{band_id}_all.html",
            "similar": root / "similar" / f"{band_id}.html",
            "links": root / "links" / f"{band_id}.html",
        }, letter, status)
        for album in (root / "album").glob("*.html") if (root / "album").is_dir() else ():
            self.albums[int(album.stem)] = album.read_text(encoding="utf-8")
        return band_id

    def add_clone(self, band_id: int, letter: str, name: str | None = None) -> None:
        """Band 9000001 of the mini fixtures again, under another id (its albums too)."""
        name = name or f"Clone {band_id}"

        def clone(text: str) -> str:
            return text.replace("9000001", str(band_id)).replace("Xénophobic Mårch", name) \
                .replace("Xenophobic_March", "Clone")

        page = clone((MINI / "band" / "Xenophobic_March_9000001.html").read_text("utf-8"))
        self._register(band_id, page, {
            kind: (MINI / kind / file, clone)
            for kind, file in (("read-more", "9000001.html"),
                               ("discography", "9000001_all.html"),
                               ("similar", "9000001.html"), ("links", "9000001.html"))
        }, letter, "Active")
        for album in (MINI / "album").glob("9000001*.html"):
            self.albums[int(clone(album.stem))] = clone(album.read_text("utf-8"))

    def _register(self, band_id, page, parts, letter, status):
        pages = {"band": page}
        for kind, source in parts.items():
            path, transform = source if isinstance(source, tuple) else (source, str)
            if path.exists():
                pages[kind] = transform(path.read_text(encoding="utf-8"))
        self.bands[band_id] = pages
        url = re.search(r'<h1 class="band_name"><a href="([^"]+)">([^<]+)</a>', page)
        self.letters[letter].append({"url": url.group(1), "name": url.group(2),
                                     "status": status, "id": band_id})

    def band_path(self, band_id: int) -> str:
        entry = next(e for entries in self.letters.values() for e in entries if e["id"] == band_id)
        return urlsplit(entry["url"]).path

    # -- serving ----------------------------------------------------------------------

    def route(self, path: str, query: dict) -> tuple[int, str, bytes]:
        html = "text/html; charset=UTF-8"
        if path == "/robots.txt":
            return (200, "text/plain", self.robots.encode()) if self.robots is not None \
                else (404, "text/plain", b"no robots")
        if match := re.fullmatch(r"/browse/ajax-letter/l/([^/]+)/json/1", path):
            return 200, "application/json", self._browse(match.group(1), query)
        if path == "/search/ajax-artist-search/":
            found = self.searches.get(query.get("query", [""])[0])
            return (200, "application/json", found.encode()) if found else (404, html, b"")
        if match := re.fullmatch(r"/bands/[^/]+/(\d+)", path):
            return self._band_part(int(match.group(1)), "band")
        for kind, pattern in (("read-more", r"/band/read-more/id/(\d+)"),
                              ("discography", r"/band/discography/id/(\d+)/tab/all"),
                              ("similar", r"/band/ajax-recommendations/id/(\d+)/showMoreSimilar/1"),
                              ("links", r"/link/ajax-list/type/band/id/(\d+)")):
            if match := re.fullmatch(pattern, path):
                return self._band_part(int(match.group(1)), kind)
        if match := re.fullmatch(r"/albums/[^/]+/[^/]+/(\d+)", path):
            album_id = int(match.group(1))
            return 200, html, self.albums.get(album_id, self._generated_album(album_id)).encode()
        if path.startswith("/images/"):
            return 200, "image/png", self.image_for(path)
        return 404, html, b"<html><body>Not found</body></html>"

    def _band_part(self, band_id, kind):
        page = self.bands.get(band_id, {}).get(kind)
        if page is None:
            return 404, "text/html", b"<html><body>Not found</body></html>"
        return 200, "text/html; charset=UTF-8", page.encode("utf-8")

    @staticmethod
    def _generated_album(album_id: int) -> str:
        """An album page for albums of the real bands (the shared fixtures have none)."""
        return (f'<html><body><div class="album_img"><a class="image" id="cover" '
                f'href="{MA}/images/covers/{album_id}.jpg?1"></a></div>'
                f'<h1 class="album_name"><a href="{MA}/albums/B/A/{album_id}">Album {album_id}'
                "</a></h1></body></html>")

    def _browse(self, letter, query) -> bytes:
        entries = self.letters.get(letter, [])
        start = int(query.get("iDisplayStart", ["0"])[0])
        size = min(int(query.get("iDisplayLength", ["500"])[0]), self.page_size)
        rows = [[f"<a href='{e['url']}'>{e['name']}</a>", "Norway", "Black Metal",
                 f'<span class="active">{e["status"]}</span>']
                for e in entries[start:start + size]]
        return json.dumps({"iTotalRecords": len(entries), "iTotalDisplayRecords": len(entries),
                           "sEcho": 1, "aaData": rows}).encode()

    def fault(self, path: str) -> str | None:
        with self.lock:
            if self.faults[path]:
                return self.faults[path].popleft()
            return self.always.get(path)

    def __enter__(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                with site.lock:
                    site.seen.append((parts.path, self.headers.get("User-Agent", "")))
                # A client that gave up (the timeout tests) has nobody left to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(parts.path, parse_qs(parts.query))

            def _answer(self, path, query):
                fault = site.fault(path)
                if fault == "hang":
                    time.sleep(site.hang_s)
                status, content_type, body = site.route(path, query)
                headers = {"Content-Type": content_type}
                if fault == "429":
                    status, body, headers["Retry-After"] = 429, b"slow down", "1"
                elif fault in ("500", "404", "403"):
                    status, body = int(fault), b"<html><body>Error</body></html>"
                elif fault == "challenge":
                    status, body, headers["Content-Type"] = 403, CHALLENGE_PAGE, "text/html"
                elif fault == "challenge-header":
                    status, body, headers["cf-mitigated"] = 503, b"<html></html>", "challenge"
                elif fault == "truncate":
                    body = body[: len(body) // 2]
                elif fault == "notimage":
                    body, headers["Content-Type"] = b"<html><body>hotlink</body></html>", \
                        "image/jpeg"
                elif fault in ("huge", "huge-unsized"):
                    body = png_bytes(path) + b"\0" * site.huge_bytes
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if fault != "huge-unsized":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if fault == "cut":  # promise the whole body, send half, hang up
                    self.wfile.write(body[: len(body) // 2])
                    return
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"
