"""The Flask JSON API for app clients and the web page.

`create_app(identifier, store=None, config=None)` builds the app (server/app.py);
`server.runtime` builds the real identifier from an index for `kyb serve`.
"""

from server.app import create_app

__all__ = ["create_app"]
