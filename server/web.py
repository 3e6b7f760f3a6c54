"""The web page: upload or take a photo, see the boxes and a card per band.

Plain HTML, CSS and JavaScript from server/static and server/templates, with no build step
and nothing loaded from another site (the Content-Security-Policy set in `server.app`
enforces that in the browser). The page talks to the same JSON API as the apps.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

web = Blueprint("web", __name__)


@web.get("/")
def index():
    config = current_app.config
    return render_template("index.html", max_bytes=config["MAX_CONTENT_LENGTH"])
