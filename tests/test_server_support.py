"""Helpers shared by the server tests: a test double for the identifier, a small band
store, generated images (good and hostile), and validation against the OpenAPI document.

The double is legitimate for the HTTP layer: it implements the `Identifier` protocol and
returns a fixed, contract-shaped result, so these tests pin down what the server does
with any identifier. End-to-end tests with the real pipeline live with the pipeline.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from retrieval.store import Store
from server import create_app
from server.openapi import OPENAPI

CANNIBAL_CORPSE = {
    "band_id": 186, "name": "Cannibal Corpse",
    "url": "https://www.metal-archives.com/bands/Cannibal_Corpse/186",
    "country": "United States", "genre": "Death Metal", "location": "Buffalo, New York",
    "status": "Active", "formed_in": "1988",
}
BANDS = [
    CANNIBAL_CORPSE,
    {"band_id": 125, "name": "Death", "url": "https://www.metal-archives.com/bands/Death/125",
     "country": "United States", "genre": "Death Metal (early), Progressive Death Metal (later)"},
    {"band_id": 3540, "name": "Mötörhead", "country": "United Kingdom", "genre": "Heavy Metal"},
]


class FixedIdentifier:
    """An `Identifier` whose answer depends only on the image size: one matched logo
    (Cannibal Corpse) and one unknown album. Records the arrays it was given."""

    def __init__(self):
        self.seen: list[np.ndarray] = []

    def identify(self, image: np.ndarray) -> dict:
        self.seen.append(image)
        height, width = image.shape[:2]
        match = {key: CANNIBAL_CORPSE[key] for key in ("band_id", "name", "url", "country", "genre")}
        match.update(album=None, ref_id=5121, score=0.91, inliers=64, evidence=["logo", "text"])
        text = {"lines": ["CANNIBAIN"], "read": "CANNIBAIN", "score": 0.75, "ocr_score": 0.93,
                "candidates": [{"band_id": 186, "name": "Cannibal Corpse", "similarity": 0.75}]}
        return {
            "image": {"width": width, "height": height},
            "detections": [
                {"box": [0.1 * width, 0.2 * height, 0.6 * width, 0.5 * height], "kind": "logo",
                 "score": 0.97, "verdict": "match", "matches": [match], "text": text},
                {"box": [0.65 * width, 0.55 * height, 0.95 * width, 0.95 * height],
                 "kind": "album", "score": 0.8, "verdict": "unknown", "matches": []},
            ],
            "bands": [{"band_id": 186, "name": "Cannibal Corpse", "url": match["url"],
                       "score": 0.91}],
            "timings_ms": {"detect": 1.0, "features": 2.0, "match": 0.5, "verify": 0.2,
                           "lookup": 0.1},
        }


#: What a scrape stores as Cannibal Corpse's similar artists (scores as Metal Archives gives them).
SIMILAR = [
    {"band_id": 186, "similar_id": 125, "name": "Death", "url": "https://www.metal-archives.com/bands/Death/125",
     "country": "United States", "genre": "Death Metal", "score": 120},
    {"band_id": 186, "similar_id": 3540, "name": "Mötörhead", "url": None, "country": "United Kingdom",
     "genre": "Heavy Metal", "score": 7},
    {"band_id": 186, "similar_id": 77, "name": "Deicide", "url": "https://www.metal-archives.com/bands/Deicide/77",
     "country": "United States", "genre": "Death Metal", "score": 240},
]


def make_store(folder: Path) -> Store:
    store = Store.open(f"sqlite:///{folder / 'kyb.sqlite'}", create=True)
    store.upsert("bands", [{**band} for band in BANDS])
    store.upsert("similar_bands", [{**row} for row in SIMILAR], key=["band_id", "similar_id"])
    return store


def make_app(folder: Path, identifier=None, **config):
    """The real app around a `FixedIdentifier` and a SQLite store in `folder`."""
    return create_app(identifier or FixedIdentifier(), make_store(folder),
                      {"TESTING": True, **config})


def photo(width: int = 320, height: int = 240, mode: str = "RGB") -> Image.Image:
    """A small picture with structure (a gradient and a block), not a flat colour."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                    np.full_like(x, 90)], axis=-1).astype(np.uint8)
    rgb[height // 4: height // 2, width // 4: width // 2] = (20, 20, 20)
    return Image.fromarray(rgb).convert(mode)


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def jpeg_bytes(width: int = 320, height: int = 240, **options) -> bytes:
    return encode(photo(width, height), "JPEG", quality=85, **options)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring width x height RGB pixels, with a tiny IDAT.

    Decoding it would need width*height*3 bytes (30 GB at the default size); a safe
    decoder refuses it from the header alone.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + png_chunk(b"IEND", b""))


def gif_bytes() -> bytes:
    return encode(photo(32, 32), "GIF")


def bmp_bytes() -> bytes:
    return encode(photo(32, 32), "BMP")


def schema_validator(name: str):
    """A JSON Schema (2020-12) validator for `#/components/schemas/<name>` of OPENAPI."""
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": OPENAPI["components"],
        "$ref": f"#/components/schemas/{name}",
    }, validate_formats=True)


def validate_response(response, path: str, method: str = "get") -> None:
    """Assert that a test-client response is documented in OPENAPI and matches its schema."""
    operation = OPENAPI["paths"][path][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method.upper()} {path}: {response.status_code} undocumented"
    media_type = response.mimetype
    assert media_type in documented["content"], f"{path}: {media_type} undocumented"
    if media_type == "application/json":
        schema = documented["content"][media_type]["schema"]
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        if name:
            schema_validator(name).validate(response.get_json())
