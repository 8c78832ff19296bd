"""Migration 0002 creates exactly what store.models declares (no drift for the next autogenerate)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.models import Base
from tests.console.conftest import ConsoleDB


async def test_migrated_schema_matches_the_models(console_db: ConsoleDB) -> None:
    def diff(sync_conn) -> list:  # noqa: ANN001
        return compare_metadata(MigrationContext.configure(sync_conn), Base.metadata)

    async with console_db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    ours = {"accounts", "console_sessions", "login_throttle", "account_tokens", "account_events"}
    # Only look at the console's tables and the reports indexes it adds.
    relevant = [c for c in changes if any(name in repr(c) for name in ours) or "ix_reports_" in repr(c)]
    assert relevant == []
    async with console_db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: c.dialect.get_table_names(c)))
    assert ours <= tables
