"""Fuzz the HTTP API: schemathesis from the OpenAPI document, then hostile images.

A client's bad input must never give a 5xx. Two passes check it:

1. schemathesis (its CLI, all phases: examples, coverage, fuzzing, stateful) generates
   schema-valid and schema-invalid requests for every operation in /openapi.json and checks
   every response: no server error, documented status, content type and schema.
2. A hand-made corpus that generic fuzzing cannot produce: truncated, bit-flipped and
   empty images, other formats, decompression bombs (declared in PNG, JPEG and WebP
   headers, and a real zlib bomb), oversized bodies, wrong fields and Content-Types. Each
   must get its expected status, and every response must match the document.

By default the app runs in-process on 127.0.0.1 (random port) with the test-double
identifier of the test suite; `--url` points both passes at a running server instead
(e.g. `kyb serve` with the real pipeline). Exits non-zero on any failure.

    .venv/bin/python benchmarks/fuzz_api.py [--url http://127.0.0.1:8000] [--max-examples 100]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jsonschema_rs
import requests
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from server.app import DEFAULT_CONFIG  # noqa: E402
from server.openapi import OPENAPI  # noqa: E402

#: schemathesis settings. A schema-valid `image` string is still not a decodable image,
#: so for identify "positive data" may also be refused as corrupt (400) or not an image
#: (415); every other operation must accept schema-valid input.
SCHEMATHESIS_CONFIG = textwrap.dedent("""
    [[operations]]
    include-operation-id = "identify"
    checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 415]
