"""The Flask application factory.

`create_app` takes the identifier as an argument instead of building it, so the same app
runs with the real pipeline under gunicorn (`server.runtime`) and with a small test double
in the tests; the band store defaults to the configured database (`KYB_DATABASE_URL`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from retrieval.identify_api import BandLookup, Identifier
from server.api import api
from server.errors import register_error_handlers
from server.json_provider import ApiJSONProvider
from server.meta import meta
from server.web import web

#: Limits, overridable through `config`. A phone photo is 2-12 MB and 12-50 Mpx.
DEFAULT_CONFIG = {
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    "KYB_MAX_IMAGE_PIXELS": 50_000_000,
    "KYB_SEARCH_DEFAULT_LIMIT": 20,
    "KYB_SEARCH_MAX_LIMIT": 100,
    "KYB_SEARCH_MAX_QUERY": 100,
}
#: Sent with every response. The policy lets the page load only from this server (and
#: show the chosen photo from a blob: URL), so it can never pull code or fonts from the web.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Services:
    """What the views use, kept in `app.extensions["kyb"]`."""

    identifier: Identifier
    store: BandLookup


def _add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def create_app(identifier: Identifier, store: BandLookup | None = None,
               config: dict | None = None) -> Flask:
    """The app around `identifier`; `store` answers band lookups (default: the database)."""
    if store is None:
        from retrieval.store import Store

        store = Store.open()
    app = Flask(__name__)
    app.json = ApiJSONProvider(app)
    app.config.update(DEFAULT_CONFIG)
    app.config.update(config or {})
    app.extensions["kyb"] = Services(identifier=identifier, store=store)
    register_error_handlers(app)
    for blueprint in (api, meta, web):
        app.register_blueprint(blueprint)
    app.after_request(_add_security_headers)
    return app
