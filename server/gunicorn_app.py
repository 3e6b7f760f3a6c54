"""Runs a Flask app factory under gunicorn, the production WSGI server, in-process.

gunicorn's `BaseApplication` takes its settings from code rather than a config file and
calls `load()` in each worker after the fork (the app is not preloaded in the master).
So every worker builds its own identifier, model and database pool, and no TensorFlow
state or socket is shared across a fork.
"""

from __future__ import annotations

from collections.abc import Callable

from gunicorn.app.base import BaseApplication


class FactoryApplication(BaseApplication):
    """A gunicorn application whose WSGI app comes from `factory()`, once per worker."""

    def __init__(self, factory: Callable, options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()
