"""What the database records about a reference image: sha256, size and true format.

The format comes from decoding the bytes, never from a file name or a Content-Type
header, so a web server's HTML error page saved as `logo.jpg` is refused rather than
indexed. Used by the dataset importer (files) and the scraper's image store (downloads).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image

#: Decoded formats we accept, with the file extension each is stored under.
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
#: Refuse images larger than this many pixels (a logo or a cover is far smaller;
#: anything bigger is a mistake or a decompression bomb).
MAX_PIXELS = 40_000_000


class NotAnImage(ValueError):
    """Bytes that do not decode as an accepted image."""


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    width: int
    height: int
    extension: str


def describe_image(data: bytes, decode: bool = True) -> ImageFacts:
    """Describe `data`, or raise NotAnImage.

    With `decode` (for downloads: untrusted bytes) the file structure is verified and
    the pixels decoded, so truncated files fail here. Without it only the header is read,
    which is enough to tell an image from an error page and costs a fraction of the time
    (the dataset importer reads thousands of local files the index decodes anyway).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise NotAnImage(f"{width}x{height} pixels is more than {MAX_PIXELS}")
                if decode:
                    image.verify()  # chunk structure and checksums: catches cut-off files
            if decode:
                with Image.open(io.BytesIO(data)) as image:
                    image.load()  # and the pixels really decode
    except NotAnImage:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise NotAnImage(f"not a decodable image ({exc})") from exc
    if image_format not in EXTENSIONS:
        raise NotAnImage(f"image format {image_format} is not one of {', '.join(EXTENSIONS)}")
    return ImageFacts(hashlib.sha256(data).hexdigest(), width, height, EXTENSIONS[image_format])
