"""From a scrape to an answer: `kyb scrape` of a local Metal Archives (the real fixture
pages, generated logos and covers), `kyb index build --from-db`, then `kyb identify` on a
photo of one scraped logo printed on a shirt names that band with its Metal Archives URL.
No internet: the site is a server on 127.0.0.1."""

import hashlib
import io
import json

import cv2
import numpy as np
from click.testing import CliRunner
from PIL import Image

from data.art import artwork
from data.imaging import to_uint8
from data.logos import design_logo, render_reference
from data.renditions import render_print
from kyb.cli import cli
from matching.presets import preset
from retrieval.store import Store
from tests.conftest import shared_path
from tests.index_support import TINY
from tests.scraper_site import FakeSite

PATHFINDER = 122302


def generated_image(path: str) -> bytes:
    """A band logo (for .../ID_logo.*) or a cover with its own art, different for every path."""
    rng = np.random.default_rng(list(hashlib.sha256(path.encode()).digest()[:8]))
    if "_logo" in path:
        image = to_uint8(render_reference(design_logo(f"Band {path}", rng), rng))
    else:
        image = to_uint8(np.clip(artwork(rng, 320, 320), 0, 1))
        cv2.putText(image, path[-12:], (10, 300), cv2.FONT_HERSHEY_DUPLEX, 0.8, (255, 255, 255), 2)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def shirt_photo(print_: np.ndarray) -> np.ndarray:
    """A photo of the shirt: the print with the garment around it (its corner colour), half
    the print's longest side on each side. A print filling the frame edge to edge is no
    photo a fan takes, and the detector boxes only a fragment of it."""
    height, width = print_.shape[:2]
    pad = max(height, width) // 2
    photo = np.empty((height + 2 * pad, width + 2 * pad, 3), np.uint8)
    photo[:] = print_[0, 0]
    photo[pad:pad + height, pad:pad + width] = print_
    return photo


def test_scrape_then_index_from_the_database_then_identify(tmp_path):
    pages = shared_path("fixtures", "metal-archives")
    database = f"sqlite:///{tmp_path / 'kyb.sqlite'}"
    runner = CliRunner()
    with FakeSite() as site:
        site.image_for = generated_image
        site.add_band(pages, "Pathfinder_122302.html", "P")
        site.add_band(pages, "Rhapsody_of_Fire_32.html", "P")
        scraped = runner.invoke(cli, ["scrape", "--letters", "P", "--base-url", site.base_url, "--delay", "0",
                                      "--images", str(tmp_path / "images"), "--database", database,
                                      "--no-progress"])
    assert scraped.exit_code == 0, scraped.output

    # The default logo path (verified, so a photo without a detector box is still asked),
    # without the renditions that make its build slow; tiny cover path.
    logo = {**preset("default")["logo"].to_dict(), "renditions": 0}
    preset_file = tmp_path / "preset.json"
    preset_file.write_text(json.dumps({"name": "small", "logo": logo, "album": TINY["album"].to_dict()}))
    built = runner.invoke(cli, ["index", "build", "--from-db", "--database", database, "--out",
                                str(tmp_path / "index"), "--preset-file", str(preset_file)])
    assert built.exit_code == 0, built.output
    assert "43 references (2 logos, 41 covers) of 2 bands" in built.output
    assert "gallery renditions" in built.output  # calibrated on itself: no photos were given

    with Store.open(database) as store:
        logo_path = next(row["path"] for row in store.all_references()
                         if row["band_id"] == PATHFINDER and row["kind"] == "logo")
    reference = np.asarray(Image.open(logo_path).convert("RGB"))
    photo = tmp_path / "shirt.jpg"
    Image.fromarray(shirt_photo(render_print(reference, np.random.default_rng(5)))).save(photo, quality=92)
    answered = runner.invoke(cli, ["identify", str(photo), "--index", str(tmp_path / "index"),
                                   "--database", database, "--json"])
    assert answered.exit_code == 0, answered.output
    result = json.loads(answered.output)[0]["result"]
    logos = [d for d in result["detections"] if d["kind"] == "logo" and d["verdict"] == "match"]
    assert logos and all(d["matches"][0]["band_id"] == PATHFINDER for d in logos), answered.output
    named = {band["band_id"]: band["url"] for band in result["bands"]}
    assert named[PATHFINDER] == "https://www.metal-archives.com/bands/Pathfinder/122302"
