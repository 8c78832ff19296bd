"""Primary keys handed out before the INSERT, so that the inbox worker writes a whole batch of
reports, their events and their outbox rows with one executemany statement per table
(``write_new_rows``; an ORM object without its id is inserted alone, with RETURNING), and so
that a new report has its id — and its public code — without a round trip per report.

- PostgreSQL: ids come from the table's own sequence, a block at a time (``nextval`` over
  ``generate_series``; blocks grow from what is asked to ``BLOCK``); an unused rest is a gap,
  as a rolled-back INSERT leaves one.
- SQLite: the transaction first takes the database's single write lock (a no-op UPDATE: BEGIN
  is deferred), so ``max(id) + 1`` onward cannot be taken by anyone else before it commits.

A block belongs to the transaction that reserved it; the next transaction starts over. Rows of
a table must not be inserted without an id in a transaction while it holds a block of that
table: only ``create_report`` (reports) and ``write_new_rows`` (right before the commit) take
ids.

Staging (``stage_new_rows``): in the inbox worker's transactions, new report events and outbox
rows — two to four per report, never changed again by the ORM once made — are not added to the
session at all. ``add_row`` builds them without the ORM's per-attribute instrumentation and keeps
them in a list of the transaction; ``write_new_rows`` writes them with the rest. Any ORM
statement of the transaction that reads or changes those tables first writes what is staged
(``_write_held_back_before``), so the transaction still reads its own writes. The same hook
runs the writes a transaction defers (``defer_writes``: the inbox worker's inbox marks).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Table, event, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, configure_mappers
from sqlalchemy.orm.attributes import manager_of_class
from sqlalchemy.sql.util import find_tables

from store.models import Attachment, OutboxMessage, Report, ReportEvent
from store.txn import held_scoped, peek_scoped

T = TypeVar("T")

BLOCK = 64  # ids per nextval round trip on PostgreSQL, at most
# A transaction's first reservation of a table is as small as it asks (one report: one id), each
# next one twice the last, up to BLOCK: a quiet hub's report codes follow each other
# (PA-…-000004 after 000003, not 000065), and a batch of hundreds still takes a few round trips.
# What a transaction reserved and did not use is a gap in the sequence (at most half its use).
# On SQLite a block is only a range above max(id) under the write lock: ids not used leave no
# gap (the next transaction reads max(id) again), so one read serves a whole batch.
SQLITE_BLOCK = 1024


@dataclass
class _Block:
    ids: list[int] = field(default_factory=list)
    high: int = 0  # the highest id reserved (SQLite: the next block starts above it)
    size: int = 1  # PostgreSQL: the next reservation's size (grows to BLOCK)


RESERVED = "reserved_ids"  # session.info: this transaction's blocks, by table name


async def next_id(session: AsyncSession, model: type) -> int:
    """An id for a new ``model`` row, now (before it is added or flushed)."""
    block = peek_scoped(session, RESERVED, dict).get(model.__table__.name)
    if block is not None and block.ids:  # reserved already: no round trip
        return block.ids.pop(0)
    return await session.run_sync(lambda sync: take(sync, model.__table__, 1)[0])


def take(session: Session, table: Table, n: int) -> list[int]:
    blocks: dict[str, _Block] = peek_scoped(session, RESERVED, dict)
    block = blocks.setdefault(table.name, _Block())
    while len(block.ids) < n:
        fresh = _reserve(session, table, max(block.size, n - len(block.ids)), block.high)
        block.size = min(BLOCK, block.size * 2)
        block.ids.extend(fresh)
        block.high = fresh[-1]
    taken, block.ids[:] = block.ids[:n], block.ids[n:]
    return taken


def _reserve(session: Session, table: Table, n: int, high: int) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        # no autoflush: a reservation in the middle of a batch must not write the reports added
        # so far one statement at a time (the batch goes in with one INSERT per table)
        with session.no_autoflush:
            rows = session.execute(text(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                f"FROM generate_series(1, {int(n)})")).all()
        return sorted(r[0] for r in rows)
    with session.no_autoflush:
        session.execute(text(f"UPDATE {table.name} SET id = id WHERE 0"))  # the write lock
        top = session.execute(select(func.max(table.c.id))).scalar() or 0
    # above ids this transaction handed out earlier and may not have written yet
    top = max(top, high)
    return list(range(top + 1, top + 1 + max(n, SQLITE_BLOCK)))


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
    pending = sorted((o for o in session.new if type(o) in BULK_MODELS),
                     key=lambda o: inspect(o).insert_order)
    # the session's own first (in the order they were added), then the staged ones
    written = _insert(session, [*pending, *_take_staged(session)])
    for obj in pending:
        session.expunge(obj)
    return written


def _insert(session: Session, objs: list[Any]) -> int:
    """``objs`` with one executemany INSERT per table, parents first; ids taken for those
    without one."""
    dialect = session.get_bind().dialect
    for model in BULK_MODELS:
        rows = [o for o in objs if type(o) is model]
        if not rows:
            continue
        table = model.__table__
        missing = [o for o in rows if o.id is None]
        for obj, id_ in zip(missing, take(session, table, len(missing)), strict=True):
            obj.__dict__["id"] = id_
        if dialect.name == "sqlite":
            sql, build = _driver_insert(table, dialect)
            session.connection().exec_driver_sql(sql, [build(obj.__dict__) for obj in rows])
        else:
            columns = list(table.columns)
            session.execute(table.insert(), [{c.key: _value(obj, c) for c in columns} for obj in rows])
    return len(objs)


_DRIVER_INSERTS: dict[tuple[str, str], tuple[str, Callable[[dict[str, Any]], tuple]]] = {}


def _driver_insert(table: Table, dialect: Any) -> tuple[str, Callable[[dict[str, Any]], tuple]]:
    """The table's INSERT of every column as the driver's own SQL, and the function that makes
    one row's parameters, in their order, from an object's ``__dict__``: each column's value as
    ``_value`` gives it, through the column type's bind processor (what SQLAlchemy would apply).
    Executed with the driver's executemany, this skips SQLAlchemy's per-row parameter
    bookkeeping; the stored values are the same (tests/pipeline/test_staged_rows.py)."""
    key = (dialect.name, table.name)
    cached = _DRIVER_INSERTS.get(key)
    if cached is None:
        compiled = table.insert().compile(dialect=dialect)
        by_key = {c.key: c for c in table.columns}
        columns = [by_key[name] for name in compiled.positiontup or ()]
        if len(columns) != len(by_key):
            raise RuntimeError(f"{table.name}: the compiled INSERT does not name every column")
        cached = _DRIVER_INSERTS[key] = (str(compiled), _row_builder(columns, dialect))
    return cached


def _row_builder(columns: list[Any], dialect: Any) -> Callable[[dict[str, Any]], tuple]:
    """One function per table that reads every column from a ``__dict__`` in one expression:
    the per-value loop of a generic builder costs more than the values themselves on wide
    tables (a report has 30 columns, and a batch writes hundreds of them)."""
    names: dict[str, Any] = {}
    parts = []
    for i, column in enumerate(columns):
        missing = _default_expr(column, names, i)
        value = f"(d[{column.key!r}] if {column.key!r} in d else {missing})"
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            names[f"p{i}"] = process
            value = f"p{i}({value})"
        parts.append(value)
    source = f"def build(d):\n    return ({', '.join(parts)},)\n"
    exec(compile(source, f"<insert row of {columns[0].table.name}>", "exec"), names)  # noqa: S102
    return names["build"]


def _default_expr(column: Any, names: dict[str, Any], i: int) -> str:
    """The source of a column's value when the object does not set it (as ``_value``)."""
    default = column.default
    if default is None:
        return "None"
    names[f"d{i}"] = default.arg
    return f"d{i}(None)" if default.is_callable else f"d{i}"


