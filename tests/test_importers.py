"""Importers: Metal Archives browse JSON, a CSV band roster, a dataset folder; on SQLite
and MariaDB (the `store` fixture of the store suite)."""

import hashlib

import pytest
from PIL import Image

from data.dataset import ALBUM_COLUMNS, BAND_COLUMNS, REFERENCE_COLUMNS, write_csv
from retrieval.importers import (
    ImportFailed,
    detect_format,
    import_browse_json,
    import_dataset,
    import_path,
    import_roster_csv,
)
from tests import test_store
from tests.conftest import shared_path

MINI = test_store.MINI
# The store suite's fixtures: every importer test runs on SQLite and on MariaDB.
store = test_store.store
mysql_store = test_store.mysql_store


def test_browse_json_import_is_idempotent(store):
    path = shared_path("fixtures", "metal-archives", "browse", "A_000000.json")
    for _ in range(2):
        report = import_browse_json(store, path)
        assert report.bands == 500 and report.skipped == 0
    assert store.counts()["bands"] == 500
    band = store.get_bands([108513])[108513]
    assert (band["name"], band["country"], band["genre"], band["status"]) == (
        "A Band of Orcs", "United States", "Death/Thrash Metal", "Active")
    assert band["url"] == "https://www.metal-archives.com/bands/A_Band_of_Orcs/108513"


def test_browse_json_import_of_the_mini_fixture(store):
    import_path(store, MINI / "browse" / "X_000000.json")
    assert [b["name"] for b in store.search_bands("x")] == ["Xénophobic Mårch", "Xylem Throne"]


def test_not_a_browse_answer_is_refused(store, tmp_path):
    bad = tmp_path / "page.json"
    bad.write_text("<html>Just a moment...</html>")
    with pytest.raises(ImportFailed, match="not a Metal Archives browse answer"):
        import_browse_json(store, bad)


def test_roster_csv_with_public_table_headers(store, tmp_path):
    roster = tmp_path / "bands.csv"
    roster.write_text(
        "\ufeffID,Band Name,Origin,Style,Status,Link,Lyrical Themes,Fans\n"
        "141,Death,United States,Death Metal,Split-up,"
        "https://www.metal-archives.com/bands/Death/141,Death,1000\n"
        ",Mysterium,Portugal,Gothic/Doom,Split-up,"
        "https://www.metal-archives.com/bands/Mysterium/72882,N/A,3\n"
        ",No Id Anywhere,Chile,Thrash,Active,,,\n"
        "9,,Chile,Thrash,Active,,,\n"
        "32,Rhapsody of Fire,Italy,Symphonic Power Metal,Active,,\"Fantasy, Epic\",500\n",
        encoding="utf-8")
    store.upsert("bands", [{"band_id": 141, "name": "Death", "location": "Florida"}])
    for _ in range(2):
        progress = []
        report = import_roster_csv(store, roster, batch_size=2, progress=progress.append)
        assert (report.bands, report.skipped) == (3, 2)
        assert progress == [2, 1]
    assert report.problems == ["bands.csv:4: no usable band id or name",
                               "bands.csv:5: no usable band id or name"]
    bands = store.get_bands([141, 72882, 32])
    assert len(bands) == 3 and store.counts()["bands"] == 3
    assert bands[141]["location"] == "Florida"  # not in the roster: kept
    assert (bands[141]["country"], bands[141]["genre"], bands[141]["themes"]) == (
        "United States", "Death Metal", "Death")
    assert bands[72882]["name"] == "Mysterium"  # id read from the URL
    assert bands[32]["themes"] == "Fantasy, Epic"


