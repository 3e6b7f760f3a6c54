"""The seam between the identification pipeline and its callers, and the one image decoder.

The HTTP server, `kyb identify` and the evaluation scripts all hand a photo to the
pipeline (`retrieval/pipeline.py`). They depend only on the small interface below, so the
server was built and tested before the pipeline existed, and any object with these
methods plugs in unchanged. `kyb serve` builds it by calling
`retrieval.pipeline.load_identifier(index_path: pathlib.Path) -> Identifier` once per
server process (server/runtime.py).

`Identifier.identify` returns the result JSON of ARCHITECTURE.md ("`kyb identify` /
`POST /api/v1/identify` result") as JSON-ready Python values (the server also accepts
NumPy scalars and arrays, but not NaN)::

    {"image": {"width": int, "height": int},
     "detections": [{"box": [x1, y1, x2, y2],          # pixels of the input image
                     "kind": "logo" | "album",
                     "score": float,                     # detector confidence, 0..1 (0: the
                                                         # whole photo, where nothing was detected)
                     "verdict": "match" | "unknown",     # unknown: band probably not in the db
                     "matches": [{"band_id": int, "name": str, "url": str | None,
                                  "country": str | None, "genre": str | None,
                                  "album": str | None, "ref_id": int | None,   # None: named by text
                                  "score": float, "inliers": int | None,
                                  "evidence": ["logo" | "album" | "text", ...]}],
                     "text": {"lines": [str], "read": str | None,    # where text is read
                              "score": float | None, "ocr_score": float | None,
                              "candidates": [{"band_id": int, "name": str, "similarity": float}]}}],
     "bands": [{"band_id": int, "name": str, "url": str | None, "score": float,
                "evidence": [str]}],
     "timings_ms": {step: float}}                        # e.g. detect, features, match, ..., text

Band lookups (`GET /api/v1/bands...`) do not go through the identifier: the band store
(`retrieval.store.Store`) already answers them, and `BandLookup` names the two of its
methods the server uses.

`decode_image` is the only way untrusted bytes become pixels, so that every entry point
refuses the same inputs with the same typed errors: too many bytes (`ImageTooLarge`), a
format other than JPEG/PNG/WebP (`UnsupportedImageType`), and anything that cannot be
decoded safely (`CorruptImage`: truncated data, undecodable data, and decompression bombs,
whose declared size is checked from the header before a single pixel is decoded).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image, ImageOps

#: Magic bytes -> Pillow format name. Sniffing the bytes, not trusting a file name or a
#: Content-Type, keeps Pillow's many other (and less hardened) decoders out of reach.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP")


class ImageRejected(ValueError):
    """The bytes are not an image this project accepts; `code` is a stable machine name."""

    code = "invalid_image"


class ImageTooLarge(ImageRejected):
    """More bytes than the caller allows (HTTP 413)."""

    code = "image_too_large"


class UnsupportedImageType(ImageRejected):
    """Not JPEG, PNG or WebP by its magic bytes (HTTP 415)."""

    code = "unsupported_image_type"


class CorruptImage(ImageRejected):
    """Empty, truncated or undecodable, or a decompression bomb (HTTP 400)."""

    code = "corrupt_image"


class EmptyImage(CorruptImage):
    """Zero bytes: usually a client that sent the wrong field or no body (HTTP 400)."""

    code = "empty_image"


class TooManyPixels(CorruptImage):
    """The header declares more pixels than allowed: refused before decoding (HTTP 400)."""

    code = "too_many_pixels"


@runtime_checkable
class Identifier(Protocol):
    """Names the bands in one photo; `retrieval.pipeline` provides the real one."""

    def identify(self, image: np.ndarray) -> dict:
        """The result JSON (module docstring) for an (H, W, 3) uint8 RGB image."""
        ...


@runtime_checkable
class BandLookup(Protocol):
    """The band reads the server needs; `retrieval.store.Store` satisfies it as it is."""

    def get_bands(self, band_ids: Iterable[int]) -> dict[int, dict]:
        """Band rows (the `bands` table's columns) by id; absent ids are missing."""
        ...

    def search_bands(self, query: str, limit: int = 20) -> list[dict]:
        """Bands whose name starts with `query`, at most `limit` of them."""
        ...

    def get_similar(self, band_id: int, limit: int = 10) -> list[dict]:
        """Bands listed as similar to `band_id`, most recommended first."""
        ...


def sniff_format(data: bytes) -> str | None:
    """The Pillow format name of JPEG/PNG/WebP bytes, else None."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_image(data: bytes, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Untrusted JPEG/PNG/WebP bytes -> an upright (H, W, 3) uint8 RGB array.

    Checks run cheapest first: the byte count, the magic bytes, then the dimensions that
    the header declares (Pillow's `Image.open` is lazy and reads only the header), and only
    then are the pixels decoded. EXIF orientation is applied, so boxes the pipeline returns
    are in the coordinates a person sees. Transparent images are flattened onto white,
    because logos are often black on a transparent background, which a plain RGB
    conversion would turn black on black.

    Raises ImageTooLarge, UnsupportedImageType or CorruptImage (whose subclasses
    EmptyImage and TooManyPixels name the two commonest causes).
    """
    if len(data) > max_bytes:
        raise ImageTooLarge(f"the image is {len(data)} bytes; at most {max_bytes} are accepted")
    if not data:
        raise EmptyImage("the image is empty (0 bytes)")
    image_format = sniff_format(data)
    if image_format is None:
        raise UnsupportedImageType("only JPEG, PNG and WebP images are accepted")
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise CorruptImage(f"the image declares an empty size {width}x{height}")
            if width * height > max_pixels:
                raise TooManyPixels(f"the image declares {width}x{height} pixels; at most "
                                    f"{max_pixels} pixels are accepted")
            image.load()
            upright = ImageOps.exif_transpose(image)
            return _to_rgb_array(upright)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(f"refused as a decompression bomb: {exc}") from exc
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError,
        # struct.error, EOFError, ... for malformed input: all of them mean "bad bytes".
        raise CorruptImage(f"the {image_format} image cannot be decoded: {exc}") from exc


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        # 16-bit greyscale PNGs: Pillow's RGB conversion would clip them to white.
        wide = np.asarray(image, dtype=np.uint32)
        image = Image.fromarray((wide >> 8).clip(0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
