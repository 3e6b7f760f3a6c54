"""The band database: one SQLAlchemy Core code path for SQLite and MySQL/MariaDB.

SQLAlchemy Core (not the ORM) gives one dialect-neutral SQL layer and connection
pooling; the only dialect-specific statement is the upsert (`ON DUPLICATE KEY UPDATE`
on MySQL, `ON CONFLICT DO UPDATE` on SQLite), built in one place. Writes are idempotent
upserts so that every importer and the scraper can be re-run, or killed and re-run,
without duplicating a row.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pymysql
import sqlalchemy as sa
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from retrieval.config import database_url
from retrieval.normalize import name_key
from retrieval.schema import SCHEMA_VERSION, Schema, build_schema

#: Columns of each contract table that lookups return (the search key stays internal).
BAND_FIELDS = (
    "band_id", "name", "url", "country", "location", "status", "formed_in", "genre",
    "themes", "label", "years_active", "logo_url", "photo_url", "comment", "updated_at",
)
#: Rows per executemany; large enough to amortise round trips, small enough that one
#: multi-row INSERT stays well under MySQL's max_allowed_packet.
BATCH_SIZE = 2000
#: Ids per `IN (...)` list, below SQLite's historical 999-variable limit.
_IN_CHUNK = 500
#: A pooled MySQL connection idle for longer than this is pinged before reuse.
IDLE_PING_S = 10.0
_MYSQL = ("mysql", "mariadb")


class StoreError(RuntimeError):
    """The database cannot be used as asked (bad URL, wrong schema, bad rows)."""


def utcnow() -> datetime:
    """Naive UTC, the one time representation both engines store alike."""
    return datetime.now(UTC).replace(tzinfo=None)


def create_engine(url: str) -> Engine:
    """An engine for a SQLite or MySQL/MariaDB URL, tuned for each.

    MySQL URLs always go through pymysql (ARCHITECTURE.md) with utf8mb4. Pooled
    connections are recycled hourly and pinged when they come out of the pool after
    sitting idle, so a server restart or idle timeout never surfaces as "MySQL server
    has gone away". SQLite gets WAL (readers never block the writer, which matters while
    a scrape runs), enforced foreign keys and a busy timeout.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend in _MYSQL:
        parsed = parsed.set(drivername=f"{backend}+pymysql")
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        engine = sa.create_engine(parsed, pool_recycle=3600)
        sa.event.listen(engine, "connect", _note_idle_since)
        sa.event.listen(engine, "checkin", _note_idle_since)
        sa.event.listen(engine, "checkout", _ping_if_idle)
        return engine
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    raise StoreError(f"unsupported database {backend!r}: use sqlite:/// or mysql+pymysql://")


