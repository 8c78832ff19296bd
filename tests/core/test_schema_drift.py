"""The migrations create exactly what the models declare: the next ``alembic revision
--autogenerate`` starts from an empty diff (the raw-SQL search indexes are left to the
migrations by store.db.include_object), on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.db import include_object, make_engine, migrate, schema_metadata


async def test_no_drift_between_migrations_and_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        await migrate(engine)

        def diff(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(sync_conn, opts={"include_object": include_object})
            return compare_metadata(context, schema_metadata())

        async with engine.connect() as conn:
            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert changes == []
