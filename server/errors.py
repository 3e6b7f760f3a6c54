"""One JSON error shape for every 4xx and 5xx, Flask's own included.

Clients (the phone app, the web page, scripts) parse one shape,
`{"error": {"code": "...", "message": "...", "status": 413}}`, whatever failed: a
route that does not exist, a wrong method, a body over MAX_CONTENT_LENGTH, a rejected
image, or a bug. `code` is stable and machine-readable; `message` is for people.
Unexpected exceptions are logged with their traceback and answered with a bare 500 that
leaks nothing of the internals.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from retrieval.identify_api import ImageRejected, ImageTooLarge, UnsupportedImageType

#: Codes for Werkzeug's exceptions whose class names do not make a good code.
_HTTP_CODES = {
    413: "payload_too_large",
    500: "internal_error",
}


class ApiError(Exception):
    """A client error raised by a view: HTTP status, stable code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, headers=None):
    response = jsonify({"error": {"code": code, "message": message, "status": status}})
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def image_status(error: ImageRejected) -> int:
    """The HTTP status of a rejected image: 413 too many bytes, 415 wrong type, else 400."""
    if isinstance(error, ImageTooLarge):
        return 413
    if isinstance(error, UnsupportedImageType):
        return 415
    return 400


def _http_code(error: HTTPException) -> str:
    if error.code in _HTTP_CODES:
        return _HTTP_CODES[error.code]
    return (error.name or "error").lower().replace(" ", "_").replace("'", "")


def _on_http_error(error: HTTPException):
    # Keeps the headers Werkzeug computed, such as Allow on a 405.
    return error_response(error.code or 500, _http_code(error), error.description or error.name,
                          error.get_headers())


def _on_api_error(error: ApiError):
    return error_response(error.status, error.code, error.message)


def _on_image_rejected(error: ImageRejected):
    return error_response(image_status(error), error.code, str(error))


def _on_unexpected(error: Exception):
    current_app.logger.exception("unhandled error while serving a request", exc_info=error)
    return error_response(500, "internal_error", "internal server error")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(ApiError, _on_api_error)
    app.register_error_handler(ImageRejected, _on_image_rejected)
    app.register_error_handler(Exception, _on_unexpected)
