"""Probe 9: SQLite commits that an acknowledgement waits for are fsynced (synchronous=FULL in
WAL mode), by default and in the running hub; NORMAL only when asked for."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from hub.keys import HUB_KEY
from store.db import make_engine


async def _mode(engine) -> tuple[str, int]:
    async with engine.connect() as conn:
        journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        sync = (await conn.execute(text("PRAGMA synchronous"))).scalar()
    return journal, sync


@pytest.mark.parametrize("asked, expected", [(None, 2), ("FULL", 2), ("NORMAL", 1), ("EXTRA", 3)])
async def test_engine_synchronous(sqlite_url, asked, expected):
    engine = make_engine(sqlite_url) if asked is None else make_engine(sqlite_url, sqlite_synchronous=asked)
    try:
        assert await _mode(engine) == ("wal", expected)
    finally:
        await engine.dispose()


async def test_the_hub_runs_with_full_by_default(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    assert await _mode(client.app[HUB_KEY].engine) == ("wal", 2)


def test_an_unknown_mode_is_refused(sqlite_url):
    with pytest.raises(ValueError):
        make_engine(sqlite_url, sqlite_synchronous="OFF")