def new_object(model: type[T], **values: Any) -> T:
    """A new ``model`` object with these column values set as they are, without the ORM's
    per-attribute events (a third of the cost of ``model(**values)`` on a 30-column report);
    add it to the session as usual, and change it through its attributes afterwards. Column
    values only (no relationships). The inbox worker makes a report per event this way."""
    if not inspect(model).configured:
        configure_mappers()  # what the first constructor call would have done
    obj = manager_of_class(model).new_instance()
    obj.__dict__.update(values)  # the columns' values as given; defaults are added when written
    return obj


# --- Staged rows ------------------------------------------------------------------------------
STAGED = "staged_rows"
STAGED_MODELS = (ReportEvent, OutboxMessage)
_STAGED_TABLES = frozenset(m.__table__.name for m in STAGED_MODELS)


def stage_new_rows(session: AsyncSession | Session) -> None:
    """From now until this transaction ends, ``add_row`` stages report events and outbox rows
    instead of adding them to the session (the transaction must have begun)."""
    peek_scoped(session, STAGED, list)


def _take_staged(session: Session) -> list[Any]:
    """What is staged, taken out of the stage (so that it is written once)."""
    stage = held_scoped(session, STAGED)
    if not stage:
        return []
    rows = list(stage)
    stage.clear()
    return rows


def add_row(session: AsyncSession | Session, model: type[T], **values: Any) -> T:
    """A new ``model`` row (a report event, an outbox row) in this transaction: staged when
    the transaction stages (``stage_new_rows``), else added to the session as usual."""
    staged = held_scoped(session, STAGED) if model in STAGED_MODELS else None
    if staged is None:
        obj = model(**values)
        session.add(obj)
        return obj
    obj = new_object(model, **values)
    staged.append(obj)
    return obj


# --- Deferred writes --------------------------------------------------------------------------
DEFERRED = "deferred_writes"


def defer_writes(session: AsyncSession | Session, table: str, write: Callable[[Session], None]) -> None:
    """For the rest of this transaction, ``write`` (a function of the sync session that writes
    what this transaction holds back for ``table``, and nothing when it holds nothing) runs
    before every statement that reads or changes ``table``, so the transaction still reads its
    own writes; the caller also runs it before the commit. The inbox worker marks its inbox
    rows this way (hub.workers)."""
    peek_scoped(session, DEFERRED, dict)[table] = write


@event.listens_for(Session, "do_orm_execute")
def _write_held_back_before(state: ORMExecuteState) -> None:
    """A statement of a transaction that holds rows back — staged report events and outbox
    rows, deferred writes — sees them if it reads or changes their tables: they are written
    first (the staged ones after the session's own pending rows, which they may refer to)."""
    session = state.session
    staged, deferred = held_scoped(session, STAGED), held_scoped(session, DEFERRED)
    if not (staged or deferred) or state.is_insert:
        return
    touched = {getattr(t, "name", None) for t in find_tables(
        state.statement, check_columns=True, include_joins=True, include_crud=True)}
    if staged and not touched.isdisjoint(_STAGED_TABLES):
        rows = _take_staged(session)
        session.flush()  # the reports they refer to
        _insert(session, rows)
    for table, write in (deferred or {}).items():
        if table in touched:
            write(session)


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
