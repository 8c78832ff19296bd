"""Primary keys handed out before the INSERT, so that the inbox worker writes a whole batch of
reports, their events and their outbox rows with one executemany statement per table
(``write_new_rows``; an ORM object without its id is inserted alone, with RETURNING), and so
that a new report has its id — and its public code — without a round trip per report.

- PostgreSQL: ids come from the table's own sequence, a block at a time (``nextval`` over
  ``generate_series``); an unused rest is a gap, as a rolled-back INSERT leaves one.
- SQLite: the transaction first takes the database's single write lock (a no-op UPDATE: BEGIN
  is deferred), so ``max(id) + 1`` onward cannot be taken by anyone else before it commits.

A block belongs to the transaction that reserved it; the next transaction starts over. Rows of
a table must not be inserted without an id in a transaction while it holds a block of that
table: only ``create_report`` (reports) and ``write_new_rows`` (right before the commit) take
ids.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from store.models import Attachment, OutboxMessage, Report, ReportEvent
from store.txn import peek_scoped

BLOCK = 64  # ids per nextval round trip on PostgreSQL, per max(id) read on SQLite


@dataclass
class _Block:
    ids: list[int] = field(default_factory=list)
    high: int = 0  # the highest id reserved (SQLite: the next block starts above it)


async def next_id(session: AsyncSession, model: type) -> int:
    """An id for a new ``model`` row, now (before it is added or flushed)."""
    return await session.run_sync(lambda sync: take(sync, model.__table__, 1)[0])


def take(session: Session, table: Table, n: int) -> list[int]:
    blocks: dict[str, _Block] = peek_scoped(session, "reserved_ids", dict)
    block = blocks.setdefault(table.name, _Block())
    while len(block.ids) < n:
        fresh = _reserve(session, table, max(BLOCK, n - len(block.ids)), block.high)
        block.ids.extend(fresh)
        block.high = fresh[-1]
    taken, block.ids[:] = block.ids[:n], block.ids[n:]
    return taken


def _reserve(session: Session, table: Table, n: int, high: int) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
            f"FROM generate_series(1, {int(n)})"))
        return sorted(r[0] for r in rows)
    with session.no_autoflush:
        session.execute(text(f"UPDATE {table.name} SET id = id WHERE 0"))  # the write lock
        top = session.execute(select(func.max(table.c.id))).scalar() or 0
    # above ids this transaction handed out earlier and may not have written yet
    top = max(top, high)
    return list(range(top + 1, top + 1 + n))


# --- Writing a batch's new rows -------------------------------------------------------------
# Parents first: a row's foreign keys name rows written before it.
BULK_MODELS = (Report, Attachment, ReportEvent, OutboxMessage)


async def write_new_rows(session: AsyncSession) -> int:
    """Insert the session's new reports, attachments, report events and outbox rows with one
    executemany statement per table (Core, no per-object unit-of-work bookkeeping), then let
    the session forget them: call it right before the commit, when nothing will touch those
    objects again in this transaction. What the session still holds (updated contacts, inbox
    rows) is flushed by the commit as usual. Returns the number of rows written."""
    return await session.run_sync(_write_new_rows)


def _write_new_rows(session: Session) -> int:
    with session.no_autoflush:  # the ORM must not write these objects itself meanwhile
        return _write_pending(session)


def _write_pending(session: Session) -> int:
    pending = [o for o in session.new if type(o) in BULK_MODELS]
    if not pending:
        return 0
    pending.sort(key=lambda o: inspect(o).insert_order)
    written = 0
    for model in BULK_MODELS:
        objs = [o for o in pending if type(o) is model]
        if not objs:
            continue
        missing = [o for o in objs if o.id is None]
        for obj, id_ in zip(missing, take(session, model.__table__, len(missing)), strict=True):
            obj.id = id_
        columns = [c for c in model.__table__.columns]
        rows = [{c.key: _value(obj, c) for c in columns} for obj in objs]
        session.execute(model.__table__.insert(), rows)
        written += len(rows)
    for obj in pending:
        session.expunge(obj)
    return written


def _value(obj: Any, column: Any) -> Any:
    state = obj.__dict__
    if column.key in state:
        return state[column.key]
    default = column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)
    return default.arg