def test_roster_without_needed_columns_or_not_utf8_is_refused(store, tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("id,country\n1,Chile\n")
    with pytest.raises(ImportFailed, match="needs a name column"):
        import_roster_csv(store, roster)
    roster.write_bytes("id,name\n1,Mot\xf6rhead\n".encode("latin-1"))
    with pytest.raises(ImportFailed, match="not a readable UTF-8 CSV"):
        import_roster_csv(store, roster)
    assert store.counts()["bands"] == 0


def _png(path, size, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def dataset(tmp_path):
    """A small dataset folder with good and bad references."""
    root = tmp_path / "set"
    root.mkdir()
    write_csv(root / "bands.csv", BAND_COLUMNS, [
        {"band_id": 1, "name": "Alpha", "country": "Chile", "genre": "Thrash"},
        {"band_id": 2, "name": "Beta", "country": "Peru"},
        {"band_id": "", "name": "No id"},
    ])
    write_csv(root / "albums.csv", ALBUM_COLUMNS, [
        {"album_id": 10, "band_id": 1, "title": "First", "type": "Demo", "year": 1999},
        {"album_id": 11, "band_id": 77, "title": "Orphan"},
    ])
    shas = {
        "logo1": _png(root / "references" / "logo1.png", (40, 20), "red"),
        "cover10": _png(root / "references" / "cover10.png", (30, 30), "blue"),
    }
    (root / "references" / "broken.png").write_text("<html>404</html>")
    write_csv(root / "references.csv", REFERENCE_COLUMNS, [
        {"ref_id": 1, "band_id": 1, "album_id": "", "kind": "logo",
         "path": "references/logo1.png"},
        {"ref_id": 2, "band_id": 1, "album_id": 10, "kind": "album",
         "path": "references/cover10.png"},
        {"ref_id": 3, "band_id": 2, "album_id": "", "kind": "logo",
         "path": "references/missing.png"},
        {"ref_id": 4, "band_id": 2, "album_id": "", "kind": "logo",
         "path": "references/broken.png"},
        {"ref_id": 5, "band_id": 99, "album_id": "", "kind": "logo",
         "path": "references/logo1.png"},
    ])
    return root, shas


def test_dataset_folder_import(store, dataset):
    root, shas = dataset
    assert detect_format(root) == "dataset"
    for _ in range(2):
        progress = []
        report = import_path(store, root, progress=progress.append)
        assert (report.bands, report.albums, report.references) == (2, 1, 2)
        assert progress == [1] * 5  # one step per reference image read
        assert report.skipped == 5
    assert any("bands.csv:4" in p for p in report.problems)
    assert any("albums.csv:3" in p for p in report.problems)
    assert any("ref_id 3: cannot read" in p for p in report.problems)
    assert any("ref_id 4:" in p and "not a decodable image" in p for p in report.problems)
    assert any("ref_id 5: band_id 99" in p for p in report.problems)

    references = store.get_references([1, 2, 3, 4, 5])
    assert sorted(references) == [1, 2]
    logo = references[1]
    assert logo["path"] == str((root / "references" / "logo1.png").resolve())
    assert (logo["sha256"], logo["width"], logo["height"], logo["kind"]) == (
        shas["logo1"], 40, 20, "logo")
    assert references[2]["album_id"] == 10 and references[2]["sha256"] == shas["cover10"]
    assert store.get_albums([10])[10]["year"] == 1999
    assert store.counts()["references"] == 2


def test_dataset_refs_may_point_at_bands_already_in_the_database(store, dataset):
    root, _shas = dataset
    store.upsert("bands", [{"band_id": 99, "name": "Known Before"}])
    assert import_dataset(store, root).references == 3


def test_dataset_never_overwrites_scraped_references(store, dataset):
    root, _shas = dataset
    store.upsert("bands", [{"band_id": 1, "name": "Alpha"}])
    store.upsert("references", [{"ref_id": 2, "band_id": 1, "kind": "logo",
                                 "path": "/scraped.png", "source_key": "ma:logo:1:0"}])
    with pytest.raises(ImportFailed, match="already belong to scraped references"):
        import_dataset(store, root)
    assert store.get_references([2])[2]["path"] == "/scraped.png"


def test_format_detection(tmp_path):
    assert detect_format(tmp_path / "a.JSON") == "browse"
    assert detect_format(tmp_path / "b.csv") == "roster"
    with pytest.raises(ImportFailed, match="pass --format"):
        detect_format(tmp_path / "c.txt")
    with pytest.raises(ImportFailed, match="not a directory"):
        import_path(None, tmp_path / "nowhere", "dataset")