""")


@dataclass
class Probe:
    """One hand-made request and the statuses it may get."""

    name: str
    data: bytes
    expected: frozenset[int]
    field: str | None = "image"  # multipart field name; None sends the raw body
    content_type: str | None = None  # for raw bodies
    filename: str = "photo.jpg"
    chunked: bool = False  # raw body with Transfer-Encoding: chunked, no Content-Length


# -- the hostile corpus ----------------------------------------------------------------------

def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def picture(width: int = 160, height: int = 120, mode: str = "RGB") -> Image.Image:
    rng = random.Random(width * 7919 + height)
    image = Image.new("RGB", (width, height))
    image.putdata([(rng.randrange(256), (x * 3) % 256, (y * 5) % 256)
                   for y in range(height) for x in range(width)])
    return image.convert(mode)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, idat: bytes = b"\x00" * 64) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(idat))
            + png_chunk(b"IEND", b""))


def png_zlib_bomb(side: int) -> bytes:
    """A real bomb: side x side RGB of zeros, a few hundred KB compressed."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * side)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 header is patched to declare width x height."""
    data = bytearray(encode(picture(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """A WebP VP8X header declaring a width x height canvas, and no image data."""
    vp8x = struct.pack("<I", 0) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


BOUNDARY = "kybfuzzboundary"


def multipart(data: bytes) -> bytes:
    """A multipart/form-data body with `data` as the file field `image`, built by hand so
    that it can be sent chunked."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def bit_flips(data: bytes, count: int, seed: int) -> Iterator[bytes]:
    """Copies of `data` with a few random bytes changed (the magic bytes kept)."""
    rng = random.Random(seed)
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            mutated[rng.randrange(12, len(mutated))] = rng.randrange(256)
        yield bytes(mutated)


def corpus(max_bytes: int, seed: int) -> list[Probe]:
    ok, bad, unsupported, too_large = (frozenset({200}), frozenset({400}), frozenset({415}),
                                       frozenset({413}))
    decodable_or_bad = frozenset({200, 400})
    exif = Image.Exif()
    exif[0x0112] = 6
    odd_exif = Image.Exif()
    odd_exif[0x0112] = 65535
    good = {
        "jpeg": encode(picture(), "JPEG", quality=80),
        "png": encode(picture(), "PNG"),
        "webp": encode(picture(), "WEBP"),
    }
    probes = [Probe(f"valid {name}", data, ok) for name, data in good.items()]
    probes += [
        Probe("progressive jpeg", encode(picture(), "JPEG", progressive=True), ok),
        Probe("cmyk jpeg", encode(picture(mode="CMYK"), "JPEG"), ok),
        Probe("greyscale png", encode(picture(mode="L"), "PNG"), ok),
        Probe("palette png", encode(picture(mode="P"), "PNG"), ok),
        Probe("rgba png", encode(picture(mode="RGBA"), "PNG"), ok),
        Probe("16-bit png", encode(Image.new("I;16", (40, 30), 40000), "PNG"), ok),
        Probe("animated webp", encode(picture(), "WEBP", save_all=True,
                                      append_images=[picture(160, 120, "L").convert("RGB")]), ok),
        Probe("exif rotated jpeg", encode(picture(), "JPEG", exif=exif.tobytes()), ok),
        Probe("exif orientation 65535", encode(picture(), "JPEG", exif=odd_exif.tobytes()), ok),
        Probe("1x1 png", encode(picture(1, 1), "PNG"), ok),
        Probe("1x4000 png", encode(picture(1, 4000), "PNG"), ok),
        Probe("raw jpeg body", good["jpeg"], ok, field=None, content_type="image/jpeg"),
        Probe("raw png labelled jpeg", good["png"], ok, field=None, content_type="image/jpeg"),
        Probe("raw body, octet-stream", good["webp"], ok, field=None,
              content_type="application/octet-stream"),
        Probe("unicode filename", good["jpeg"], ok, filename="фото 🤘.jpg"),
        Probe("long filename", good["jpeg"], ok, filename="x" * 5000 + ".jpg"),
        # empty, missing, wrong request shapes
        Probe("empty file", b"", bad),
        Probe("empty raw body", b"", bad, field=None, content_type="image/jpeg"),
        Probe("wrong field name", good["jpeg"], bad, field="photo"),
        Probe("raw jpeg sent as text/plain", good["jpeg"], unsupported, field=None,
              content_type="text/plain"),
        Probe("json body", b'{"image": "aGVsbG8="}', unsupported, field=None,
              content_type="application/json"),
        Probe("unterminated multipart", b"--b\r\nContent-Disposition: form-data; name=\"image\"",
              bad, field=None, content_type="multipart/form-data; boundary=b"),
        Probe("multipart without boundary", b"whatever", bad, field=None,
              content_type="multipart/form-data"),
        # other types
        Probe("gif", encode(picture(), "GIF"), unsupported),
        Probe("bmp", encode(picture(), "BMP"), unsupported),
        Probe("tiff", encode(picture(), "TIFF"), unsupported),
        Probe("ico", encode(picture(32, 32), "ICO"), unsupported),
        Probe("pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF", unsupported),
        Probe("svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', unsupported),
        Probe("heic-like", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, unsupported),
        Probe("text", b"Cannibal Corpse\n", unsupported),
        Probe("raw gif labelled gif", encode(picture(), "GIF"), unsupported, field=None,
              content_type="image/gif"),
        # declared and real bombs
        Probe("png declaring 100000x100000", png_declaring(100_000, 100_000), bad),
        Probe("png declaring 2^31-1 x 1", png_declaring(2**31 - 1, 1), bad),
        Probe("png declaring 0x0", png_declaring(0, 0), bad),
        Probe("png zlib bomb 10000x10000", png_zlib_bomb(10_000), bad),
        Probe("jpeg declaring 65500x65500", jpeg_declaring(65_500, 65_500), bad),
        Probe("jpeg declaring 9000x9000", jpeg_declaring(9_000, 9_000), bad),
        Probe("jpeg declaring 0x0", jpeg_declaring(0, 0), bad),
        Probe("webp declaring 16384x16384", webp_declaring(16_384, 16_384), bad),
        # size limit
        Probe("body over MAX_CONTENT_LENGTH", good["jpeg"] + b"\x00" * max_bytes, too_large),
        Probe("raw body over MAX_CONTENT_LENGTH", b"\xff\xd8\xff" + b"\x00" * max_bytes, too_large,
              field=None, content_type="image/jpeg"),
        Probe("chunked raw jpeg", good["jpeg"], ok, field=None, content_type="image/jpeg",
              chunked=True),
        Probe("chunked multipart over MAX_CONTENT_LENGTH", multipart(good["jpeg"] + b"\x00" * max_bytes),
              too_large, field=None, content_type=f"multipart/form-data; boundary={BOUNDARY}",
              chunked=True),
        Probe("chunked multipart jpeg", multipart(good["jpeg"]), ok, field=None,
              content_type=f"multipart/form-data; boundary={BOUNDARY}", chunked=True),
        Probe("chunked raw body over MAX_CONTENT_LENGTH", b"\xff\xd8\xff" + b"\x00" * max_bytes,
              too_large, field=None, content_type="image/jpeg", chunked=True),
    ]
    for name, data in good.items():
        for fraction in (0.02, 0.3, 0.6, 0.95):
            probes.append(Probe(f"{name} truncated to {fraction:.0%}",
                                data[: max(4, int(len(data) * fraction))], bad))
        probes.append(Probe(f"{name} magic then random bytes",
                            data[:12] + random.Random(seed).randbytes(4096), bad))
        for number, mutated in enumerate(bit_flips(data, 30, seed)):
            probes.append(Probe(f"{name} bit-flipped #{number}", mutated, decodable_or_bad))
    return probes


# -- running -------------------------------------------------------------------------------

def validator(name: str):
    return jsonschema_rs.Draft202012Validator(
        {"components": OPENAPI["components"], "$ref": f"#/components/schemas/{name}"},
        validate_formats=True)


def send(base_url: str, probe: Probe) -> requests.Response:
    url = f"{base_url}/api/v1/identify"
    if probe.field is None:
        headers = {"Content-Type": probe.content_type} if probe.content_type else {}
        data = probe.data
        if probe.chunked:  # a generator makes requests send chunks of unknown total length
            data = (probe.data[i:i + 65536] for i in range(0, len(probe.data), 65536))
        return requests.post(url, data=data, headers=headers, timeout=120)
    files = {probe.field: (probe.filename, probe.data, "application/octet-stream")}
    return requests.post(url, files=files, timeout=120)


def run_corpus(base_url: str, max_bytes: int, seed: int) -> tuple[Counter, list[str]]:
    statuses: Counter = Counter()
    failures = []
    schemas = {"Error": validator("Error"), "IdentifyResult": validator("IdentifyResult")}
    for probe in corpus(max_bytes, seed):
        try:
            response = send(base_url, probe)
        except requests.RequestException as exc:
            # A server may close the connection on a body over its limit before reading it.
            if probe.expected == {413}:
                statuses["closed"] += 1
                continue
            failures.append(f"{probe.name}: request failed: {exc}")
            continue
        statuses[response.status_code] += 1
        problems = []
        if response.status_code >= 500:
            problems.append("server error")
        if response.status_code not in probe.expected:
            problems.append(f"expected {sorted(probe.expected)}")
        schema = "IdentifyResult" if response.status_code == 200 else "Error"
        try:
            schemas[schema].validate(response.json())
        except (ValueError, jsonschema_rs.ValidationError) as exc:
            problems.append(f"body is not a valid {schema}: {exc}")
        if problems:
            failures.append(f"{probe.name}: got {response.status_code} ({'; '.join(problems)}): "
                            f"{response.text[:200]}")
    return statuses, failures


def run_schemathesis(base_url: str, max_examples: int, seed: int, workdir: Path) -> int:
    config = workdir / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
               f"{base_url}/openapi.json", "--checks", "all", "--max-examples", str(max_examples),
               "--seed", str(seed), "--workers", "1", "--generation-database", "none", "--no-color"]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=workdir).returncode


@contextmanager
def in_process_server() -> Iterator[str]:
    """The real app with the test-double identifier, on 127.0.0.1 at a free port."""
    from werkzeug.serving import make_server

    from tests.test_server_support import make_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    with tempfile.TemporaryDirectory(prefix="kyb-fuzz-") as folder:
        app = make_app(Path(folder), TESTING=False)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)


@contextmanager
def existing_server(url: str) -> Iterator[str]:
    yield url.rstrip("/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: the app in-process, test double)")
    parser.add_argument("--max-examples", type=int, default=100, help="schemathesis cases per operation")
    parser.add_argument("--seed", type=int, default=20240607)
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_CONFIG["MAX_CONTENT_LENGTH"],
                        help="the server's MAX_CONTENT_LENGTH")
    parser.add_argument("--skip-schemathesis", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kyb-fuzz-config-") as workdir, \
            (in_process_server() if args.url is None else existing_server(args.url)) as base_url:
        started = time.monotonic()
        schemathesis_rc = 0
        if not args.skip_schemathesis:
            schemathesis_rc = run_schemathesis(base_url, args.max_examples, args.seed, Path(workdir))
        statuses, failures = run_corpus(base_url, args.max_bytes, args.seed)
        elapsed = time.monotonic() - started
    print(json.dumps({"schemathesis_exit": schemathesis_rc,
                      "corpus_probes": sum(statuses.values()),
                      "corpus_statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
                      "corpus_failures": len(failures), "seconds": round(elapsed, 1)}, indent=2))
    for failure in failures:
        print("FAIL", failure)
    return 1 if schemathesis_rc or failures else 0


if __name__ == "__main__":
    sys.exit(main())
