"""The band database store, the same suite on SQLite and on a real MariaDB/MySQL server.

MySQL runs use a unique table prefix in the shared `test` database and drop their
tables afterwards, so parallel runs never see each other's rows. Without a server the
MySQL half skips on a developer machine and fails under CI (tests/conftest.py).
"""

import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.dialects import mysql
from sqlalchemy.schema import CreateTable

from kyb.cli import cli
from retrieval import store as store_module
from retrieval.config import database_url
from retrieval.normalize import name_key
from retrieval.schema import SCHEMA_VERSION, build_schema
from retrieval.store import Store, StoreError
from tests.conftest import REPO_ROOT

MINI = REPO_ROOT / "tests" / "fixtures" / "metal-archives-mini"


@pytest.fixture(scope="module")
def mysql_store(mysql_url):
    """One schema under a unique prefix for the module: DDL is slow on MariaDB."""
    opened = Store.open(mysql_url, prefix=f"t{uuid.uuid4().hex[:10]}_", create=True)
    try:
        yield opened
    finally:
        opened.drop_schema()
        opened.close()


@pytest.fixture(params=["sqlite", "mysql"])
def store(request, tmp_path):
    """An empty band database with the schema, on each engine."""
    if request.param == "sqlite":
        with Store.open(f"sqlite:///{tmp_path / 'kyb.sqlite'}", create=True) as opened:
            yield opened
        return
    opened = request.getfixturevalue("mysql_store")
    yield opened
    with opened.begin() as conn:  # leave it empty and current for the next test
        for table in reversed(opened.schema.metadata.sorted_tables):
            conn.execute(sa.delete(table))
        conn.execute(sa.insert(opened.schema.meta),
                     {"key": "schema_version", "value": str(SCHEMA_VERSION)})


def band(band_id, name, **fields):
    return {"band_id": band_id, "name": name, **fields}


def test_schema_creation_is_idempotent_and_versioned(store):
    store.create_schema()
    store.check_schema()
    assert store.schema_version() == SCHEMA_VERSION
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {f"{store.prefix}{name}" for name in ("bands", "albums", "references")} <= tables


def test_another_schema_version_is_refused_and_left_untouched(store):
    meta = store.schema.meta
    with store.begin() as conn:
        conn.execute(sa.update(meta).values(value="999"))
    with pytest.raises(StoreError, match="schema version 999"):
        store.check_schema()
    with pytest.raises(StoreError, match="schema version 999"):
        store.create_schema()
    assert store.schema_version() == 999


def test_a_database_without_the_schema_is_refused(store):
    url = store.engine.url.render_as_string(hide_password=False)
    with pytest.raises(StoreError, match="kyb db init"):
        Store.open(url, prefix=f"none{uuid.uuid4().hex[:6]}_")


def test_upsert_is_idempotent_and_partial_rows_keep_other_fields(store):
    rows = [band(1, "Death", country="United States", genre="Death Metal", status="Split-up"),
            band(2, "Mysterium", country="Portugal")]
    assert store.upsert("bands", rows) == 2
    store.upsert("bands", rows)
    store.upsert("bands", [band(1, "Death", status="Active")])  # a later, partial source
    found = store.get_bands([1, 2])
    assert store.counts()["bands"] == 2
    assert found[1]["status"] == "Active"
    assert found[1]["genre"] == "Death Metal" and found[1]["country"] == "United States"
    assert found[1]["updated_at"] is not None


def test_unicode_round_trips_and_long_values_are_clipped(store):
    name = "Ghöst 🤘 Bâthory — 鬼"
    store.upsert("bands", [band(7, name, genre="x" * 1000, comment="é" * 70_000)])
    got = store.get_bands([7])[7]
    assert got["name"] == name
    assert len(got["genre"]) == 255
    assert got["comment"] == "é" * 70_000


def test_rows_without_a_name_or_with_a_bad_id_are_refused(store):
    with pytest.raises(StoreError, match="no name"):
        store.upsert("bands", [band(1, "  ")])
    with pytest.raises(StoreError, match="not an integer"):
        store.upsert("bands", [band("x12", "Name")])


def test_lookup_by_ids_is_batched_and_exact(store):
    store.upsert("bands", [band(i, f"Band {i}") for i in range(1, 1301)])
    wanted = list(range(100, 1250)) + [999_999, 3_540_000_000]
    found = store.get_bands(wanted)
    assert sorted(found) == list(range(100, 1250))
    assert found[777]["name"] == "Band 777"
    assert store.get_bands([]) == {}


def test_name_search_ignores_case_and_accents_and_is_a_prefix_search(store):
    store.upsert("bands", [
        band(1, "Mötley Crüe"), band(2, "Motörhead"), band(3, "Tromsø Øl"),
        band(4, "100% Hate"), band(5, "1000 Hates"), band(6, "A_B"), band(7, "AxB"),
        band(8, "Łza"), band(9, "Iron   Maiden"), band(10, "Maiden Voyage"),
        band(11, "path/finder"), band(12, "pathXfinder"),
    ])

    def names(query, limit=20):
        return [row["name"] for row in store.search_bands(query, limit)]

    assert names("mot") == ["Mötley Crüe", "Motörhead"]
    assert names("MÖTÖ") == ["Motörhead"]
    assert names("mot", limit=1) == ["Mötley Crüe"]
    assert names("tromso ol") == ["Tromsø Øl"]
    assert names("100%") == ["100% Hate"]
    assert names("a_b") == ["A_B"]
    assert names("path/f") == ["path/finder"]
    assert names("lza") == ["Łza"]
    assert names("iron maiden") == ["Iron   Maiden"]
    assert names("maiden") == ["Maiden Voyage"]  # a prefix of the name, not of any word
    assert names("   ") == []
    assert names("zzz") == []


