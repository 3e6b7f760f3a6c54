"""The JSON API for app clients: identify a photo, look bands up.

Views stay thin: they turn the request into the pipeline's input (an RGB array from
`decode_image`, the one decoder every entry point shares) or into store calls, and every
client mistake leaves as an `ApiError` or an `ImageRejected`, which `server.errors` turns
into the JSON error shape. A client's bad input therefore never reaches the pipeline or
the database as something that could fail with a 5xx.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from retrieval.identify_api import decode_image
from retrieval.store import BAND_FIELDS
from server.errors import ApiError

api = Blueprint("api", __name__, url_prefix="/api/v1")

#: Request Content-Types read as the raw image (besides image/*). A missing type is
#: accepted too: decode_image sniffs the format from the bytes either way.
_RAW_TYPES = ("", "application/octet-stream")
#: Fields of each search hit: what a results list shows, without the long texts.
SEARCH_FIELDS = ("band_id", "name", "url", "country", "genre", "location", "status")
#: Band ids are BIGINT in the database; a larger id cannot exist, and passing it on would
#: make the driver raise (an overflow, i.e. a 500) instead of a plain 404.
MAX_BAND_ID = 2**63 - 1
#: Similar bands listed on a band's card (what to listen to next).
SIMILAR_LIMIT = 10


def _uploaded_bytes() -> bytes:
    """The image bytes: the multipart file field `image`, or the raw request body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise ApiError(400, "missing_image",
                           "send the photo as the multipart file field 'image'")
        return upload.read()
    if request.mimetype.startswith("image/") or request.mimetype in _RAW_TYPES:
        data = request.get_data(cache=False)
        if len(data) >= current_app.config["MAX_CONTENT_LENGTH"]:
            # A chunked body (no Content-Length) is cut at the limit without an error;
            # reading past the limit is what makes Werkzeug raise its 413.
            request.stream.read(1)
        return data
    raise ApiError(415, "unsupported_media_type",
                   "send multipart/form-data with a file field 'image', or the image itself "
                   "with an image/* Content-Type")


@api.post("/identify")
def identify():
    config = current_app.config
    image = decode_image(_uploaded_bytes(), max_bytes=config["MAX_CONTENT_LENGTH"],
                         max_pixels=config["KYB_MAX_IMAGE_PIXELS"])
    result = current_app.extensions["kyb"].identifier.identify(image)
    return jsonify(result)


@api.get("/bands/<int:band_id>")
def band(band_id: int):
    row = None
    if band_id <= MAX_BAND_ID:
        row = current_app.extensions["kyb"].store.get_bands([band_id]).get(band_id)
    if row is None:
        raise ApiError(404, "band_not_found", f"no band with id {band_id}")
    similar = current_app.extensions["kyb"].store.get_similar(band_id, SIMILAR_LIMIT)
    return jsonify({**{field: row.get(field) for field in BAND_FIELDS}, "similar": similar})


def _search_limit() -> int:
    config = current_app.config
    raw = request.args.get("limit", str(config["KYB_SEARCH_DEFAULT_LIMIT"]))
    maximum = config["KYB_SEARCH_MAX_LIMIT"]
    # The length check comes before int(): Python refuses to parse very long digit strings.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and 1 <= int(raw) <= maximum):
        raise ApiError(400, "invalid_limit", f"limit must be an integer from 1 to {maximum}")
    return int(raw)


@api.get("/bands")
def search():
    query = request.args.get("q", "").strip()
    longest = current_app.config["KYB_SEARCH_MAX_QUERY"]
    if not query:
        raise ApiError(400, "invalid_query", "give a band name (or its beginning) as q")
    if len(query) > longest:
        raise ApiError(400, "invalid_query", f"q is longer than {longest} characters")
    limit = _search_limit()
    rows = current_app.extensions["kyb"].store.search_bands(query, limit)
    hits = [{field: row.get(field) for field in SEARCH_FIELDS} for row in rows]
    return jsonify({"query": query, "limit": limit, "bands": hits})