def _note_idle_since(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Ping a connection that sat in the pool for a while before handing it out.

    SQLAlchemy's pool_pre_ping would ping on every checkout: one more round trip per
    query, a third of a 10-id lookup's time. A connection in steady use is alive;
    only one idle long enough to have been dropped by the server needs the check.
    """
    if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_PING_S:
        return
    try:
        dbapi_connection.ping(reconnect=False)
    except (OSError, pymysql.err.Error) as exc:
        raise sa.exc.DisconnectionError(f"stale pooled connection: {exc}") from exc


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _like_prefix(key: str) -> str:
    """A LIKE pattern matching strings that start with `key` literally ('/' escapes)."""
    return key.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


class Store:
    """The band database behind one engine (pooled connections) and one table prefix."""

    def __init__(self, engine: Engine, prefix: str = ""):
        self.engine = engine
        self.prefix = prefix
        self.schema: Schema = build_schema(prefix)
        self.is_mysql = engine.dialect.name in _MYSQL
        self._plans: dict[str, dict[str, tuple[str, int | None]]] = {}

    @classmethod
    def open(cls, url: str | None = None, *, prefix: str = "", create: bool = False) -> Store:
        """Connect to `url` (default: `KYB_DATABASE_URL` or the embedded SQLite file).

        With `create`, missing tables are created; otherwise a database without the KYB
        schema, or with another schema version, is refused with a clear message.
        """
        store = cls(create_engine(url or database_url()), prefix)
        try:
            if create:
                store.create_schema()
            else:
                store.check_schema()
        except BaseException:
            store.close()
            raise
        return store

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def schema_version(self) -> int | None:
        """The version recorded in the database, or None where there is none."""
        meta = self.schema.meta
        if not sa.inspect(self.engine).has_table(meta.name):
            return None
        with self.engine.connect() as conn:
            value = conn.scalar(sa.select(meta.c.value).where(meta.c.key == "schema_version"))
        return None if value is None else int(value)

    def check_schema(self) -> None:
        """Refuse a database that lacks the schema or carries another version of it."""
        version = self.schema_version()
        if version is None:
            raise StoreError(f"{self.display_url} has no Know Your Bands schema; "
                             "run `kyb db init` first")
        self._refuse_other_version(version)

    def _refuse_other_version(self, version: int) -> None:
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self.display_url} has schema version {version}, this code "
                             f"expects {SCHEMA_VERSION}; use a matching release of kyb")

    def create_schema(self) -> None:
        """Create missing tables and record the schema version (idempotent).

        The version is checked before anything is created, so pointing new code at a
        database of another version changes nothing.
        """
        version = self.schema_version()
        if version is not None:
            self._refuse_other_version(version)
        self.schema.metadata.create_all(self.engine)
        if version is None:
            with self.begin() as conn:
                conn.execute(sa.insert(self.schema.meta),
                             {"key": "schema_version", "value": str(SCHEMA_VERSION)})

    def drop_schema(self) -> None:
        """Drop every table of this schema (tests and benchmarks clean up with it)."""
        self.schema.metadata.drop_all(self.engine)

    # -- writes ---------------------------------------------------------------------------

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any exception."""
        with self.engine.begin() as conn:
            yield conn

    def upsert(self, table_name: str, rows: Iterable[dict], *, conn: Connection | None = None,
               key: Sequence[str] | None = None, update: bool = True,
               batch_size: int = BATCH_SIZE) -> int:
        """Insert `rows`, or update the stored row with the same `key` (default: primary key).

        With `update=False` a row whose key is already stored is left as it is ("insert
        if absent": the scraper queues bands without resetting finished ones).
        Only the columns present in the rows are written, so a partial row (the band
        list of a browse page) never blanks fields a fuller source (the band page) has
        filled. Every row should carry the same columns. Values are coerced to the
        column types and over-long strings are clipped to the column width, so one odd
        value cannot abort a large import. Returns the number of rows sent.
        """
        table = self.schema.table(table_name)
        prepared = [self._coerce(table, row) for row in rows]
        if not prepared:
            return 0
        columns = list(prepared[0])
        key = list(key or (c.name for c in table.primary_key.columns))
        missing = [c for c in key if c not in columns]
        if missing:
            raise StoreError(f"{table_name}: rows lack key column(s) {', '.join(missing)}")
        params = [{c: row.get(c) for c in columns} for row in prepared]
        statement = self._upsert_statement(table, columns if update else key, key)
        if conn is None:
            with self.begin() as own:
                for chunk in _chunks(params, batch_size):
                    own.execute(statement, list(chunk))
        else:
            for chunk in _chunks(params, batch_size):
                conn.execute(statement, list(chunk))
        return len(params)

    def _upsert_statement(self, table: sa.Table, columns: list[str], key: list[str]):
        updates = [c for c in columns if c not in key]
        if self.is_mysql:
            stmt = mysql_dialect.insert(table)
            # "key = key" keeps "insert if absent" without INSERT IGNORE, which would
            # also swallow real errors.
            if not updates:
                return stmt.on_duplicate_key_update({key[0]: table.c[key[0]]})
            return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in updates})
        stmt = sqlite_dialect.insert(table)
        if not updates:
            return stmt.on_conflict_do_nothing(index_elements=key)
        return stmt.on_conflict_do_update(
            index_elements=key, set_={c: stmt.excluded[c] for c in updates})

    def _plan(self, table: sa.Table) -> dict[str, tuple[str, int | None]]:
        """column -> ("int" | "str" | "any", maximum length), worked out once per table
        (imports coerce millions of values, so per-value work stays a dict lookup)."""
        plan = self._plans.get(table.name)
        if plan is None:
            plan = {}
            for column in table.columns:
                if isinstance(column.type, sa.Integer):
                    plan[column.name] = ("int", None)
                elif isinstance(column.type, sa.String):
                    plan[column.name] = ("str", column.type.length)
                else:
                    plan[column.name] = ("any", None)
            self._plans[table.name] = plan
        return plan

    def _coerce(self, table: sa.Table, row: dict) -> dict:
        plan = self._plan(table)
        out = {}
        for name, value in row.items():
            spec = plan.get(name)
            if spec is None:
                continue
            kind, length = spec
            if value.__class__ is str:
                value = value.strip() or None
            if value is not None:
                if kind == "int":
                    if value.__class__ is not int:
                        try:
                            value = int(value)
                        except (TypeError, ValueError) as exc:
                            raise StoreError(f"{table.name}.{name}: {value!r} is not an "
                                             "integer") from exc
                elif kind == "str":
                    if value.__class__ is not str:
                        value = str(value)
                    if length and len(value) > length:
                        value = value[:length]
            out[name] = value
        if "name" in out and "name_key" in plan:
            if not out["name"]:
                raise StoreError(f"{table.name}: a row has no name")
            out["name_key"] = name_key(out["name"])
        if "updated_at" in plan and "updated_at" not in out:
            out["updated_at"] = utcnow()
        return out

    # -- reads ----------------------------------------------------------------------------

    def _get_by_ids(self, table: sa.Table, id_column: str, ids: Iterable[int],
                    columns: Sequence[str] | None = None) -> dict[int, dict]:
        wanted = sorted({int(i) for i in ids})
        selected = [table.c[c] for c in columns] if columns else list(table.c)
        found = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted, _IN_CHUNK):
                query = sa.select(*selected).where(table.c[id_column].in_(chunk))
                for row in conn.execute(query).mappings():
                    found[row[id_column]] = dict(row)
        return found

    def get_bands(self, band_ids: Iterable[int]) -> dict[int, dict]:
        """Band rows by id, in one query per 500 ids; absent ids are simply missing."""
        return self._get_by_ids(self.schema.bands, "band_id", band_ids, BAND_FIELDS)

    def get_albums(self, album_ids: Iterable[int]) -> dict[int, dict]:
        return self._get_by_ids(self.schema.albums, "album_id", album_ids)

    def get_references(self, ref_ids: Iterable[int]) -> dict[int, dict]:
        return self._get_by_ids(self.schema.references, "ref_id", ref_ids)

    def get_similar(self, band_id: int, limit: int = 10) -> list[dict]:
        """The bands Metal Archives lists as similar to `band_id` (what a scrape stored),
        most recommended first: band_id, name, url, country, genre, score each."""
        table = self.schema.similar_bands
        query = (sa.select(table.c.similar_id.label("band_id"), table.c.name, table.c.url, table.c.country,
                           table.c.genre, table.c.score)
                 .where(table.c.band_id == int(band_id))
                 .order_by(table.c.score.desc(), table.c.similar_id).limit(int(limit)))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def all_references(self) -> list[dict]:
        """Every reference row (what `kyb index build --from-db` indexes), by ref_id."""
        table = self.schema.references
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.ref_id)).mappings()
            return [dict(row) for row in rows]

    def band_names(self) -> list[tuple[int, str]]:
        """(band_id, name) of every band, in one read: what the text lookup indexes."""
        bands = self.schema.bands
        with self.engine.connect() as conn:
            return [(row[0], row[1]) for row in conn.execute(sa.select(bands.c.band_id, bands.c.name))]

    def album_titles(self, band_ids: Iterable[int]) -> list[tuple[int, str]]:
        """(band_id, title) of the titled albums of `band_ids`, in one query per 500 ids."""
        albums = self.schema.albums
        with self.engine.connect() as conn:
            return [(row[0], row[1]) for chunk in _chunks(sorted({int(i) for i in band_ids}), _IN_CHUNK)
                    for row in conn.execute(sa.select(albums.c.band_id, albums.c.title).where(
                        albums.c.band_id.in_(chunk), albums.c.title.is_not(None)))]

    def search_bands(self, query: str, limit: int = 20) -> list[dict]:
        """Bands whose name starts with `query`, ignoring case, accents and spacing.

        A prefix LIKE on the indexed, normalised `name_key`, ordered by that key: both
        engines answer it with an index range scan that stops after `limit` rows.
        """
        key = name_key(query)
        if not key:
            return []
        bands = self.schema.bands
        statement = (
            sa.select(*(bands.c[c] for c in BAND_FIELDS))
            .where(bands.c.name_key.like(_like_prefix(key), escape="/"))
            .order_by(bands.c.name_key, bands.c.band_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(statement).mappings()]

    def counts(self) -> dict[str, int]:
        """Rows per table, for `kyb db stats` and the scraper's summary."""
        tables = self.schema.metadata.sorted_tables
        with self.engine.connect() as conn:
            return {
                table.name.removeprefix(self.prefix): conn.scalar(
                    sa.select(sa.func.count()).select_from(table))
                for table in tables
            }

    def count_by(self, table_name: str, column: str) -> dict[str, int]:
        """Rows per distinct value of one column (references by kind, queue by status)."""
        table = self.schema.table(table_name)
        statement = sa.select(table.c[column], sa.func.count()).group_by(table.c[column])
        with self.engine.connect() as conn:
            return {value: count for value, count in conn.execute(statement)}
