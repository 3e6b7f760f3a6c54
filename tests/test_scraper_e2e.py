"""End-to-end scrapes against a local Metal Archives: a real HTTP server on 127.0.0.1
serving the fixture pages under their real URL paths, generated PNG images, and
switchable faults (429 then success, 500, a hang past the client timeout, a truncated
page, a connection cut mid-body, a Cloudflare challenge, non-images, oversized images).

Waits are tiny (or recorded and skipped) so the whole file runs in seconds.
"""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from kyb.cli import cli
from retrieval.store import Store
from scraper.crawl import Crawler, artist_list, letter_list
from scraper.http import Politeness, PoliteSession
from scraper.images import ImageStore
from tests import test_store
from tests.conftest import REPO_ROOT, shared_path
from tests.scraper_site import MA, MINI, FakeSite


@pytest.fixture
def site():
    with FakeSite() as running:
        yield running


# The store suite's fixtures: the in-process scrapes run on SQLite and on MariaDB.
store = test_store.store
mysql_store = test_store.mysql_store


class Waits(list):
    """Stands in for time.sleep: records each wait instead of sleeping."""

    def __call__(self, seconds):
        self.append(round(seconds, 3))


def crawler(site, store, tmp_path, sleep=None, **politeness):
    settings = {"delay": 0.0, "retries": 2, "backoff": 0.01, "max_backoff": 5.0,
                "timeout": 0.3, **politeness}
    session = PoliteSession(site.base_url, Politeness(**settings), contact="tests@example.org",
                            sleep=Waits() if sleep is None else sleep)
    return Crawler(store, session, ImageStore(tmp_path / "images", max_bytes=1024 * 1024))


def rows(store, table, **where):
    table = store.schema.table(table)
    query = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def queue_states(store) -> dict[int, str]:
    return {row["band_id"]: row["status"] for row in rows(store, "scrape_queue")}


def test_scrape_with_faults_records_errors_and_goes_on(site, store, tmp_path):
    site.add_band(MINI, "Xenophobic_March_9000001.html", "X")
    site.add_band(MINI, "Xylem_Throne_9000002.html", "X", status="Changed name")
    for band_id in (9000010, 9000011, 9000012):
        site.add_clone(band_id, "X")
    site.robots = ("User-agent: *\nDisallow: /private/\n"
                   "Disallow: /band/ajax-recommendations/id/9000010/\n")
    site.faults["/browse/ajax-letter/l/X/json/1"].append("429")
    site.faults["/bands/Xenophobic_March/9000001"].append("500")
    site.faults["/bands/Xylem_Throne/9000002"].append("cut")
    site.faults["/band/discography/id/9000010/tab/all"].append("hang")
    site.always["/bands/Clone/9000011"] = "truncate"
    site.always["/albums/Clone/%C3%98delagt/9000012002"] = "500"
    site.always["/images/9/0/0/0/9000012_logo.png"] = "notimage"
    site.always["/images/9/0/0/0/9000010001.jpg"] = "huge"

    waits = Waits()
    run = crawler(site, store, tmp_path, sleep=waits)
    summary = run.run([letter_list("X")])

    assert summary.stopped is None and summary.list_pages == 3
    assert (summary.bands_done, summary.bands_failed) == (2, 3)
    assert queue_states(store) == {9000001: "done", 9000002: "done", 9000010: "error",
                                   9000011: "error", 9000012: "error"}
    # Retry-After (1 s) honoured; two exponential backoffs for the persistent 500.
    assert 1.0 in waits and waits.count(0.01) >= 4 and 0.02 in waits
    assert summary.traffic.retries == 6  # 429, 500, cut, hang, 500 twice

    errors = {(e["band_id"], e["kind"]): e for e in rows(store, "scrape_errors")}
    assert sorted(errors) == [(9000010, "image"), (9000010, "similar"), (9000011, "band"),
                              (9000012, "album"), (9000012, "image")]
    assert "robots.txt disallows" in errors[(9000010, "similar")]["message"]
    assert "over the 1048576-byte cap" in errors[(9000010, "image")]["message"]
    assert "the page is truncated" in errors[(9000011, "band")]["message"]
    assert "gave up after 3 attempts, last: HTTP 500" in errors[(9000012, "album")]["message"]
    assert "not a decodable image" in errors[(9000012, "image")]["message"]
    assert errors[(9000012, "image")]["url"] == f"{MA}/images/9/0/0/0/9000012_logo.png?1111"

    assert len(rows(store, "bands")) == 5
    assert len(rows(store, "albums")) == 9
    assert len(rows(store, "references")) == 6
    assert len(rows(store, "similar_bands")) == 4
    assert len(rows(store, "band_links")) == 6
    first = store.get_bands([9000001])[9000001]
    assert first["comment"].endswith("- 2013: Ødegård joined on drums")  # from read-more
    assert first["themes"] == "Winter, Warfare & Ruin"
    assert store.get_bands([9000011])[9000011]["name"] == "Clone 9000011"  # from the list

    images = sorted((tmp_path / "images").glob("??/*.png"))
    assert len(images) == 6
    for reference in rows(store, "references"):
        path = Path(reference["path"])
        assert path.name == f"{reference['sha256']}.png"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == reference["sha256"]
        assert (reference["width"], reference["height"]) == (24, 16)

    # The site recovers; a second run retries the failed bands and cleans their errors.
    site.faults.clear()
    site.always.clear()
    site.robots = ""
    summary = crawler(site, store, tmp_path).run([letter_list("X")], retry_failed=True)
    assert (summary.bands_done, summary.bands_failed) == (3, 0)
    assert set(queue_states(store).values()) == {"done"}
    assert rows(store, "scrape_errors") == []
    assert len(rows(store, "albums")) == 12
    assert len(rows(store, "references")) == 12
    assert len(rows(store, "similar_bands")) == 8
    assert len(rows(store, "band_links")) == 8
    assert len(list((tmp_path / "images").glob("??/*.png"))) == 12
    assert all("KnowYourBands/" in agent and "tests@example.org" in agent
               for _path, agent in site.seen)


