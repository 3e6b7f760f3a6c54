"""`kyb scrape`: grow the band database and the image store from Metal Archives."""

from __future__ import annotations

from pathlib import Path

import click

from kyb.db_cmd import database_option, opened_store
from retrieval.config import data_dir
from scraper.crawl import LETTERS, Crawler, Summary, artist_list, letter_list
from scraper.http import DEFAULT_BASE_URL, Politeness, PoliteSession
from scraper.images import DEFAULT_MAX_BYTES, ImageStore

#: Exit status when the crawl stopped early: a Cloudflare challenge, robots.txt
#: unreadable, or the site down.
EXIT_STOPPED = 3


def _letters(_ctx, _param, value: str | None) -> list[str]:
    letters = [part.strip().upper() for part in (value or "").split(",") if part.strip()]
    bad = [letter for letter in letters if letter not in LETTERS]
    if bad:
        raise click.BadParameter(f"{', '.join(bad)}: letters are {' '.join(LETTERS)}")
    return letters


@click.command()
@click.option("--letters", callback=_letters, metavar="A,B,...",
              help="Browse letters to scrape, in order (A-Z, NBR for digits, ~ for others).")
@click.option("--artist", "artists", multiple=True, metavar="NAME",
              help="Also scrape the bands of the artists an artist search for NAME finds "
                   "(repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="Scrape at most N bands this run.")
@click.option("--images", "images_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Image store for logos and covers (default: $KYB_DATA_DIR/images).")
@click.option("--no-images", is_flag=True, help="Do not download logos and covers.")
@click.option("--covers/--no-covers", default=True, show_default=True,
              help="Read each album's page for its cover (one more request per album).")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True,
              help="Site to crawl (a mirror or a local test server).")
@click.option("--delay", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds between requests (robots.txt Crawl-delay wins if longer).")
@click.option("--retries", default=5, show_default=True, type=click.IntRange(min=0),
              help="Retries after a 429, 5xx or timeout.")
@click.option("--backoff", default=2.0, show_default=True, type=click.FloatRange(min=0),
              help="First retry wait in seconds; doubles each retry (Retry-After wins).")
@click.option("--max-backoff", default=300.0, show_default=True, type=click.FloatRange(min=0),
              help="Cap on any single wait, Retry-After included.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Connect and read timeout in seconds.")
@click.option("--max-image-bytes", default=DEFAULT_MAX_BYTES, show_default=True,
              type=click.IntRange(min=1), help="Refuse larger downloads as logos or covers.")
@click.option("--contact", metavar="EMAIL/URL", help="Contact put in the User-Agent.")
@click.option("--retry-failed", is_flag=True, help="Try again the bands that failed before.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@database_option
def scrape(letters, artists, limit, images_dir, no_images, covers, base_url, delay, retries,
           backoff, max_backoff, timeout, max_image_bytes, contact, retry_failed, progress, url):
    """Scrape Metal Archives bands into the band database and the image store.

    Polite by default (robots.txt, one request a second, retries with backoff, a stop
    on a Cloudflare challenge, an unreadable robots.txt or a site that stops answering)
    and resumable: the
    state lives in the database, so running the same command again after a crash or
    Ctrl-C continues where it stopped.
    """
    if not letters and not artists:
        raise click.UsageError("say what to scrape: --letters A,B and/or --artist NAME")
    politeness = Politeness(delay=delay, retries=retries, backoff=backoff,
                            max_backoff=max_backoff, timeout=timeout)
    images = None if no_images else ImageStore(images_dir or data_dir() / "images",
                                               max_bytes=max_image_bytes)
    lists = [letter_list(letter) for letter in letters] + [artist_list(a) for a in artists]
    with opened_store(url, create=True) as store:
        session = PoliteSession(base_url, politeness, contact=contact)
        crawler = Crawler(store, session, images, covers=covers, progress=progress)
        try:
            summary = crawler.run(lists, limit=limit, retry_failed=retry_failed)
        except KeyboardInterrupt:
            _report(crawler.summary, store, images)
            click.echo("interrupted: the state is saved; run the same command to resume",
                       err=True)
            raise SystemExit(130) from None
        finally:
            session.close()
        _report(summary, store, images)
    if summary.stopped:
        click.secho(f"stopped: {summary.stopped}", fg="red", err=True)
        raise SystemExit(EXIT_STOPPED)


def _report(summary: Summary, store, images: ImageStore | None) -> None:
    traffic = summary.traffic
    scraped = summary.bands_done + summary.bands_failed
    lines = [
        f"scraped {scraped} bands in {summary.seconds:.1f} s "
        f"({summary.bands_failed} with failed pages)",
        f"  albums        {summary.albums}",
        f"  references    {summary.references}"
        + (f" (images: {summary.images_new} new, {summary.images_reused} already stored, "
           f"in {images.root})" if images else " (images not downloaded)"),
        f"  list pages    {summary.list_pages}",
        f"  requests      {traffic.requests} ({traffic.retries} retries, "
        f"{traffic.waited_s:.1f} s waited, {traffic.bytes / 1e6:.1f} MB)",
    ]
    if summary.failures:
        lines.append(f"  failed pages  {len(summary.failures)} (recorded in scrape_errors):")
        lines += [f"    {f.kind:<12}{f.message}"
                  + ("" if not f.url or f.url in f.message else f" [{f.url}]")
                  for f in summary.failures[:10]]
        if len(summary.failures) > 10:
            lines.append(f"    ... and {len(summary.failures) - 10} more")
    queue = store.count_by("scrape_queue", "status")
    lines.append(f"  database      {store.display_url}: {store.counts()['bands']} bands; "
                 "queue " + ", ".join(f"{k} {n}" for k, n in sorted(queue.items())))
    click.echo("\n".join(lines))
