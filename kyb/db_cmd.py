"""`kyb db`: create, fill, inspect and search the band database."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa

from data.dataset import DatasetError
from data.progress import progress_bar
from retrieval.config import DATABASE_URL_ENV
from retrieval.importers import FORMATS, ImportFailed, import_path
from retrieval.store import Store, StoreError

database_option = click.option(
    "--database", "url", metavar="URL", envvar=DATABASE_URL_ENV,
    help=f"SQLAlchemy URL (sqlite:///FILE or mysql+pymysql://user:pw@host/db); default "
         f"${DATABASE_URL_ENV}, else the SQLite file in $KYB_DATA_DIR (~/.local/share/kyb).")


@contextmanager
def opened_store(url: str | None, create: bool):
    """A store, with every database failure turned into a one-line CLI error."""
    try:
        with Store.open(url, create=create) as store:
            yield store
    except (StoreError, ImportFailed, DatasetError) as exc:
        raise click.ClickException(str(exc)) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise click.ClickException(f"database error: {getattr(exc, 'orig', None) or exc}") \
            from exc


@click.group()
def db():
    """The band database: bands, albums and reference images (SQLite or MariaDB/MySQL)."""


@db.command()
@database_option
def init(url):
    """Create the schema (idempotent; refuses a database of another schema version)."""
    with opened_store(url, create=True) as store:
        click.echo(f"band database ready: {store.display_url}")


@db.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="browse: Metal Archives browse-by-letter JSON; roster: CSV band list "
                   "(columns: band_id, name, url, country, location, status, formed_in, "
                   "genre, themes, label, years_active, ...); dataset: a dataset folder "
                   "(bands.csv, albums.csv, references.csv). Default: from each path "
                   "(folder, .json, .csv).")
@database_option
def import_(paths, fmt, url):
    """Import bands (and a dataset's albums and references) from PATHS; re-running an
    import changes nothing."""
    with opened_store(url, create=True) as store:
        for path in paths:
            with progress_bar(desc=path.name, unit="row") as bar:
                report = import_path(store, path, fmt, progress=bar.update)
            click.echo(f"{path}: {report.bands} bands, {report.albums} albums, "
                       f"{report.references} references in {report.seconds:.1f} s"
                       + (f"; {report.skipped} rows skipped" if report.skipped else ""))
            for problem in report.problems:
                click.echo(f"  skipped: {problem}", err=True)


@db.command()
@database_option
def stats(url):
    """Row counts, references by kind and the scrape's progress."""
    with opened_store(url, create=False) as store:
        counts = store.counts()
        click.echo(f"database   {store.display_url}")
        for table in ("bands", "albums", "references", "similar_bands", "band_links"):
            click.echo(f"{table:<14}{counts[table]:>10}")
        kinds = store.count_by("references", "kind")
        if kinds:
            click.echo("references by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        queue = store.count_by("scrape_queue", "status")
        if queue:
            click.echo("scrape queue: " + ", ".join(f"{k} {n}" for k, n in sorted(queue.items()))
                       + f"; {counts['scrape_errors']} failed pages recorded")


@db.command()
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@database_option
def search(query, limit, url):
    """Bands whose name starts with QUERY (case and accents ignored)."""
    with opened_store(url, create=False) as store:
        bands = store.search_bands(query, limit)
    for band in bands:
        click.echo(f"{band['band_id']:>12}  {band['name']}  ({band['country'] or '?'}; "
                   f"{band['genre'] or '?'})  {band['url'] or ''}")
    if not bands:
        click.echo(f"no band name starts with {query!r}", err=True)
