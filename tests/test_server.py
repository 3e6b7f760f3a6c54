"""The HTTP API through Flask's test client: identify, band lookups, health, and every
error path, each response checked against the OpenAPI document."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from tests.test_server_support import (
    FixedIdentifier,
    bmp_bytes,
    bomb_png,
    encode,
    gif_bytes,
    jpeg_bytes,
    make_app,
    photo,
    schema_validator,
    validate_response,
)

IDENTIFY = "/api/v1/identify"
MAX_BYTES = 300_000


@pytest.fixture
def identifier():
    return FixedIdentifier()


@pytest.fixture
def app(tmp_path, identifier):
    return make_app(tmp_path, identifier, MAX_CONTENT_LENGTH=MAX_BYTES,
                    KYB_MAX_IMAGE_PIXELS=2_000_000)


@pytest.fixture
def client(app):
    return app.test_client()


def post_file(client, data: bytes, field: str = "image", filename: str = "photo.jpg"):
    return client.post(IDENTIFY, data={field: (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    schema_validator("Error").validate(body)
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body


# -- identify -------------------------------------------------------------------------------

def test_identify_multipart(client, identifier):
    response = post_file(client, jpeg_bytes(320, 240))
    assert response.status_code == 200
    validate_response(response, IDENTIFY, "post")
    body = response.get_json()
    assert body["image"] == {"width": 320, "height": 240}
    assert body["detections"][0]["matches"][0]["name"] == "Cannibal Corpse"
    (image,) = identifier.seen
    assert image.shape == (240, 320, 3) and image.dtype.name == "uint8"


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "application/octet-stream", None])
def test_identify_raw_body(client, content_type):
    data = encode(photo(100, 80), "PNG")
    response = client.post(IDENTIFY, data=data, content_type=content_type)
    assert response.status_code == 200
    validate_response(response, IDENTIFY, "post")
    assert response.get_json()["image"] == {"width": 100, "height": 80}


def test_identify_webp(client):
    response = client.post(IDENTIFY, data=encode(photo(64, 64), "WEBP"), content_type="image/webp")
    assert response.status_code == 200


def test_identify_applies_exif_orientation(client, identifier):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 270 clockwise: the upright photo is portrait
    response = post_file(client, jpeg_bytes(120, 40, exif=exif.tobytes()))
    assert response.get_json()["image"] == {"width": 40, "height": 120}
    assert identifier.seen[0].shape == (120, 40, 3)


def test_oversized_body_is_413(client):
    response = post_file(client, jpeg_bytes() + b"\x00" * MAX_BYTES)
    assert_error(response, 413, "payload_too_large")
    validate_response(response, IDENTIFY, "post")


def test_oversized_raw_body_is_413(client):
    response = client.post(IDENTIFY, data=b"\xff\xd8\xff" + b"\x00" * MAX_BYTES,
                           content_type="image/jpeg")
    assert_error(response, 413, "payload_too_large")


def post_chunked(app, data: bytes):
    """A raw body without Content-Length, as a server that de-chunks hands it over.

    Run straight through WSGI: the test client would put a Content-Length back.
    """
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    environ = EnvironBuilder(path=IDENTIFY, method="POST", input_stream=io.BytesIO(data),
                             content_type="image/jpeg").get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    return app.response_class(b"".join(body), status, headers)


def test_chunked_raw_body(app):
    assert post_chunked(app, jpeg_bytes()).status_code == 200


def test_chunked_raw_body_over_the_limit_is_413_not_truncated(app):
    # Werkzeug cuts a streamed body at MAX_CONTENT_LENGTH without an error; the view must
    # notice, or the cut image would be reported as corrupt (400) instead of too large.
    response = post_chunked(app, jpeg_bytes() + b"\x00" * MAX_BYTES)
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("data", [gif_bytes(), bmp_bytes(), b"just some text\n"],
                         ids=["gif", "bmp", "text"])
def test_unsupported_types_are_415(client, data):
    response = post_file(client, data, filename="photo.jpg")  # the name lies; bytes decide
    assert_error(response, 415, "unsupported_image_type")
    validate_response(response, IDENTIFY, "post")


@pytest.mark.parametrize("content_type", ["text/plain", "application/json",
                                          "application/x-www-form-urlencoded"])
def test_unsupported_request_types_are_415(client, content_type):
    response = client.post(IDENTIFY, data=b'{"image": "x"}', content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    validate_response(response, IDENTIFY, "post")


def test_raw_gif_is_415(client):
    assert_error(client.post(IDENTIFY, data=gif_bytes(), content_type="image/gif"), 415,
                 "unsupported_image_type")


def test_truncated_jpeg_is_400(client):
    data = jpeg_bytes(320, 240)
    response = post_file(client, data[: len(data) // 3])
    assert_error(response, 400, "corrupt_image")
    validate_response(response, IDENTIFY, "post")


def test_zero_byte_upload_is_400(client):
    assert_error(post_file(client, b""), 400, "empty_image")
    assert_error(client.post(IDENTIFY, data=b"", content_type="image/jpeg"), 400, "empty_image")
    assert_error(client.post(IDENTIFY), 400, "empty_image")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [100_000, 20_000, 1_500])
def test_decompression_bomb_is_400(client, identifier, side):
    response = post_file(client, bomb_png(side, side), filename="bomb.png")
    assert_error(response, 400, "too_many_pixels")
    validate_response(response, IDENTIFY, "post")
    assert identifier.seen == []


@pytest.mark.parametrize("field", ["photo", "file", "images"])
def test_wrong_field_name_is_400(client, field):
    response = post_file(client, jpeg_bytes(), field=field)
    assert_error(response, 400, "missing_image")
    validate_response(response, IDENTIFY, "post")


def test_image_sent_as_a_text_field_is_400(client):
    response = client.post(IDENTIFY, data={"image": "not a file"}, content_type="multipart/form-data")
    assert_error(response, 400, "missing_image")


def test_malformed_multipart_is_400_not_500(client):
    response = client.post(IDENTIFY, data=b"--x\r\nContent-Disposition: form-data; name=\"image\"\r\n",
                           content_type="multipart/form-data; boundary=x")
    assert 400 <= response.status_code < 500
    schema_validator("Error").validate(response.get_json())


def test_get_on_identify_is_405_with_allow_header(client):
    response = client.get(IDENTIFY)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_identifier_failure_is_a_logged_json_500(tmp_path, caplog):
    class Broken(FixedIdentifier):
        def identify(self, image):
            raise RuntimeError("model exploded")

    client = make_app(tmp_path, Broken()).test_client()
    with caplog.at_level(logging.ERROR):
        response = post_file(client, jpeg_bytes())
    body = assert_error(response, 500, "internal_error")
    validate_response(response, IDENTIFY, "post")
    assert "exploded" not in body["error"]["message"]  # internals are logged, not leaked
    assert any("model exploded" in (record.exc_text or "") or record.exc_info for record in caplog.records)


def test_numpy_values_from_the_pipeline_are_plain_json(tmp_path):
    class NumpyIdentifier(FixedIdentifier):
        def identify(self, image):
            result = super().identify(image)
            detection = result["detections"][0]
            detection["box"] = np.asarray(detection["box"], dtype=np.float32)
            detection["score"] = np.float32(0.5)
            detection["matches"][0]["inliers"] = np.int64(64)
            return result

    response = post_file(make_app(tmp_path, NumpyIdentifier()).test_client(), jpeg_bytes())
    assert response.status_code == 200
    validate_response(response, IDENTIFY, "post")
    assert response.get_json()["detections"][0]["score"] == 0.5


def test_nan_from_the_pipeline_is_a_500_not_invalid_json(tmp_path):
    class NanIdentifier(FixedIdentifier):
        def identify(self, image):
            result = super().identify(image)
            result["bands"][0]["score"] = float("nan")
            return result

    response = post_file(make_app(tmp_path, NanIdentifier()).test_client(), jpeg_bytes())
    assert_error(response, 500, "internal_error")


# -- bands ----------------------------------------------------------------------------------

def test_band_by_id(client):
    response = client.get("/api/v1/bands/186")
    assert response.status_code == 200
    validate_response(response, "/api/v1/bands/{band_id}")
    band = response.get_json()
    assert band["name"] == "Cannibal Corpse"
    assert band["url"] == "https://www.metal-archives.com/bands/Cannibal_Corpse/186"
    assert band["updated_at"]  # ISO 8601, a date-time string
    # What to listen to next: the scrape's similar artists, most recommended first.
    ranked = [(other["band_id"], other["score"]) for other in band["similar"]]
    assert ranked == [(77, 240), (125, 120), (3540, 7)]
    assert client.get("/api/v1/bands/125").get_json()["similar"] == []


@pytest.mark.parametrize("band_id", ["999", "9223372036854775808", "9" * 30])
def test_unknown_band_is_404(client, band_id):
    response = client.get(f"/api/v1/bands/{band_id}")
    assert_error(response, 404, "band_not_found")
    validate_response(response, "/api/v1/bands/{band_id}")


@pytest.mark.parametrize("path", ["/api/v1/bands/abc", "/api/v1/bands/-1", "/nope", "/static/nope.js"])
def test_unknown_routes_are_json_404(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_search(client):
    response = client.get("/api/v1/bands?q=cannibal")
    assert response.status_code == 200
    validate_response(response, "/api/v1/bands")
    body = response.get_json()
    assert body["query"] == "cannibal" and body["limit"] == 20
    assert [band["band_id"] for band in body["bands"]] == [186]


def test_search_ignores_accents_and_honours_limit(client):
    body = client.get("/api/v1/bands?q=motorhead").get_json()
    assert [band["name"] for band in body["bands"]] == ["Mötörhead"]
    assert body["bands"][0]["url"] is None
    assert len(client.get("/api/v1/bands?q=d&limit=1").get_json()["bands"]) == 1


@pytest.mark.parametrize("query", ["", "?q=", "?q=%20%20", "?q=" + "a" * 101, "?limit=5"])
def test_search_without_a_usable_query_is_400(client, query):
    response = client.get(f"/api/v1/bands{query}")
    assert_error(response, 400, "invalid_query")
    validate_response(response, "/api/v1/bands")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "1.5", "", "٣", "9" * 5000])
def test_search_with_a_bad_limit_is_400(client, limit):
    response = client.get(f"/api/v1/bands?q=death&limit={limit}")
    assert_error(response, 400, "invalid_limit")
    validate_response(response, "/api/v1/bands")


def test_search_query_with_like_wildcards_is_literal(client):
    assert client.get("/api/v1/bands?q=%25").get_json()["bands"] == []
    assert client.get("/api/v1/bands?q=_").get_json()["bands"] == []


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_wrong_methods_on_band_routes_are_405(client, method):
    assert_error(getattr(client, method)("/api/v1/bands/186"), 405, "method_not_allowed")
    assert_error(getattr(client, method)("/api/v1/bands?q=x"), 405, "method_not_allowed")


# -- the rest -------------------------------------------------------------------------------

def test_healthz(client):
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok"}
    validate_response(response, "/healthz")


def test_page_is_served_with_a_strict_content_security_policy(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    validate_response(response, "/")
    page = response.get_data(as_text=True)
    assert 'name="viewport"' in page and 'capture="environment"' in page
    assert "http://" not in page.replace('href="https://www.metal-archives.com/"', "")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("asset", ["app.js", "app.css"])
def test_static_assets_are_served(client, asset):
    response = client.get(f"/static/{asset}")
    assert response.status_code == 200
    assert "http://" not in response.get_data(as_text=True)


def test_create_app_without_a_store_opens_the_configured_database(tmp_path, monkeypatch):
    from retrieval.store import Store
    from server import create_app

    url = f"sqlite:///{tmp_path / 'configured.sqlite'}"
    Store.open(url, create=True).upsert("bands", [{"band_id": 1, "name": "Configured"}])
    monkeypatch.setenv("KYB_DATABASE_URL", url)
    client = create_app(FixedIdentifier()).test_client()
    assert client.get("/api/v1/bands/1").get_json()["name"] == "Configured"
