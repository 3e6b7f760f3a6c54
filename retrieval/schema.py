"""The band database schema (ARCHITECTURE.md contract), one definition for every engine.

The contract tables are `bands`, `albums` and `references` with exactly the contract's
column names. Everything else is additive: `bands.name_key` (the search key),
`references.source_key` (what makes scraped references idempotent), the scraper's
resumable state (`scrape_sources`: how far each band list, a letter or a search, has
been read; `scrape_queue`: every band found and whether its pages are done;
`scrape_errors`: what failed, page by page), what band pages
carry beyond the contract (`similar_bands`, `band_links`) and `kyb_meta`, which holds
the schema version so that old code refuses a newer database instead of corrupting it.

Types are chosen to behave the same on SQLite and MySQL/MariaDB: ids are BIGINT on MySQL
(Metal Archives band ids exceed 2**31) and INTEGER on SQLite, where INTEGER is 64-bit and
an INTEGER primary key is the rowid itself (no second index, autoincrement). The name
key is byte-ordered on MySQL (utf8mb4_bin) and NOCASE on SQLite, the collation under
which SQLite's LIKE can use the index.
`references` is a reserved word in MySQL; SQLAlchemy quotes it in every statement.

An optional table-name prefix lets several databases share one schema namespace (tests
run side by side in MariaDB's `test` database without touching each other's tables).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

#: Bump when a release changes the schema; `Store.check_schema` compares it.
SCHEMA_VERSION = 1

_MYSQL = ("mysql", "mariadb")
_ID = BigInteger().with_variant(Integer(), "sqlite")
_LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), *_MYSQL)
_NAME_KEY = (
    String(255)
    .with_variant(mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_bin"), *_MYSQL)
    .with_variant(String(255, collation="NOCASE"), "sqlite")
)
_TABLE_OPTIONS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


@dataclass(frozen=True)
class Schema:
    """The tables of one database, under one table-name prefix."""

    metadata: MetaData
    bands: Table
    albums: Table
    references: Table
    similar_bands: Table
    band_links: Table
    scrape_sources: Table
    scrape_queue: Table
    scrape_errors: Table
    meta: Table

    def table(self, name: str) -> Table:
        """A table by its unprefixed name ("bands", "references", ...)."""
        return getattr(self, name)


def build_schema(prefix: str = "") -> Schema:
    """Define every table, named `prefix + name`, in a fresh MetaData."""
    md = MetaData()

    def table(name, *items):
        return Table(f"{prefix}{name}", md, *items, **_TABLE_OPTIONS)

    def band_fk():
        return ForeignKey(f"{prefix}bands.band_id", ondelete="CASCADE")

    bands = table(
        "bands",
        Column("band_id", _ID, primary_key=True, autoincrement=False),
        Column("name", String(255), nullable=False),
        Column("name_key", _NAME_KEY, nullable=False),
        Column("url", String(512)),
        Column("country", String(100)),
        Column("location", String(255)),
        Column("status", String(32)),
        Column("formed_in", String(32)),
        Column("genre", String(255)),
        Column("themes", String(512)),
        Column("label", String(255)),
        Column("years_active", String(512)),
        Column("logo_url", String(512)),
        Column("photo_url", String(512)),
        Column("comment", _LONG_TEXT),
        Column("updated_at", DateTime),
        Index(f"{prefix}ix_bands_name_key", "name_key"),
    )
    albums = table(
        "albums",
        Column("album_id", _ID, primary_key=True, autoincrement=False),
        Column("band_id", _ID, band_fk(), nullable=False),
        Column("title", String(512)),
        Column("type", String(64)),
        Column("year", Integer),
        Column("url", String(512)),
        Column("cover_url", String(512)),
        Index(f"{prefix}ix_albums_band_id", "band_id"),
    )
    references = table(
        "references",
        Column("ref_id", _ID, primary_key=True, autoincrement=True),
        Column("band_id", _ID, band_fk(), nullable=False),
        Column("album_id", _ID),
        Column("kind", String(8), nullable=False),
        Column("path", String(1024), nullable=False),
        Column("sha256", String(64)),
        Column("width", Integer),
        Column("height", Integer),
        Column("source_key", String(255), unique=True),
        CheckConstraint("kind IN ('logo', 'album')", name=f"{prefix}ck_references_kind"),
        Index(f"{prefix}ix_references_band_id", "band_id"),
        Index(f"{prefix}ix_references_sha256", "sha256"),
    )
    similar_bands = table(
        "similar_bands",
        Column("band_id", _ID, band_fk(), primary_key=True, autoincrement=False),
        Column("similar_id", _ID, primary_key=True, autoincrement=False),
        Column("name", String(255)),
        Column("url", String(512)),
        Column("country", String(100)),
        Column("genre", String(255)),
        Column("score", Integer),
    )
    band_links = table(
        "band_links",
        Column("band_id", _ID, band_fk(), primary_key=True, autoincrement=False),
        Column("link_id", _ID, primary_key=True, autoincrement=False),
        Column("category", String(100)),
        Column("title", String(255)),
        Column("url", String(2048)),
    )
    scrape_sources = table(
        "scrape_sources",
        Column("source", String(64), primary_key=True),
        Column("next_start", Integer, nullable=False, default=0),
        Column("total", Integer),
        Column("done", Boolean, nullable=False, default=False),
        Column("updated_at", DateTime),
    )
    scrape_queue = table(
        "scrape_queue",
        Column("band_id", _ID, primary_key=True, autoincrement=False),
        Column("source", String(64), nullable=False),
        Column("position", Integer, nullable=False),
        Column("url", String(512), nullable=False),
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("updated_at", DateTime),
        Index(f"{prefix}ix_scrape_queue_status", "status", "source", "position"),
    )
    scrape_errors = table(
        "scrape_errors",
        Column("error_id", _ID, primary_key=True, autoincrement=True),
        Column("band_id", _ID),
        Column("kind", String(32), nullable=False),
        Column("url", String(1024)),
        Column("message", Text, nullable=False),
        Column("created_at", DateTime),
        Index(f"{prefix}ix_scrape_errors_band_id", "band_id"),
    )
    meta = table(
        "kyb_meta",
        Column("key", String(64), primary_key=True),
        Column("value", String(255), nullable=False),
    )
    return Schema(md, bands, albums, references, similar_bands, band_links,
                  scrape_sources, scrape_queue, scrape_errors, meta)
