"""Builds the production app from an index: the real identifier, the configured database.

`retrieval.pipeline` is imported inside `production_app`, which runs in each gunicorn
worker, so that importing `server` (the master process, the tests) does not import
TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from server.app import create_app


def production_app(index_path: Path) -> Flask:
    """The app for one server process: its own identifier and database connections."""
    from retrieval.pipeline import load_identifier

    return create_app(load_identifier(Path(index_path)))
