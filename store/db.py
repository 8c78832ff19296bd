"""Engine, sessions and migrations. One owner (the app's cleanup_ctx or the CLI) per engine."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# What the migrations create with raw SQL and no model declares: SQLite's FTS5 index of the
# console search (a virtual table and its shadow tables, kept by triggers) and the trigram
# indexes over console_search. Autogenerate must neither drop nor re-create them.
RAW_SQL_TABLES = ("console_search_fts",)
RAW_SQL_INDEXES = ("ix_console_search_trgm", "ix_console_search_grams")


def schema_metadata() -> Any:
    """Every table the models declare (some modules register theirs on import)."""
    import store.public_models  # noqa: F401
    import store.report_list  # noqa: F401
    from store.models import Base

    return Base.metadata


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's autogenerate filter: leave alone what the migrations make with raw SQL."""
    if type_ == "table" and name and name.startswith(RAW_SQL_TABLES):
        return False
    return not (type_ == "index" and name in RAW_SQL_INDEXES)


T = TypeVar("T")


SQLITE_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")


def make_engine(url: str, echo: bool = False, sqlite_synchronous: str = "FULL") -> AsyncEngine:
    """``sqlite_synchronous``: FULL (default) fsyncs the WAL at every commit, so a commit that a
    webhook acknowledgement waited for survives a power loss; NORMAL (faster, see
    bench/ingest.py --synchronous) may lose the last commits on power loss, never on a crash."""
    if sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and ":memory:" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has a single writer anyway, and when two of our own
        # connections contend for it, SQLite's busy handler backs off in sleeps of up to 100 ms,
        # so a writer can lose the race again and again (seen: webhook acks waiting > 1 s behind
        # the workers). With one pooled connection, waiters queue in order on the event loop.
        # Every use of a session is short and never nests another session.
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30},
                                     pool_size=1, max_overflow=0, pool_timeout=60)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous.upper()}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


async def write_probe(engine: AsyncEngine, holder: str) -> None:
    """Prove the database takes a durable write now (readiness): insert and delete a probe
    row in one committed transaction. Raises what the database raises."""
    from sqlalchemy import delete, insert

    from store.models import Lease, utcnow

    name = f"probe:{holder}"[:64]
    async with engine.begin() as conn:
        await conn.execute(delete(Lease).where(Lease.name == name))
        await conn.execute(insert(Lease).values(name=name, holder=holder[:64], expires_at=utcnow()))
        await conn.execute(delete(Lease).where(Lease.name == name))


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str):  # noqa: ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic migration (idempotent). On PostgreSQL an advisory lock keeps two
    replicas starting together from migrating at once."""
    from alembic import command

    def _upgrade(sync_conn) -> None:  # noqa: ANN001
        cfg = _alembic_config(str(engine.url))
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        if is_postgres(engine):
            from sqlalchemy import text

            await conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        await conn.run_sync(_upgrade)


async def with_database(url: str, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]],
                        **engine_kw: Any) -> T:
    """What a CLI command does with the database: open it, migrate it, run ``work`` with a
    session factory, close it — whatever happens."""
    engine = make_engine(url, **engine_kw)
    try:
        await migrate(engine)
        return await work(sessionmaker(engine))
    finally:
        await engine.dispose()


def migrate_sync(url: str) -> None:
    async def nothing(_sessions: async_sessionmaker[AsyncSession]) -> None:
        return None

    asyncio.run(with_database(url, nothing))
