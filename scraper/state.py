"""The scrape's memory, kept in the band database so that a crawl killed at any moment
(even `kill -9`) resumes where it stopped.

Two kinds of step, each one database transaction:
- reading one page of a band list (a browse letter or an artist search) queues its bands
  and moves that list's cursor past the page;
- finishing a band writes its rows and marks it done (or failed) in the queue.
A kill before the commit loses only the work of that step, which the next run redoes;
every write is an upsert, so redoing it duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from retrieval.store import Store, utcnow

PENDING, DONE, FAILED = "pending", "done", "error"


@dataclass(frozen=True)
class QueuedBand:
    band_id: int
    url: str
    source: str


@dataclass(frozen=True)
class Cursor:
    """How far a band list has been read."""

    next_start: int
    total: int | None
    done: bool


@dataclass(frozen=True)
class Failure:
    """One page that failed, as recorded in `scrape_errors`."""

    kind: str
    url: str | None
    message: str


class CrawlState:
    def __init__(self, store: Store):
        self.store = store
        self.schema = store.schema

    def cursor(self, source: str) -> Cursor:
        table = self.schema.scrape_sources
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.source == source)).mappings().first()
        if row is None:
            return Cursor(0, None, False)
        return Cursor(row["next_start"], row["total"], bool(row["done"]))

    def record_list_page(self, source: str, start: int, rows_read: int, total: int,
                         bands: Sequence[dict]) -> int:
        """Store what the list shows of its bands, queue them and move the cursor, in one
        transaction. Bands already queued (or finished) keep their state. `bands` must
        all carry the same fields. Returns the cursor's new start."""
        next_start = start + rows_read
        done = rows_read == 0 or next_start >= total
        queue = [{"band_id": band["band_id"], "source": source, "position": start + index,
                  "url": band["url"], "status": PENDING, "attempts": 0}
                 for index, band in enumerate(bands)]
        with self.store.begin() as conn:
            self.store.upsert("bands", bands, conn=conn)
            self.store.upsert("scrape_queue", queue, conn=conn, update=False)
            self.store.upsert("scrape_sources", [{
                "source": source, "next_start": next_start, "total": total, "done": done,
            }], conn=conn)
        return next_start

    def pending(self, source: str, limit: int) -> list[QueuedBand]:
        """The next bands of `source` still to scrape, in list order."""
        queue = self.schema.scrape_queue
        query = (sa.select(queue.c.band_id, queue.c.url, queue.c.source)
                 .where(queue.c.status == PENDING, queue.c.source == source)
                 .order_by(queue.c.position, queue.c.band_id).limit(limit))
        with self.store.engine.connect() as conn:
            return [QueuedBand(*row) for row in conn.execute(query)]

    def requeue_failed(self, sources: Sequence[str]) -> int:
        """Give bands that failed in an earlier run another try."""
        queue = self.schema.scrape_queue
        with self.store.begin() as conn:
            result = conn.execute(
                sa.update(queue)
                .where(queue.c.status == FAILED, queue.c.source.in_(list(sources)))
                .values(status=PENDING, updated_at=utcnow()))
        return result.rowcount

    def record_failures(self, conn: Connection, band_id: int | None,
                        failures: Sequence[Failure]) -> None:
        """Replace a band's recorded failures by those of its latest attempt (for a
        list page, `band_id` is None and failures accumulate)."""
        errors = self.schema.scrape_errors
        if band_id is not None:
            conn.execute(sa.delete(errors).where(errors.c.band_id == band_id))
        if failures:
            now = utcnow()
            conn.execute(sa.insert(errors), [
                {"band_id": band_id, "kind": f.kind, "url": (f.url or "")[:1024],
                 "message": f.message, "created_at": now} for f in failures])

    def record_list_failure(self, failure: Failure) -> None:
        with self.store.begin() as conn:
            self.record_failures(conn, None, [failure])

    def finish_band(self, conn: Connection, band_id: int, failed: bool) -> None:
        queue = self.schema.scrape_queue
        conn.execute(sa.update(queue).where(queue.c.band_id == band_id).values(
            status=FAILED if failed else DONE, attempts=queue.c.attempts + 1,
            updated_at=utcnow()))

    def replace_children(self, conn: Connection, table_name: str, band_id: int,
                         rows: Sequence[dict]) -> None:
        """Make a band's similar artists or links exactly `rows` (the site's current list)."""
        table = self.schema.table(table_name)
        conn.execute(sa.delete(table).where(table.c.band_id == band_id))
        self.store.upsert(table_name, [{**row, "band_id": band_id} for row in rows], conn=conn)
