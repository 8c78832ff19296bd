"""`hub backup` and `hub restore`: SQLite through its online backup API (a running hub's
uncheckpointed WAL writes included), PostgreSQL through pg_dump/pg_restore."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from store.models import Report
from tests.conftest import run_main

ROOT = Path(__file__).resolve().parents[2]


def hub(*args: str, cfg: Path) -> subprocess.CompletedProcess:
    return run_main(*args, cfg=cfg)


async def _submit(hub_obj, key: str, text: str) -> None:
    from hub.workers import Workers

    await hub_obj.intake.submit("web", key, {"service_code": "environment", "_token": key,
                                             "address_string": "Huế", "description": text})
    await Workers(hub_obj).run_inbox_once()


async def _descriptions(hub_obj) -> list[str]:
    async with hub_obj.sessions() as session:
        return sorted((await session.execute(select(Report.description))).scalars())


async def test_backup_of_a_running_hub_and_restore(tmp_path: Path, db_url: str) -> None:
    from hub.app import close_hub, open_hub
    from hub.settings import load_settings

    if db_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'log_format = "text"\n[database]\nurl = "{db_url}"\n'
                   f'[storage]\nmedia_dir = "{tmp_path}/media"\n')
    running = await open_hub(load_settings(cfg, environ={}))
    try:
        await _submit(running, "b1", "Rác thải ùn ứ ở chợ Đông Ba")
        # the hub keeps running (its connection open, SQLite's WAL not checkpointed)
        proc = await asyncio.to_thread(hub, "backup", str(tmp_path / "backups") + "/", cfg=cfg)
        assert proc.returncode == 0, proc.stderr
        [backup] = list((tmp_path / "backups").iterdir())
        assert backup.name.startswith("hub-") and "backup written" in proc.stdout
        await _submit(running, "b2", "Đèn đường hỏng ở Lê Lợi")
        assert len(await _descriptions(running)) == 2
        # while a hub serves the database (it holds the leader lease), restore refuses
        from store.leases import HUB_LEADER, LeaderLease

        lease = LeaderLease(running.engine, HUB_LEADER, "serve-on-host-a", 30)
        assert await lease.try_acquire()
        try:
            busy = await asyncio.to_thread(hub, "restore", str(backup), "--yes", cfg=cfg)
        finally:
            await lease.release()
        assert busy.returncode == 2 and "a hub is serving this database" in busy.stderr, busy.stderr
        assert len(await _descriptions(running)) == 2  # nothing was replaced
    finally:
        await close_hub(running)

    refused = hub("restore", str(tmp_path / "nope.db"), "--yes", cfg=cfg)
    assert refused.returncode == 2 and "is not a file" in refused.stderr
    proc = hub("restore", str(backup), "--yes", cfg=cfg)
    assert proc.returncode == 0, proc.stderr
    assert "migrated it to the current schema" in proc.stdout
    reopened = await open_hub(load_settings(cfg, environ={}))
    try:
        assert await _descriptions(reopened) == ["Rác thải ùn ứ ở chợ Đông Ba"]
    finally:
        await close_hub(reopened)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n')
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 200)
    proc = hub("restore", str(junk), "--yes", cfg=cfg)
    assert proc.returncode == 2 and "not an SQLite backup" in proc.stderr
    assert not (tmp_path / "hub.db").exists()


@pytest.mark.parametrize(("url", "password"), [
    ("postgresql+asyncpg://hub:Xy/Q+9z=@127.0.0.1:5432/intake", "Xy/Q+9z="),  # openssl rand -base64
    ("postgresql+asyncpg://hub:p%40ss%2Fw@db.internal/intake", "p@ss/w"),       # percent-encoded
])
def test_pg_connection_options_read_the_url_as_the_hub_does(url: str, password: str) -> None:
    """Walkthrough: `openssl rand -base64 24` (docs/deploy.md) gives a '/' in 39 % of passwords;
    the hub connected, but backup and restore crashed parsing the URL themselves."""
    from hub.cli_ops import _pg_env

    opts, env = _pg_env(url)
    assert env["PGPASSWORD"] == password and password not in " ".join(opts)
    assert opts[opts.index("--dbname") + 1] == "intake" and opts[opts.index("--username") + 1] == "hub"
    assert opts[opts.index("--port") + 1] == "5432"


def test_restore_refuses_when_it_cannot_tell_whether_a_hub_serves_the_database(
        tmp_path: Path) -> None:
    """Deploy walkthrough: under sudo, asyncpg could not read root's ~/.postgresql; the "is a
    hub serving?" check took the error for "nobody" and pg_restore replaced a served database.
    A check that fails for any reason but a missing database or lease table refuses."""
    cfg = tmp_path / "hub.toml"
    cfg.write_text('[database]\nurl = "postgresql+asyncpg://postgres@127.0.0.1:1/intake"\n')
    dump = tmp_path / "hub.pgdump"
    dump.write_bytes(b"PGDMP" + b"\0" * 100)
    proc = hub("restore", str(dump), "--yes", cfg=cfg)
    assert proc.returncode == 2, proc.stderr
    assert "cannot tell whether a hub is serving this database" in proc.stderr
    assert "Traceback" not in proc.stderr
