"""Migration 0002 creates exactly what store.models declares (no drift for the next autogenerate)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import store.report_list  # noqa: F401  (registers console_search on Base.metadata)
from store.models import Base
from tests.console.conftest import ConsoleDB


async def test_migrated_schema_matches_the_models(console_db: ConsoleDB) -> None:
    def diff(sync_conn) -> list:  # noqa: ANN001
        return compare_metadata(MigrationContext.configure(sync_conn), Base.metadata)

    async with console_db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    ours = {"accounts", "console_sessions", "login_throttle", "account_tokens", "account_events",
            "console_search"}
    indexes = {f"ix_reports_{n}" for n in ("status_created", "agency_created", "status_due",
                                            "channel_created", "category_created", "ward_created")}
    # Only the console's tables and the reports indexes it adds (other migrations have their tests).
    # ix_console_search_trgm exists only where pg_trgm could be installed: not in the models.
    relevant = [c for c in changes if any(name in repr(c) for name in ours | indexes)
                and "ix_console_search_trgm" not in repr(c)]
    assert relevant == []
    async with console_db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: c.dialect.get_table_names(c)))
    assert ours <= tables