def test_name_key_normalisation():
    assert name_key("  Mötley   CRÜE ") == "motley crue"
    assert name_key("Straße") == "strasse"
    assert name_key("Ænima Łódź Þórr") == "aenima lodz thorr"
    assert name_key(None) == ""


def test_albums_and_references(store):
    store.upsert("bands", [band(32, "Rhapsody of Fire")])
    store.upsert("albums", [{"album_id": 107, "band_id": 32, "title": "Legendary Tales",
                             "type": "Full-length", "year": "1997", "url": "u", "cover_url": "c"}])
    logo = {"band_id": 32, "kind": "logo", "path": "/img/a.png", "sha256": "a" * 64,
            "width": 10, "height": 5, "source_key": "ma:logo:32:0"}
    store.upsert("references", [logo], key=["source_key"])
    store.upsert("references", [{**logo, "path": "/img/b.png", "sha256": "b" * 64}],
                 key=["source_key"])
    store.upsert("references", [{"ref_id": 5000, "band_id": 32, "album_id": 107,
                                 "kind": "album", "path": "/d/c.jpg"}])
    references = store.get_references(range(1, 6000))
    assert len(references) == 2
    scraped = next(row for row in references.values() if row["source_key"])
    assert scraped["path"] == "/img/b.png" and scraped["sha256"] == "b" * 64
    assert references[5000]["album_id"] == 107
    assert store.get_albums([107])[107]["year"] == 1997
    assert store.count_by("references", "kind") == {"logo": 1, "album": 1}
    with pytest.raises(sa.exc.IntegrityError):  # foreign key: no references to absent bands
        store.upsert("references", [{"band_id": 404, "kind": "logo", "path": "/x",
                                     "source_key": "x"}], key=["source_key"])
    with pytest.raises(sa.exc.DBAPIError):  # kind is logo or album (MariaDB: error 4025)
        store.upsert("references", [{"band_id": 32, "kind": "photo", "path": "/x",
                                     "source_key": "y"}], key=["source_key"])


def test_mysql_tables_are_utf8mb4(mysql_store):
    assert mysql_store.engine.url.query["charset"] == "utf8mb4"
    with mysql_store.engine.connect() as conn:
        collations = conn.execute(sa.text(
            "SELECT table_name, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name LIKE :prefix"),
            {"prefix": f"{mysql_store.prefix}%"}).all()
    assert len(collations) == len(mysql_store.schema.metadata.tables)
    assert all(collation.startswith("utf8mb4") for _name, collation in collations)


def test_a_pooled_connection_the_server_dropped_is_replaced(mysql_store, monkeypatch):
    mysql_store.engine.dispose()
    with mysql_store.engine.connect() as conn:  # the pool now holds this one connection
        doomed = conn.scalar(sa.text("SELECT CONNECTION_ID()"))
    killer = sa.create_engine(mysql_store.engine.url)
    with killer.connect() as conn:
        conn.execute(sa.text(f"KILL {int(doomed)}"))
    killer.dispose()
    monkeypatch.setattr(store_module, "IDLE_PING_S", 0.0)  # as if it had idled for long
    assert mysql_store.get_bands([1]) == {}
    with mysql_store.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT CONNECTION_ID()")) != doomed


def test_mysql_ddl_quotes_the_reserved_table_name():
    ddl = str(CreateTable(build_schema().references).compile(dialect=mysql.dialect()))
    assert "CREATE TABLE `references`" in ddl


def test_urls_default_and_unsupported(tmp_path, monkeypatch):
    monkeypatch.delenv("KYB_DATABASE_URL", raising=False)
    monkeypatch.setenv("KYB_DATA_DIR", str(tmp_path / "data"))
    assert database_url() == f"sqlite:///{tmp_path / 'data' / 'kyb.sqlite'}"
    with Store.open(create=True) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert (tmp_path / "data" / "kyb.sqlite").exists()
    with pytest.raises(StoreError, match="unsupported database"):
        Store.open("postgresql://localhost/x")


@pytest.fixture(params=["sqlite", "mysql"])
def fresh_database_url(request, tmp_path):
    """A URL to an empty database, without a table prefix (the real table names)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.sqlite'}"
        return
    server = sa.create_engine(request.getfixturevalue("mysql_url"))
    name = f"kyb_test_{uuid.uuid4().hex[:10]}"
    with server.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield server.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        server.dispose()


def test_kyb_db_commands(fresh_database_url):
    runner = CliRunner()
    env = {"KYB_DATABASE_URL": fresh_database_url}
    result = runner.invoke(cli, ["db", "stats"], env=env)
    assert result.exit_code != 0 and "kyb db init" in result.output

    for _ in range(2):
        result = runner.invoke(cli, ["db", "init"], env=env)
        assert result.exit_code == 0, result.output
    browse = str(MINI / "browse" / "X_000000.json")
    for _ in range(2):
        result = runner.invoke(cli, ["db", "import", browse], env=env)
        assert result.exit_code == 0, result.output
        assert "2 bands" in result.output

    result = runner.invoke(cli, ["db", "stats"], env=env)
    assert result.exit_code == 0, result.output
    assert [line.split() for line in result.output.splitlines()[1:4]] == [
        ["bands", "2"], ["albums", "0"], ["references", "0"]]

    result = runner.invoke(cli, ["db", "search", "XENO"], env=env)
    assert result.exit_code == 0 and "Xénophobic Mårch" in result.output
