"""The OpenAPI 3.1 document of the HTTP API, written by hand as data.

Hand-written so that it states the contract (ARCHITECTURE.md's result JSON, the error
shape) rather than whatever the code happens to do; the tests validate every response
they receive against it, and benchmarks/fuzz_api.py drives schemathesis from it.
Result objects allow additional properties because the contract may grow additively;
the error shape is closed.
"""

from __future__ import annotations

_NULLABLE_STRING = {"type": ["string", "null"]}
#: The calibrated probability that an answer is right (null where the index is not calibrated).
#: The fields every answer naming a band carries.
_BAND_SUMMARY = {"band_id": {"type": "integer"}, "name": {"type": "string"}, "url": _NULLABLE_STRING,
                 "country": _NULLABLE_STRING, "genre": _NULLABLE_STRING}
_CONFIDENCE = {"type": ["number", "null"], "minimum": 0, "maximum": 1,
               "description": "calibrated probability that the top band is right; null where "
                              "the index holds no calibration for this kind, or text named it"}
#: The witnesses that named a band: the image index (the detected kind) and the text read.
_EVIDENCE = {"type": "array", "items": {"type": "string", "enum": ["logo", "album", "text"]},
             "description": "which witnesses named this band: the image index (the kind "
                            "of the matched reference) and/or the text read on the photo"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


_SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "status"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$",
                             "description": "stable machine-readable reason, e.g. corrupt_image"},
                    "message": {"type": "string", "description": "for people"},
                    "status": {"type": "integer", "minimum": 400, "maximum": 599,
                               "description": "the HTTP status, repeated"},
                },
            },
        },
    },
    "Match": {
        "type": "object",
        "required": ["band_id", "name", "url", "country", "genre", "album", "ref_id", "score",
                     "inliers"],
        "properties": {
            **_BAND_SUMMARY,
            "album": {"type": ["string", "null"], "description": "the album title for covers"},
            "ref_id": {"type": ["integer", "null"],
                       "description": "the matched reference image; null when text alone named the band"},
            "score": {"type": "number", "description": "image similarity, or name similarity (0..1) "
                                                        "when text alone named the band"},
            "inliers": {"type": ["integer", "null"], "minimum": 0,
                        "description": "geometrically verified matches, when verified"},
            "evidence": _EVIDENCE,
        },
    },
    "TextRead": {
        "type": "object",
        "required": ["lines", "read", "score", "ocr_score", "candidates"],
        "description": "the text read in the box (present where the server reads text)",
        "properties": {
            "lines": {"type": "array", "items": {"type": "string"}, "description": "in reading order"},
            "read": {**_NULLABLE_STRING, "description": "the words that read best as a band name"},
            "score": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                      "description": "how closely they match that name (fuzzy, OCR-aware)"},
            "ocr_score": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                          "description": "the recogniser's confidence in those words"},
            "candidates": {
                "type": "array", "description": "bands the text may name, best first (every band "
                                                "of a name that several bands share)",
                "items": {"type": "object", "required": ["band_id", "name", "similarity"],
                          "properties": {"band_id": {"type": "integer"}, "name": {"type": "string"},
                                         "similarity": {"type": "number"}}}},
        },
    },
    "Detection": {
        "type": "object",
        "required": ["box", "kind", "score", "verdict", "matches"],
        "properties": {
            "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                    "description": "x1, y1, x2, y2 in pixels of the (upright) input image"},
            "kind": {"type": "string", "enum": ["logo", "album"]},
            "score": {"type": "number", "minimum": 0, "maximum": 1,
                      "description": "detector confidence; 0 for the whole photo, matched "
                                     "where the detector found no box, and for a band name read "
                                     "outside every box"},
            "verdict": {"type": "string", "enum": ["match", "unknown"],
                        "description": "unknown: the band is probably not in the database"},
            "confidence": _CONFIDENCE,
            "matches": {"type": "array", "items": _ref("Match"), "description": "best first"},
            "text": _ref("TextRead"),
        },
    },
    "BandScore": {
        "type": "object",
        "required": ["band_id", "name", "url", "score"],
        "properties": {
            "band_id": {"type": "integer"},
            "name": {"type": "string"},
            "url": _NULLABLE_STRING,
            "score": {"type": "number"},
            "confidence": _CONFIDENCE,
            "evidence": _EVIDENCE,
        },
    },
    "IdentifyResult": {
        "type": "object",
        "required": ["image", "detections", "bands", "timings_ms"],
        "properties": {
            "image": {
                "type": "object",
                "required": ["width", "height"],
                "properties": {"width": {"type": "integer", "minimum": 1},
                               "height": {"type": "integer", "minimum": 1}},
            },
            "detections": {"type": "array", "items": _ref("Detection")},
            "bands": {"type": "array", "items": _ref("BandScore"),
                      "description": "every band in the photo, best first"},
            "timings_ms": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    },
    "SimilarBand": {
        "type": "object",
        "required": ["band_id", "name", "url", "country", "genre", "score"],
        "properties": {
            "band_id": {"type": "integer", "description": "the Metal Archives id"},
            "name": _NULLABLE_STRING,
            "url": _NULLABLE_STRING,
            "country": _NULLABLE_STRING,
            "genre": _NULLABLE_STRING,
            "score": {"type": ["integer", "null"], "description": "Metal Archives users' recommendations"},
        },
    },
    "Band": {
        "type": "object",
        "required": ["band_id", "name", "url", "country", "location", "status", "formed_in",
                     "genre", "themes", "label", "years_active", "logo_url", "photo_url",
                     "comment", "updated_at", "similar"],
        "properties": {
            "band_id": {"type": "integer", "description": "the Metal Archives id"},
            "name": {"type": "string"},
            "url": _NULLABLE_STRING,
            "country": _NULLABLE_STRING,
            "location": _NULLABLE_STRING,
            "status": _NULLABLE_STRING,
            "formed_in": _NULLABLE_STRING,
            "genre": _NULLABLE_STRING,
            "themes": _NULLABLE_STRING,
            "label": _NULLABLE_STRING,
            "years_active": _NULLABLE_STRING,
            "logo_url": _NULLABLE_STRING,
            "photo_url": _NULLABLE_STRING,
            "comment": _NULLABLE_STRING,
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
            "similar": {"type": "array", "items": _ref("SimilarBand"),
                        "description": "bands Metal Archives lists as similar, most recommended first "
                                       "(empty where the scrape stored none)"},
        },
    },
    "BandHit": {
        "type": "object",
        "required": ["band_id", "name", "url", "country", "genre", "location", "status"],
        "properties": {
            **_BAND_SUMMARY,
            "location": _NULLABLE_STRING,
            "status": _NULLABLE_STRING,
        },
    },
    "BandSearch": {
        "type": "object",
        "required": ["query", "limit", "bands"],
        "properties": {
            "query": {"type": "string", "description": "q as used (surrounding spaces removed)"},
            "limit": {"type": "integer"},
            "bands": {"type": "array", "items": _ref("BandHit"), "description": "by name"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "const": "ok"}},
    },
}

