"""A polite HTTP client for metal-archives.com: robots.txt, a rate limit, retries, and
a clean stop when the site puts up a Cloudflare challenge.

Metal Archives is a volunteer-run site; being blocked helps nobody. So by default:
one request a second (or the robots.txt Crawl-delay, if longer), an identifying
User-Agent, robots.txt honoured, and on 429/5xx/timeouts an exponential backoff that
also honours Retry-After. A Cloudflare challenge means "a browser is required": retrying
would only look more like an attack, so it raises `ChallengeBlocked` and the crawl stops.

Every wait goes through injectable `sleep`/`clock`, so tests run the same logic with
tiny delays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests

DEFAULT_BASE_URL = "https://www.metal-archives.com"
#: Hosts whose absolute URLs (as written in the site's pages) are fetched from the
#: configured base URL instead, so a test server or a mirror serves the whole crawl.
SITE_HOSTS = ("www.metal-archives.com", "metal-archives.com")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Markers of Cloudflare's "checking your browser" and block pages.
CHALLENGE_MARKERS = (
    b"cf-browser-verification", b"challenge-platform", b"cf_chl_opt", b"cf-chl-",
    b"<title>just a moment...</title>", b"attention required! | cloudflare",
)
_TRANSIENT = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
              requests.exceptions.ContentDecodingError)
_CHUNK = 64 * 1024
#: Enough of an error page to recognise a challenge in it.
_ERROR_BODY_LIMIT = 256 * 1024


def _package_version() -> str:
    try:
        return version("know-your-bands")
    except PackageNotFoundError:
        return "dev"


def user_agent(contact: str | None = None) -> str:
    """An honest User-Agent: who we are, that we are a bot, and how to reach us."""
    agent = f"KnowYourBands/{_package_version()} (band-database scraper; 1 request/s"
    if contact:
        agent += f"; contact: {contact}"
    return agent + f") python-requests/{requests.__version__}"


class ScrapeError(Exception):
    """A request that did not give a usable answer; recorded, and the crawl goes on."""


class HTTPFailure(ScrapeError):
    def __init__(self, url: str, message: str, status: int | None = None):
        super().__init__(f"{message} at {url}")
        self.url = url
        self.status = status


class RobotsDisallowed(ScrapeError):
    """robots.txt forbids this URL to our User-Agent."""


class TooLarge(ScrapeError):
    """A download over its size cap, refused before it fills memory."""


class CrawlStopped(Exception):
    """Going on would be impolite or pointless: the whole crawl stops (state is kept)."""


class ChallengeBlocked(CrawlStopped):
    """The site answered with a Cloudflare challenge: stop, do not retry."""


class RobotsUnavailable(CrawlStopped):
    """robots.txt could not be read, so the rules are unknown: do not crawl."""


@dataclass
class Politeness:
    """How gently to crawl. Defaults suit the real site; tests shrink the waits."""

    delay: float = 1.0          # seconds between the starts of two requests
    retries: int = 5            # further attempts after a 429, 5xx or timeout
    backoff: float = 2.0        # first wait before a retry; doubles each time
    max_backoff: float = 300.0  # cap on any single wait, Retry-After included
    timeout: float = 30.0       # connect and read timeout, seconds


@dataclass(frozen=True)
class Page:
    """A successful answer: the final URL, status, Content-Type and the body bytes."""

    url: str
    status: int
    content_type: str
    content: bytes

    @property
    def text(self) -> str:
        """The body as text: the declared charset, else UTF-8 (what the site serves)."""
        charset = "utf-8"
        for part in self.content_type.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


@dataclass
class Traffic:
    """Counters for the scrape summary."""

    requests: int = 0
    retries: int = 0
    waited_s: float = 0.0
    bytes: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class PoliteSession:
    """GETs against one site, each one rate-limited, robots-checked and retried."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, politeness: Politeness | None = None,
                 *, contact: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.base_url = base_url.rstrip("/")
        self.politeness = politeness or Politeness()
        self.user_agent = user_agent(contact)
        self.traffic = Traffic()
        self._sleep = sleep
        self._clock = clock
        self._last_start: float | None = None
        self._robots: RobotFileParser | None = None
        self._session = requests.Session()
        self._session.headers.update({
            "User-Agent": self.user_agent,
            "Accept": "text/html,application/json;q=0.9,*/*;q=0.8",
        })

    def close(self) -> None:
        self._session.close()

    def resolve(self, url: str) -> str:
        """Where to fetch `url`: relative URLs and the site's own absolute URLs go to the
        base URL; other hosts are left alone."""
        parts = urlsplit(url)
        if not parts.netloc:
            return urljoin(self.base_url + "/", url.lstrip("/"))
        if parts.netloc.lower() in SITE_HOSTS:
            return self.base_url + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return url

    def get(self, url: str, *, max_bytes: int | None = None) -> Page:
        """GET `url` politely; raise a ScrapeError subclass for this page, or a
        CrawlStopped subclass when the whole crawl must stop."""
        target = self.resolve(url)
        robots = self._robots_rules()
        if not robots.can_fetch(self.user_agent, target):
            raise RobotsDisallowed(f"robots.txt disallows {target}")
        return self._fetch(target, max_bytes)

    def _robots_rules(self) -> RobotFileParser:
        """robots.txt, read once. Absent (4xx) allows everything; 401/403 forbid
        everything (urllib's convention); unreachable stops the crawl, since crawling
        without knowing the rules is not polite."""
        if self._robots is None:
            rules = RobotFileParser()
            try:
                page = self._fetch(self.base_url + "/robots.txt", 512 * 1024)
                rules.parse(page.text.splitlines())
            except HTTPFailure as exc:
                if exc.status in (401, 403):
                    rules.disallow_all = True
                elif exc.status is not None and 400 <= exc.status < 500:
                    rules.allow_all = True
                else:
                    raise RobotsUnavailable(f"cannot read robots.txt, not crawling: {exc}") \
                        from exc
            delay = rules.crawl_delay(self.user_agent)
            if delay:
                self.politeness.delay = max(self.politeness.delay, float(delay))
            self._robots = rules
        return self._robots

    def _wait_turn(self) -> None:
        if self._last_start is not None:
            wait = self._last_start + self.politeness.delay - self._clock()
            if wait > 0:
                self._pause(wait)
        self._last_start = self._clock()

    def _pause(self, seconds: float) -> None:
        self.traffic.waited_s += seconds
        self._sleep(seconds)

    def _fetch(self, url: str, max_bytes: int | None) -> Page:
        attempt = 0
        while True:
            self._wait_turn()
            self.traffic.requests += 1
            retry_after = None
            try:
                with self._session.get(url, stream=True, timeout=self.politeness.timeout,
                                       allow_redirects=True) as response:
                    status = response.status_code
                    self.traffic.statuses[status] = self.traffic.statuses.get(status, 0) + 1
                    if 200 <= status < 300:
                        content = self._read(response, url, max_bytes)
                        return Page(response.url, status,
                                    response.headers.get("Content-Type", ""), content)
                    body = self._read(response, url, _ERROR_BODY_LIMIT, truncate=True)
                    if is_challenge(status, response.headers, body):
                        raise ChallengeBlocked(
                            f"{url} answered HTTP {status} with a Cloudflare challenge: the "
                            "site wants a browser check, which a polite scraper does not try "
                            "to pass. Stopping now; the scrape state is saved, so run the "
                            "same command again later to resume.")
                    if status not in RETRY_STATUSES:
                        raise HTTPFailure(url, f"HTTP {status}", status)
                    problem = f"HTTP {status}"
                    retry_after = _retry_after(response.headers.get("Retry-After"))
            except _TRANSIENT as exc:
                status, problem = None, f"{type(exc).__name__} ({exc})"
            if attempt >= self.politeness.retries:
                raise HTTPFailure(url, f"gave up after {attempt + 1} attempts, last: {problem}",
                                  status)
            wait = self.politeness.backoff * 2 ** attempt if retry_after is None else retry_after
            self.traffic.retries += 1
            self._pause(min(wait, self.politeness.max_backoff))
            attempt += 1

    def _read(self, response: requests.Response, url: str, max_bytes: int | None,
              truncate: bool = False) -> bytes:
        """The body, refusing (or, for error pages, cutting) anything over `max_bytes`."""
        declared = response.headers.get("Content-Length", "")
        if max_bytes and not truncate and declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge(f"{url} is {int(declared)} bytes, over the {max_bytes}-byte cap")
        chunks, size = [], 0
        for chunk in response.iter_content(_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if max_bytes and size > max_bytes:
                if truncate:
                    break
                raise TooLarge(f"{url} is over the {max_bytes}-byte cap")
        self.traffic.bytes += size
        return b"".join(chunks)


def is_challenge(status: int, headers, body: bytes) -> bool:
    """A Cloudflare challenge or block page (403/503 with Cloudflare's markers)."""
    if status not in (403, 503):
        return False
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    lowered = body.lower()
    return any(marker in lowered for marker in CHALLENGE_MARKERS)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
