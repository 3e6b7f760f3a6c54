"""`kyb serve`: the JSON API and the web page under gunicorn, several workers."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import click

from kyb.db_cmd import database_option, opened_store
from retrieval.config import DATABASE_URL_ENV

#: What a newcomer without an index is told.
GET_AN_INDEX = ("build one with `kyb index build --dataset DIR --out INDEX`, or run `kyb demo` "
                "and then the `kyb serve` command it prints")


def check_index(index_path: Path | None) -> None:
    """Stop with one line, before any worker starts, unless `index_path` is an index bundle
    whose every file matches its checksum (checked once here: the workers open it unchecked)."""
    from matching.bundle import BundleError, open_generation

    if index_path is None:
        raise click.ClickException(f"which index? pass --index INDEX; {GET_AN_INDEX}")
    if not index_path.exists():
        raise click.ClickException(f"{index_path}: no such folder; {GET_AN_INDEX}")
    try:
        open_generation(index_path, verify=True)
    except BundleError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.option("--index", "index_path", type=click.Path(path_type=Path),
              help="The index bundle written by `kyb index build` (or by `kyb demo`).")
@database_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; each loads its own models and reads the one bundle (page cache).")
@click.option("--timeout", default=120, show_default=True, type=click.IntRange(10, 3600),
              help="Seconds a request may take before its worker is restarted.")
def serve(index_path: Path | None, url: str | None, host: str, port: int, workers: int, timeout: int):
    """Serve POST /api/v1/identify, the band lookups and the web page on HOST:PORT.

    Problems found before the workers start (no index, no database) stop here with one
    message, rather than in every worker.
    """
    from server.gunicorn_app import FactoryApplication
    from server.runtime import production_app

    check_index(index_path)
    try:
        with opened_store(url, create=False):
            pass  # each worker opens its own; this checks the database once, before they start
    except click.ClickException as exc:
        raise click.ClickException(f"{exc.message}, or name another with --database URL") from exc
    if url:  # the workers open the database named there
        os.environ[DATABASE_URL_ENV] = url
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",  # one request at a time per worker: the models are not shared
        "timeout": timeout,
        "accesslog": "-",
    }
    FactoryApplication(partial(production_app, index_path), options).run()
