"""Migration 0002 creates exactly what store.models declares (no drift for the next autogenerate);
0008 (the search index) goes down and up again on a database with reports; 0010 clears the
duplicate_of kept by reports reopened from duplicate; 0011 empties the public search index."""
from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import store.report_list  # noqa: F401  (registers console_search on Base.metadata)
from store.db import _alembic_config
from store.models import Base
from tests.console.conftest import ConsoleDB


def _migrate(sync_conn, db: ConsoleDB, target: str) -> None:  # noqa: ANN001
    """Alembic on this connection: "head" upgrades, any other revision is a downgrade to it."""
    from alembic import command


    cfg = _alembic_config(str(db.engine.url))
    cfg.attributes["connection"] = sync_conn
    (command.upgrade if target == "head" else command.downgrade)(cfg, target)


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
    # Not in the models: ix_console_search_trgm (only where pg_trgm could be installed), 0008's
    # expression index on PostgreSQL and its FTS5 table (and FTS5's own tables) on SQLite.
    unmodelled = ("ix_console_search_trgm", "ix_console_search_grams", "console_search_fts")
    relevant = [c for c in changes if any(name in repr(c) for name in ours | indexes)
                and not any(name in repr(c) for name in unmodelled)]
    assert relevant == []
    async with console_db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: c.dialect.get_table_names(c)))
    assert ours <= tables


async def test_search_index_migration_down_and_up(console_db: ConsoleDB) -> None:
    """0008 on a database already searched: its upgrade computes the grams of the reports folded
    before it and indexes them (they are found at once, the job has nothing to redo); its
    downgrade removes the column, the FTS5 table and its triggers (SQLite) or the index."""
    from sqlalchemy import inspect, text

    from store.models import utcnow
    from store.report_list import QueueFilter, QueueScope, list_reports, refresh_search_text

    old = utcnow() - timedelta(days=2)
    pothole = await console_db.add_report(description="Ổ gà lớn giữa đường Lê Lợi", created_at=old, updated_at=old)
    await console_db.add_report(description="Đèn đường hỏng", created_at=old, updated_at=old)
    async with console_db.sessions() as session, session.begin():
        assert await refresh_search_text(session) == 2

    def schema(sync_conn) -> tuple[set[str], set[str], set[str]]:  # noqa: ANN001
        insp = inspect(sync_conn)
        columns = {c["name"] for c in insp.get_columns("console_search")}
        indexes = {i["name"] for i in insp.get_indexes("console_search")}
        names = set()
        if sync_conn.dialect.name == "sqlite":
            names = {n for (n,) in sync_conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'console_search_fts%'"))}
        return columns, indexes, names

    async with console_db.engine.begin() as conn:
        await conn.run_sync(_migrate, console_db, "0007")
    async with console_db.engine.connect() as conn:
        columns, indexes, names = await conn.run_sync(schema)
    assert "grams" not in columns and "ix_console_search_grams" not in indexes and names == set()
    async with console_db.engine.begin() as conn:
        await conn.run_sync(_migrate, console_db, "head")
    async with console_db.engine.connect() as conn:
        columns, indexes, names = await conn.run_sync(schema)
        grams = (await conn.execute(text("SELECT grams FROM console_search WHERE report_id = :id"),
                                    {"id": pothole.id})).scalar_one()
    assert "grams" in columns and "|o " in grams and "|ga " in grams and "|lo " in grams
    if console_db.engine.dialect.name == "sqlite":
        assert {"console_search_fts", "console_search_fts_insert", "console_search_fts_update",
                "console_search_fts_delete"} <= names
    else:
        assert "ix_console_search_grams" in indexes
    async with console_db.sessions() as session:
        page = await list_reports(session, QueueFilter(q="o ga le loi"), QueueScope(), now=utcnow())
    assert [r.code for r in page.reports] == [pothole.code]


async def test_stale_duplicate_of_is_cleared_by_0010(console_db: ConsoleDB) -> None:
    """A report reopened from ``duplicate`` before set_status cleared the field kept its old
    ``duplicate_of``; 0010 clears it there and keeps it on reports still merged."""
    from sqlalchemy import text


    original = await console_db.add_report(description="Ổ gà giữa đường Lê Lợi")
    reopened = await console_db.add_report(description="Ổ gà Lê Lợi", status="triage")
    merged = await console_db.add_report(description="Ổ gà đường Lê Lợi", status="duplicate")

    async with console_db.engine.begin() as conn:
        await conn.run_sync(_migrate, console_db, "0009")
        await conn.execute(text("UPDATE reports SET duplicate_of = :code WHERE id IN (:a, :b)"),
                           {"code": original.code, "a": reopened.id, "b": merged.id})
    async with console_db.engine.begin() as conn:
        await conn.run_sync(_migrate, console_db, "head")
    async with console_db.engine.connect() as conn:
        rows = dict((await conn.execute(text("SELECT id, duplicate_of FROM reports"))).all())
    assert rows == {original.id: None, reopened.id: None, merged.id: original.code}


async def test_public_search_index_is_emptied_by_0011(console_db: ConsoleDB) -> None:
    """The public index keeps text as the masking of its time left it (a citizen's middle name
    once hid a street's: "chu *** an"); 0011 empties it, and the portal's first pass refolds."""
    from sqlalchemy import text


    report = await console_db.add_report(description="Quán nhậu ở 15 Chu Văn An", status="forwarded")

    async with console_db.engine.begin() as conn:
        await conn.run_sync(_migrate, console_db, "0010")
        await conn.execute(text("INSERT INTO report_search (report_id, text, source_updated_at) "
                                "VALUES (:id, 'quan nhau o 15 chu *** an', :at)"),
                           {"id": report.id, "at": report.updated_at})
        await conn.execute(text("INSERT INTO report_words (word, report_id) VALUES ('chu', :id)"),
                           {"id": report.id})
    async with console_db.engine.begin() as conn:
        await conn.run_sync(_migrate, console_db, "head")
    async with console_db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM report_search"))).scalar() == 0
        assert (await conn.execute(text("SELECT count(*) FROM report_words"))).scalar() == 0