def test_scrape_of_the_real_pages(site, store, tmp_path):
    root = shared_path("fixtures", "metal-archives")
    site.add_band(root, "Pathfinder_122302.html", "P")
    site.add_band(root, "Rhapsody_of_Fire_32.html", "P")
    summary = crawler(site, store, tmp_path).run([letter_list("P")], limit=10)
    assert (summary.bands_done, summary.bands_failed, summary.failures) == (2, 0, [])

    bands = store.get_bands([122302, 32])
    assert bands[122302]["location"] == "Poznań, Wielkopolskie"
    assert bands[32]["comment"].startswith("Not to be confused with the Genova band Rhapsody")
    assert bands[32]["comment"].endswith("A Tribute to Helloween (Arise Records)")  # read-more
    assert len(rows(store, "albums", band_id=122302)) == 5
    assert len(rows(store, "albums", band_id=32)) == 36
    assert all(album["cover_url"] for album in rows(store, "albums"))
    assert len(rows(store, "references")) == 2 + 41
    assert len(rows(store, "references", kind="logo")) == 2
    assert len(rows(store, "similar_bands", band_id=32)) == 93
    top = store.get_similar(32, 5)  # the band card's "similar bands", most recommended first
    assert len(top) == 5 and [b["score"] for b in top] == sorted((b["score"] for b in top), reverse=True)
    assert top[0]["score"] == max(row["score"] for row in rows(store, "similar_bands", band_id=32))
    assert len(rows(store, "band_links", band_id=122302)) == 12


def test_artist_search_queues_the_artists_bands(site, store, tmp_path):
    site.add_band(MINI, "Xenophobic_March_9000001.html", "X")
    site.add_band(MINI, "Xylem_Throne_9000002.html", "X")
    site.searches["Xeno"] = (MINI / "search" / "artist_Xeno.json").read_text("utf-8")
    summary = crawler(site, store, tmp_path).run([artist_list("Xeno")])
    assert (summary.bands_done, summary.list_pages) == (2, 1)
    assert {row["source"] for row in rows(store, "scrape_queue")} == {"artist:Xeno"}


def test_cloudflare_challenge_stops_the_scrape_and_resume_finishes(site, tmp_path):
    site.add_band(MINI, "Xenophobic_March_9000001.html", "X")
    site.add_band(MINI, "Xylem_Throne_9000002.html", "X")
    site.always["/bands/Xylem_Throne/9000002"] = "challenge"
    database = f"sqlite:///{tmp_path / 'kyb.sqlite'}"
    command = ["scrape", "--letters", "X", "--base-url", site.base_url, "--delay", "0",
               "--backoff", "0.01", "--images", str(tmp_path / "images"), "--database",
               database, "--no-progress"]
    runner = CliRunner()

    result = runner.invoke(cli, command)
    assert result.exit_code == 3, result.output
    assert "Cloudflare challenge" in result.output and "run the same command again" in \
        result.output
    assert sum(path.endswith("9000002") for path, _agent in site.seen) == 1  # no retry
    with Store.open(database) as store:
        assert queue_states(store) == {9000001: "done", 9000002: "pending"}
        assert rows(store, "scrape_errors") == []

    site.always.clear()
    result = runner.invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert "scraped 1 bands" in result.output
    with Store.open(database) as store:
        assert queue_states(store) == {9000001: "done", 9000002: "done"}


