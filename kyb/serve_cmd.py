"""`kyb serve`: the JSON API and the web page under gunicorn, several workers."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click


@click.command()
@click.option("--index", "index_path", required=True,
              type=click.Path(exists=True, path_type=Path),
              help="The index bundle written by `kyb index build`.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; each loads its own copy of the models.")
@click.option("--timeout", default=120, show_default=True, type=click.IntRange(10, 3600),
              help="Seconds a request may take before its worker is restarted.")
def serve(index_path: Path, host: str, port: int, workers: int, timeout: int):
    """Serve POST /api/v1/identify, the band lookups and the web page on HOST:PORT.

    The band database is $KYB_DATABASE_URL (default: the embedded SQLite file).
    Problems found before the workers start (no pipeline, no database) stop here with
    one message, rather than in every worker.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from retrieval.store import Store, StoreError
    from server.gunicorn_app import FactoryApplication
    from server.runtime import PipelineUnavailable, check_pipeline, production_app

    try:
        check_pipeline()
        Store.open().close()
    except (PipelineUnavailable, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database error: {getattr(exc, 'orig', None) or exc}") from exc
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",  # one request at a time per worker: the models are not shared
        "timeout": timeout,
        "accesslog": "-",
    }
    FactoryApplication(partial(production_app, index_path), options).run()
