"""Operations commands: ``hub zalo-authorize``, ``hub backup``, ``hub restore``.

Backups: SQLite through its online backup API (a consistent copy while ``serve`` keeps
writing); PostgreSQL through ``pg_dump --format=custom`` / ``pg_restore`` when they are installed
(docs/deploy.md). Media files (``storage.media_dir``) are plain files: copy them with rsync.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def register(sub: Any, add: Any) -> None:
    add("zalo-authorize", cmd_zalo_authorize,
        "print the Zalo OA authorization URL (PKCE); the hub's callback stores the tokens")
    p = add("backup", cmd_backup, "consistent copy of the database (SQLite online backup, or pg_dump)")
    p.add_argument("dest", help="a directory (a dated file is written in it) or a file name")
    p = add("restore", cmd_restore, "put a backup back (stop serve first)")
    p.add_argument("file", help="a file written by `hub backup`")
    p.add_argument("--yes", action="store_true", help="replace the current database without asking")
    p.add_argument("--force", action="store_true",
                   help="restore even though a hub holds the database's leader lease (it is serving)")


def cmd_zalo_authorize(args: argparse.Namespace) -> int:
    from channels.zalo.oauth import AuthorizationError, begin_authorization, callback_url
    from store.db import make_engine, migrate, sessionmaker

    settings = args.load_settings(args.config)
    cfg = settings.channels.zalo
    missing = [k for k in ("app_id", "app_secret") if not _value(getattr(cfg, k))]
    if missing:
        print(f"error: set channels.zalo.{' and channels.zalo.'.join(missing)} first (from the "
              "Zalo app at developers.zalo.me)", file=sys.stderr)
        return 2

    async def run() -> str:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            return await begin_authorization(sessionmaker(engine), cfg,
                                             settings.server.public_base_url)
        finally:
            await engine.dispose()

    try:
        url = asyncio.run(run())
    except AuthorizationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    callback = callback_url(settings.server.public_base_url)
    print(f"1. In the Zalo app (developers.zalo.me → your app → Official Account → Callback URL) "
          f"register:\n   {callback}")
    if not cfg.enabled:
        print("2. Set channels.zalo.enabled = true and (re)start `hub serve`: it serves the callback.")
    else:
        print("2. Make sure `hub serve` is running behind that public URL.")
    print("3. An admin of the OA opens this URL (valid 30 minutes, once) and approves:")
    print(url)
    return 0


def _value(value: Any) -> str:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value or "")


# --- backup and restore -------------------------------------------------------------------------
def _sqlite_path(url: str, base_dir: Path) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = Path(url.split("///", 1)[-1])
    return path if path.is_absolute() else base_dir / path


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq connection options for pg_dump/pg_restore (the password in PGPASSWORD, never on
    the command line where `ps` shows it)."""
    from sqlalchemy.engine import make_url

    # SQLAlchemy's parser, as the hub's own connections use: a password with "/" or "+" (what
    # `openssl rand -base64` gives) works there, so it must work here too
    parts = make_url(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = str(parts.password)
    opts = ["--host", parts.host or "127.0.0.1", "--port", str(parts.port or 5432),
            "--dbname", parts.database or "postgres"]
    if parts.username:
        opts += ["--username", parts.username]
    return opts, env


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


# A destination with one of these endings is a file name; anything else that does not exist
# yet is a directory to create (`hub backup /var/backups/intake-hub` without its slash).
BACKUP_FILE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".pgdump", ".dump", ".backup", ".bak")


def backup_destination(arg: str, suffix: str) -> Path | str:
    """Where `hub backup ARG` writes, or the error line. An existing directory, a name ending in
    "/" or a missing name without a file suffix: a dated file inside it (the folder created). A
    name with a file suffix: that file, which must not exist yet — an earlier backup is never
    overwritten."""
    dest = Path(arg)
    if dest.is_dir() or arg.endswith("/") or (
            not dest.exists() and not dest.is_symlink()
            and not dest.name.lower().endswith(BACKUP_FILE_SUFFIXES)):
        if dest.exists() and not dest.is_dir():
            return f"{dest} is a file, not a directory"
        return dest / f"hub-{_stamp()}{suffix}"
    if dest.exists() or dest.is_symlink():
        return (f"{dest} exists already; backups are never overwritten: give a directory (a "
                "dated file is written in it) or a new file name")
    return dest


