"""Migrations 0003/0005 create exactly the portal's tables and indexes (no drift for the next
autogenerate), on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import store.public_models  # noqa: F401  (registers the portal's tables on Base.metadata)
from store.db import make_engine, migrate
from store.models import Base

OURS = ("report_moderation", "report_search", "work_calendar", "ix_portal_")


async def test_portal_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        await migrate(engine)

        def diff(sync_conn: Any) -> list[Any]:
            return compare_metadata(MigrationContext.configure(sync_conn), Base.metadata)

        async with engine.connect() as conn:
            changes = await conn.run_sync(diff)
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert [c for c in changes if any(name in repr(c) for name in OURS)] == []
    assert {"report_moderation", "report_search", "work_calendar"} <= tables
