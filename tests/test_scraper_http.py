"""The polite session on its own, against the local fake site: robots.txt, the rate
limit, Retry-After, exponential backoff, timeouts, challenges and size caps."""

import time
from email.utils import formatdate

import pytest

from scraper.http import (
    ChallengeBlocked,
    HTTPFailure,
    Page,
    Politeness,
    PoliteSession,
    RobotsDisallowed,
    RobotsUnavailable,
    TooLarge,
    _retry_after,
)
from tests import test_scraper_e2e

site = test_scraper_e2e.site  # the fake Metal Archives fixture
MA = test_scraper_e2e.MA


class FakeTime:
    """A clock that only moves when someone sleeps: rate-limit waits become exact."""

    def __init__(self):
        self.now = 100.0
        self.waits = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.waits.append(round(seconds, 3))
        self.now += seconds


def session(site, fake=None, **politeness):
    fake = fake or FakeTime()
    settings = {"delay": 0.0, "retries": 3, "backoff": 0.5, "timeout": 0.3, **politeness}
    return PoliteSession(site.base_url, Politeness(**settings), sleep=fake.sleep,
                         clock=fake.clock)


def paths(site):
    return [path for path, _agent in site.seen]


def test_one_request_a_second_by_default(site):
    fake = FakeTime()
    polite = PoliteSession(site.base_url, sleep=fake.sleep, clock=fake.clock)
    for _ in range(3):
        with pytest.raises(HTTPFailure, match="HTTP 404"):  # the waits are the point here
            polite.get("/page")
    assert fake.waits == [1.0, 1.0, 1.0]  # robots.txt, then three pages, one second apart
    assert polite.traffic.requests == 4


def test_robots_txt_is_honoured_and_read_once(site):
    polite = session(site)
    with pytest.raises(RobotsDisallowed, match="robots.txt disallows"):
        polite.get("/private/secret")
    with pytest.raises(HTTPFailure, match="HTTP 404"):
        polite.get("/public")
    assert paths(site) == ["/robots.txt", "/public"]


def test_robots_crawl_delay_slows_the_crawl(site):
    site.robots = "User-agent: *\nCrawl-delay: 3\n"
    fake = FakeTime()
    polite = session(site, fake, delay=1.0)
    for _ in range(2):
        with pytest.raises(HTTPFailure):
            polite.get("/a")
    assert fake.waits == [3.0, 3.0]


def test_robots_txt_missing_allows_forbidden_disallows_failing_stops(site):
    site.robots = None  # 404: everything allowed
    with pytest.raises(HTTPFailure, match="HTTP 404"):
        session(site).get("/anything")
    site.always["/robots.txt"] = "403"
    with pytest.raises(RobotsDisallowed):
        session(site).get("/anything")
    site.always["/robots.txt"] = "500"
    with pytest.raises(RobotsUnavailable, match="cannot read robots.txt, not crawling"):
        session(site, retries=1, backoff=0.0).get("/anything")
    assert paths(site).count("/anything") == 1  # only where robots.txt allowed it


def test_retry_after_is_honoured_then_success(site):
    site.faults["/bands/Xylem_Throne/9000002"].append("429")
    site.add_band(test_scraper_e2e.MINI, "Xylem_Throne_9000002.html", "X")
    fake = FakeTime()
    page = session(site, fake).get(f"{MA}/bands/Xylem_Throne/9000002")
    assert page.status == 200 and "Xylem Throne" in page.text
    assert fake.waits == [1.0]  # the server's Retry-After, not the 0.5 s backoff
    fake = FakeTime()
    site.faults["/bands/Xylem_Throne/9000002"].append("429")
    session(site, fake, max_backoff=0.25).get(f"{MA}/bands/Xylem_Throne/9000002")
    assert fake.waits == [0.25]  # capped


def test_exponential_backoff_then_a_clear_failure(site):
    site.always["/down"] = "500"
    fake = FakeTime()
    polite = session(site, fake, retries=3, backoff=0.5)
    with pytest.raises(HTTPFailure, match="gave up after 4 attempts, last: HTTP 500") as info:
        polite.get("/down")
    assert info.value.status == 500
    assert fake.waits == [0.5, 1.0, 2.0]
    assert polite.traffic.retries == 3 and paths(site).count("/down") == 4


def test_a_timeout_is_retried(site):
    site.add_band(test_scraper_e2e.MINI, "Xylem_Throne_9000002.html", "X")
    site.faults["/bands/Xylem_Throne/9000002"].append("hang")
    started = time.monotonic()
    polite = session(site, timeout=0.2)
    assert polite.get("/bands/Xylem_Throne/9000002").status == 200
    assert polite.traffic.retries == 1 and time.monotonic() - started < site.hang_s + 0.5


def test_client_errors_are_not_retried(site):
    polite = session(site)
    with pytest.raises(HTTPFailure, match="HTTP 404") as info:
        polite.get("/nowhere")
    assert info.value.status == 404 and polite.traffic.retries == 0


@pytest.mark.parametrize("fault", ["challenge", "challenge-header"])
def test_cloudflare_challenge_raises_at_once(site, fault):
    site.always["/bands/X/1"] = fault
    polite = session(site)
    with pytest.raises(ChallengeBlocked, match="Cloudflare challenge"):
        polite.get("/bands/X/1")
    assert paths(site).count("/bands/X/1") == 1  # never retried


def test_a_plain_403_is_an_ordinary_failure(site):
    site.always["/forbidden"] = "403"
    polite = session(site)
    with pytest.raises(HTTPFailure, match="HTTP 403"):
        polite.get("/forbidden")
    assert polite.traffic.retries == 0


@pytest.mark.parametrize("fault", ["huge", "huge-unsized"])
def test_downloads_over_the_cap_are_refused(site, fault):
    site.always["/images/big.png"] = fault
    with pytest.raises(TooLarge, match="over the 1000000-byte cap"):
        session(site).get("/images/big.png", max_bytes=1_000_000)
    assert session(site).get("/images/small.png", max_bytes=1_000_000).content.startswith(
        b"\x89PNG")


def test_the_site_s_own_urls_are_fetched_from_the_base_url(site):
    polite = session(site)
    assert polite.resolve(f"{MA}/bands/Death/141?x=1") == f"{site.base_url}/bands/Death/141?x=1"
    assert polite.resolve("https://metal-archives.com/images/1.jpg") == \
        f"{site.base_url}/images/1.jpg"
    assert polite.resolve("/band/read-more/id/141") == f"{site.base_url}/band/read-more/id/141"
    assert polite.resolve("https://example.org/a") == "https://example.org/a"


def test_user_agent_identifies_the_scraper(site):
    session(site).get("/robots.txt")
    assert all(agent.startswith("KnowYourBands/") and "python-requests" in agent
               for _path, agent in site.seen)
    contact = PoliteSession(site.base_url, contact="ops@example.org").user_agent
    assert "contact: ops@example.org" in contact


def test_page_text_decoding():
    body = "Tromsø".encode()
    assert Page("u", 200, "text/html", body).text == "Tromsø"
    assert Page("u", 200, "text/html; charset=ISO-8859-1", "ø".encode("latin-1")).text == "ø"
    assert Page("u", 200, "text/html; charset=bogus", body).text == "Tromsø"


def test_retry_after_values():
    assert _retry_after("7") == 7.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    in_a_minute = _retry_after(formatdate(time.time() + 60, usegmt=True))
    assert 55 <= in_a_minute <= 61