def cmd_backup(args: argparse.Namespace) -> int:
    from hub.cli_serve import shown_url

    settings = args.load_settings(args.config)
    url = settings.database_url
    db_path = _sqlite_path(url, Path(settings.base_dir))
    suffix = ".db" if db_path else ".pgdump"
    chosen = args.config or os.environ.get("HUB_SETTINGS") or "settings.toml only, no --config or HUB_SETTINGS"
    print(f"database: {shown_url(url)} (settings: {chosen})", flush=True)
    dest = backup_destination(args.dest, suffix)
    if isinstance(dest, str):
        print(f"error: {dest}", file=sys.stderr)
        return 2
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create {dest.parent}: {exc.strerror}", file=sys.stderr)
        return 2
    tmp = dest.with_name(dest.name + ".part")
    if db_path is not None:
        if not db_path.exists():
            print(f"error: no database at {db_path}; set [database] url", file=sys.stderr)
            return 2
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        out = sqlite3.connect(tmp)
        try:
            src.backup(out, pages=4096)  # online: serve keeps writing meanwhile
            out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            ok = out.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            out.close()
            src.close()
        if ok != "ok":
            tmp.unlink(missing_ok=True)
            print(f"error: the copy failed its check: {ok}", file=sys.stderr)
            return 1
    else:
        if shutil.which("pg_dump") is None:
            print("error: PostgreSQL backups use pg_dump: apt-get install postgresql-client "
                  "(see docs/deploy.md)", file=sys.stderr)
            return 2
        opts, env = _pg_env(url)
        proc = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(tmp), *opts],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            print(f"error: pg_dump failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
    tmp.replace(dest)
    print(f"backup written: {dest} ({dest.stat().st_size:,} bytes)")
    print(f"media files are not in it: copy {settings.storage.media_dir} too (rsync -a)")
    return 0


class _CannotCheck(Exception):
    """Whether a hub serves the database could not be read (and so restore does not go on)."""


# What a database that nothing serves yet looks like when its lease is asked for: no database,
# or no lease table (a database made for the restore, or never migrated).
_NOTHING_THERE = ("no such table", "undefinedtable", "invalidcatalogname")


def _serving(url: str) -> str | None:
    """Who serves the database now (its leader lease), or None when nothing can be serving it
    (no database yet, or no lease table: what restore is for). Any other failure to ask — the
    database refused this user, a certificate could not be read — raises ``_CannotCheck``: a
    restore that cannot tell must not go ahead over a live hub (deploy walkthrough: asyncpg
    failed on root's HOME, the check said "nobody", and pg_restore replaced a served database)."""
    import asyncio

    from store.db import make_engine
    from store.leases import lease_holder

    async def ask() -> str | None:
        engine = make_engine(url)
        try:
            return await lease_holder(engine)
        except Exception as exc:
            said = f"{type(exc).__name__}: {exc}"
            if any(mark in said.lower() for mark in _NOTHING_THERE):
                return None
            raise _CannotCheck(said.splitlines()[0][:300]) from None
        finally:
            await engine.dispose()

    return asyncio.run(ask())


def cmd_restore(args: argparse.Namespace) -> int:
    settings = args.load_settings(args.config)
    url = settings.database_url
    src = Path(args.file)
    if not src.is_file():
        print(f"error: {src} is not a file", file=sys.stderr)
        return 2
    db_path = _sqlite_path(url, Path(settings.base_dir))
    # before asking anything: no point confirming a restore that cannot go ahead
    try:
        holder = (_serving(url) if not args.force and (db_path is None or db_path.exists())
                  else None)
    except _CannotCheck as exc:
        print(f"error: cannot tell whether a hub is serving this database ({exc}); fix that "
              "(hub-admin runs commands as the service user), or stop `hub serve` everywhere "
              "and pass --force", file=sys.stderr)
        return 2
    if holder:
        print(f"error: a hub is serving this database ({holder} holds the leader lease); stop "
              "`hub serve` everywhere first, or pass --force", file=sys.stderr)
        return 2
    if not args.yes:
        if not sys.stdin.isatty():  # cron, CI, a pipe: nobody to ask
            print("error: restore replaces the database; without a terminal to confirm on, "
                  "pass --yes (and stop `hub serve` first)", file=sys.stderr)
            return 2
        try:
            answer = input(f"Replace the database {url.split('@')[-1]} with {src}? [y/N] ")
        except EOFError:  # the terminal closed (Ctrl-D): no answer is a no
            answer = ""
        if answer.strip().lower() not in ("y", "yes", "c", "có"):
            print("nothing changed")
            return 1
    if db_path is not None:
        try:
            backup = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
            ok = backup.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            print(f"error: {src} is not an SQLite backup: {exc}", file=sys.stderr)
            return 2
        if ok != "ok":
            print(f"error: {src} failed its check: {ok}", file=sys.stderr)
            return 2
        db_path.parent.mkdir(parents=True, exist_ok=True)
        live = sqlite3.connect(db_path)
        try:
            backup.backup(live)  # page by page into the live file, WAL and all, under its lock
        finally:
            live.close()
            backup.close()
    else:
        if shutil.which("pg_restore") is None:
            print("error: PostgreSQL restores use pg_restore: apt-get install postgresql-client",
                  file=sys.stderr)
            return 2
        opts, env = _pg_env(url)
        proc = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner",
                               "--single-transaction", *opts, str(src)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"error: pg_restore failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
    # An older backup under newer code: bring its schema up to date now, not at the next start.
    from store.db import migrate_sync

    migrate_sync(url)
    print(f"restored {src} into {url.split('@')[-1]} and migrated it to the current schema")
    return 0
