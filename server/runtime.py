"""Builds the production app from an index: the real identifier, the configured database.

The identification pipeline lives in `retrieval.pipeline`, which is expected to provide
`load_identifier(index_path: pathlib.Path) -> retrieval.identify_api.Identifier`. It is
imported only here and only when a server starts, so that the rest of the server (and its
tests) never pays for importing TensorFlow, and so that a checkout where the pipeline is
not there yet fails with one clear message instead of an import traceback per worker.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from flask import Flask

from retrieval.identify_api import Identifier
from server.app import create_app

PIPELINE_MODULE = "retrieval.pipeline"
PIPELINE_FACTORY = "load_identifier"


class PipelineUnavailable(RuntimeError):
    """The identification pipeline cannot be loaded in this installation."""


def check_pipeline() -> None:
    """Fail fast, without importing it, when the pipeline module is absent."""
    if importlib.util.find_spec(PIPELINE_MODULE) is None:
        raise PipelineUnavailable(
            f"the identification pipeline ({PIPELINE_MODULE.replace('.', '/')}.py) is not "
            "available in this installation yet, so `kyb serve` has nothing to serve"
        )


def load_identifier(index_path: Path) -> Identifier:
    """The real identifier for the index bundle at `index_path`."""
    check_pipeline()
    module = importlib.import_module(PIPELINE_MODULE)
    factory = getattr(module, PIPELINE_FACTORY, None)
    if factory is None:
        raise PipelineUnavailable(f"{PIPELINE_MODULE} has no {PIPELINE_FACTORY}(index_path)")
    return factory(Path(index_path))


def production_app(index_path: Path) -> Flask:
    """The app for one server process: its own identifier and database connections."""
    return create_app(load_identifier(index_path))
