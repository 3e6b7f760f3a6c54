"""The web page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

The real app runs on 127.0.0.1 (random port) with the test-double identifier; the browser
uploads a generated photo the way a person does and must show the boxes and the band
cards. Locally the tests skip when Chromium or Playwright is missing; under CI=true they
fail instead (scripts/install-assets installs chromium, the dev extras Playwright).
Screenshots go to /tmp/kyb_web_*.png for a person to look at.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import skip_or_fail
from tests.test_server_support import CANNIBAL_CORPSE, encode, gif_bytes, make_app, photo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path("/tmp")
#: The test double's first box, as fractions of the image: x1, y1, x2, y2.
MATCH_BOX = (0.1, 0.2, 0.6, 0.5)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is absent (apt-get install chromium; scripts/install-assets)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("web"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def shirt_photo(tmp_path) -> Path:
    path = tmp_path / "shirt.jpg"
    path.write_bytes(encode(photo(800, 600), "JPEG", quality=90))
    return path


def open_page(browser, base_url, **context_options):
    """A fresh page on the app, recording every URL it requests."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto(base_url)
    return page


def assert_only_local_requests(page, base_url):
    outside = [url for url in page.requested
               if not url.startswith((base_url, "blob:", "data:"))]
    assert outside == [], f"the page loaded from outside: {outside}"


def assert_result_shown(page):
    link = page.locator(".card h3 a")
    link.wait_for(timeout=15_000)
    assert link.inner_text() == CANNIBAL_CORPSE["name"]
    assert link.get_attribute("href") == CANNIBAL_CORPSE["url"]
    cards = page.locator(".card")
    assert cards.count() == 2
    matched = cards.nth(0).inner_text()
    assert "United States" in matched and "Death Metal" in matched and "91%" in matched
    assert "Named by logo and text" in matched and 'Text read: "CANNIBAIN"' in matched
    assert "Unknown band" in page.locator(".card.unknown").inner_text()
    assert "Found 1 band" in page.locator("#status").inner_text()
    similar = page.locator(".card .similar")
    similar.wait_for(timeout=15_000)
    assert similar.inner_text() == "Similar: Deicide, Death, Mötörhead"
    assert similar.locator("a").first.get_attribute("href") == "https://www.metal-archives.com/bands/Deicide/77"


def assert_box_drawn_over_the_photo(page):
    image = page.locator("#preview").bounding_box()
    box = page.locator(".box.match").bounding_box()
    assert image and box and image["width"] > 0
    got = ((box["x"] - image["x"]) / image["width"], (box["y"] - image["y"]) / image["height"],
           (box["x"] + box["width"] - image["x"]) / image["width"],
           (box["y"] + box["height"] - image["y"]) / image["height"])
    assert got == pytest.approx(MATCH_BOX, abs=0.02), got
    assert page.locator(".box").count() == 2


def test_upload_shows_boxes_and_band_cards(browser, base_url, shirt_photo):
    page = open_page(browser, base_url, viewport={"width": 1280, "height": 900})
    page.set_input_files("#photo", str(shirt_photo))
    assert_result_shown(page)
    page.locator("#preview").evaluate("image => image.decode()")
    assert_box_drawn_over_the_photo(page)
    page.screenshot(path=str(SCREENSHOTS / "kyb_web_desktop.png"), full_page=True)
    assert_only_local_requests(page, base_url)
    page.context.close()


def test_phone_camera_upload_fits_the_screen(browser, base_url, shirt_photo):
    page = open_page(browser, base_url, viewport={"width": 390, "height": 844},
                     device_scale_factor=2, is_mobile=True, has_touch=True)
    camera = page.get_by_label("Take a photo")
    assert camera.get_attribute("capture") == "environment"
    assert camera.get_attribute("accept") == "image/*"
    camera.set_input_files(str(shirt_photo))
    assert_result_shown(page)
    page.locator("#preview").evaluate("image => image.decode()")
    assert_box_drawn_over_the_photo(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("#preview").bounding_box()["width"] <= 390
    page.screenshot(path=str(SCREENSHOTS / "kyb_web_phone.png"), full_page=True)
    page.context.close()


def test_dropping_a_photo_identifies_it(browser, base_url):
    page = open_page(browser, base_url)
    payload = base64.b64encode(encode(photo(400, 300), "PNG")).decode()
    page.evaluate("""payload => {
        const bytes = Uint8Array.from(atob(payload), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
        document.getElementById("upload").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", payload)
    assert_result_shown(page)
    page.context.close()


def test_a_rejected_file_shows_the_servers_message(browser, base_url, tmp_path):
    path = tmp_path / "animation.gif"
    path.write_bytes(gif_bytes())
    page = open_page(browser, base_url)
    page.set_input_files("#photo", str(path))
    status = page.locator("#status.error")
    status.wait_for(timeout=15_000)
    assert "JPEG, PNG and WebP" in status.inner_text()
    assert page.locator("#result").is_hidden()
    page.context.close()


def test_controls_have_accessible_names(browser, base_url):
    page = open_page(browser, base_url)
    assert page.get_by_label("Choose a photo").get_attribute("type") == "file"
    assert page.get_by_label("Take a photo").get_attribute("type") == "file"
    assert page.get_by_role("status").count() == 1
    assert page.get_by_role("heading", name="Know Your Bands").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.context.close()