_IMAGE_BYTES = {"type": "string", "contentMediaType": "application/octet-stream"}

_IDENTIFY = {
    "operationId": "identify",
    "summary": "Name the bands in a photo",
    "description": (
        "Send the photo (JPEG, PNG or WebP) as the multipart file field `image`, or as the raw "
        "body with an image Content-Type (the format is read from the bytes). EXIF orientation "
        "is applied before detection, so boxes are in upright-image pixels."
    ),
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["image"],
                           "properties": {"image": _IMAGE_BYTES}},
            },
            "image/jpeg": {"schema": _IMAGE_BYTES},
            "image/png": {"schema": _IMAGE_BYTES},
            "image/webp": {"schema": _IMAGE_BYTES},
            "application/octet-stream": {"schema": _IMAGE_BYTES},
        },
    },
    "responses": {
        "200": _json(_ref("IdentifyResult"), "the detections and the bands found"),
        "400": _error("no `image` field, an empty, truncated or undecodable image, or more "
                      "pixels than allowed (decompression bombs)"),
        "413": _error("the request or the image is larger than allowed"),
        "415": _error("not a JPEG, PNG or WebP image, or an unsupported request Content-Type"),
        "500": _error("an internal error (logged)"),
    },
}

_BAND = {
    "operationId": "getBand",
    "summary": "One band by its Metal Archives id",
    "parameters": [{"name": "band_id", "in": "path", "required": True,
                    "schema": {"type": "integer", "minimum": 0, "examples": [186]}}],
    "responses": {
        "200": _json(_ref("Band"), "the band"),
        "404": _error("no such band"),
        "500": _error("an internal error (logged)"),
    },
}

#: A character str.isspace() is false for, as a regular expression (for the q parameter).
PYTHON_NON_WHITESPACE = ("[^\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
                         "\\u2028\\u2029\\u202f\\u205f\\u3000]")

_SEARCH = {
    "operationId": "searchBands",
    "summary": "Bands whose name starts with q (ignoring case, accents and spacing)",
    "parameters": [
        {"name": "q", "in": "query", "required": True,
         # At least one character that Python's str.strip() keeps: the server strips q first,
         # and Python's whitespace (which includes \x1c-\x1f and \x85) differs from regex \s.
         "schema": {"type": "string", "minLength": 1, "maxLength": 100,
                    "pattern": PYTHON_NON_WHITESPACE,
                    "examples": ["cannibal"]}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    ],
    "responses": {
        "200": _json(_ref("BandSearch"), "matching bands, ordered by name"),
        "400": _error("q missing, blank or too long, or limit not an integer from 1 to 100"),
        "500": _error("an internal error (logged)"),
    },
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "Know Your Bands",
        "version": "1.0.0",
        "description": (
            "Name metal bands from real-life photos. Every 4xx and 5xx response has the "
            "Error shape."
        ),
    },
    "paths": {
        "/api/v1/identify": {"post": _IDENTIFY},
        "/api/v1/bands/{band_id}": {"get": _BAND},
        "/api/v1/bands": {"get": _SEARCH},
        "/healthz": {"get": {
            "operationId": "health",
            "summary": "Liveness probe",
            "responses": {"200": _json(_ref("Health"), "the worker answers")},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
        }},
        "/": {"get": {
            "operationId": "webPage",
            "summary": "The web page",
            "responses": {"200": {"description": "the page",
                                  "content": {"text/html": {"schema": {"type": "string"}}}}},
        }},
    },
    "components": {"schemas": _SCHEMAS},
}