def test_a_site_that_stops_answering_stops_the_scrape(site, store, tmp_path):
    bands = list(range(9000020, 9000027))
    for band_id in bands:
        site.add_clone(band_id, "D")
        site.always[f"/bands/Clone/{band_id}"] = "500"
    site.page_size = 10
    summary = crawler(site, store, tmp_path, retries=0).run([letter_list("D")])
    assert "5 band pages in a row failed" in summary.stopped
    assert "--retry-failed" in summary.stopped
    states = queue_states(store)
    assert [states[b] for b in bands] == ["error"] * 5 + ["pending"] * 2


def test_unreadable_robots_txt_stops_before_anything_is_crawled(site, store, tmp_path):
    site.add_band(MINI, "Xylem_Throne_9000002.html", "X")
    site.always["/robots.txt"] = "500"
    summary = crawler(site, store, tmp_path, retries=1).run([letter_list("X")])
    assert "cannot read robots.txt" in summary.stopped
    assert [path for path, _agent in site.seen] == ["/robots.txt"] * 2
    assert queue_states(store) == {} and rows(store, "scrape_errors") == []


def test_rows_the_database_refuses_fail_the_band_not_the_crawl(site, store, tmp_path,
                                                               monkeypatch):
    site.add_band(MINI, "Xenophobic_March_9000001.html", "X")
    site.add_band(MINI, "Xylem_Throne_9000002.html", "X")
    run = crawler(site, store, tmp_path)
    replace_children = run.state.replace_children

    def refuse_first_band(conn, table_name, band_id, rows):
        if band_id == 9000001:
            raise sa.exc.IntegrityError("INSERT ...", {}, Exception("duplicate entry"))
        replace_children(conn, table_name, band_id, rows)

    monkeypatch.setattr(run.state, "replace_children", refuse_first_band)
    summary = run.run([letter_list("X")])
    assert (summary.bands_done, summary.bands_failed) == (1, 1)
    assert queue_states(store) == {9000001: "error", 9000002: "done"}
    [error] = rows(store, "scrape_errors")
    assert error["kind"] == "database" and "duplicate entry" in error["message"]
    assert rows(store, "albums") == [] and rows(store, "references") == []  # rolled back


def _count(database: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_kill_9_mid_scrape_then_resume_loses_and_duplicates_nothing(site, tmp_path):
    bands = list(range(9000100, 9000112))
    for band_id in bands:
        site.add_clone(band_id, "K")
    site.page_size = 5
    database = tmp_path / "kyb.sqlite"
    images = tmp_path / "images"
    command = [sys.executable, "-m", "kyb", "scrape", "--letters", "K", "--base-url",
               site.base_url, "--images", str(images), "--delay", "0.01", "--no-progress"]
    env = {**os.environ, "KYB_DATABASE_URL": f"sqlite:///{database}"}
    done = "SELECT COUNT(*) FROM scrape_queue WHERE status = 'done'"

    for kill_after in (3, 7):
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _count(database, done) < kill_after and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
        assert kill_after <= _count(database, done) < len(bands)

    finished = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
    assert finished.returncode == 0, finished.stderr
    with Store.open(f"sqlite:///{database}") as store:
        assert set(queue_states(store)) == set(bands)
        assert set(queue_states(store).values()) == {"done"}
        counts = store.counts()
        assert (counts["bands"], counts["albums"], counts["references"]) == (12, 36, 36)
        assert (counts["similar_bands"], counts["band_links"], counts["scrape_errors"]) == \
            (24, 24, 0)
        references = rows(store, "references")
        assert len({r["source_key"] for r in references}) == 36
        for band_id in bands:
            assert len(rows(store, "albums", band_id=band_id)) == 3
            assert len(rows(store, "references", band_id=band_id)) == 3
    assert sorted(p.name for p in images.glob("??/*.png")) == \
        sorted(Path(r["path"]).name for r in references)
