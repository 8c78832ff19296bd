"""Command line (`hub …` once installed, or `python main.py …`): serve | migrate | export |
agency-token | import-hotline | demo | reclassify | telegram-set-webhook | zalo-authorize |
backup | restore, plus what packages register through EXTRA_COMMANDS."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path

_ROOT = Path(__file__).resolve().parent


def _use_project_venv() -> None:
    """`python3 main.py …` run outside the virtualenv (the README's commands, typed as written):
    re-run under the project's .venv when it exists, else say how to make one. Never loops: the
    venv's interpreter has the dependencies or fails for real."""
    from importlib.util import find_spec

    if any(find_spec(name) is None for name in ("aiohttp", "sqlalchemy", "pydantic", "alembic")):
        venv_python = _ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.prefix).resolve() != (_ROOT / ".venv").resolve():
            os.execv(str(venv_python), [str(venv_python), str(_ROOT / "main.py"), *sys.argv[1:]])
        sys.stderr.write("error: the hub's dependencies are not installed for "
                         f"{sys.executable}; run `make run` once (it creates .venv), then use "
                         "`.venv/bin/hub …`\n")
        sys.exit(2)


if __name__ == "__main__":
    _use_project_venv()

from hub.settings import Settings, SettingsError, load_settings  # noqa: E402


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it trims the per-request cost of the event loop), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def settle_heap(_app: object) -> None:
    from hub.app import settle_heap as settle

    settle()


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from hub.app import create_app
    from hub.cli_serve import (
        EX_TEMPFAIL,
        DatabaseUnavailable,
        PreflightError,
        bind_listener,
        check_database,
        hold_signals_while_stopping,
        hold_sqlite_serve_lock,
    )
    from hub.logs import setup_logging

    settings = _settings(args)
    setup_logging(settings.log_level, settings.log_format)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    try:
        # The socket first: a busy port is one line and exit 2, before anything starts.
        sock = bind_listener(host, port)
        try:
            asyncio.run(check_database(settings.database_url))
            hold_sqlite_serve_lock(settings.database_url)
        except BaseException:
            sock.close()
            raise
    except DatabaseUnavailable as exc:  # a boot race, a restart: systemd tries again on 75
        print(f"error: {exc} (exit {EX_TEMPFAIL}: temporary, systemd restarts serve)",
              file=sys.stderr)
        return EX_TEMPFAIL
    except PreflightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    app.on_startup.append(settle_heap)
    shown_host = f"[{host}]" if ":" in host else host

    async def announce(_app: web.Application) -> None:
        logging.getLogger("hub.serve").info(
            "listening on http://%s:%d (public URL %s)", shown_host, sock.getsockname()[1],
            settings.server.public_base_url)

    app.on_startup.append(announce)
    app.on_shutdown.insert(0, hold_signals_while_stopping)
    web.run_app(app, sock=sock, print=None, access_log=None,
                shutdown_timeout=settings.server.shutdown_grace_seconds, loop=new_event_loop())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from hub.cli_serve import shown_url
    from store.db import migrate_sync

    settings = _settings(args)
    print(f"database: {shown_url(settings.database_url)}", flush=True)
    migrate_sync(settings.database_url)
    print(f"database migrated: {settings.database_url.split('@')[-1]}")
    return 0


def cmd_agency_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    known = {a.id for a in settings.agencies} | {"center"}
    if args.agency_id not in known:
        print(f"unknown agency {args.agency_id!r}; configured: {', '.join(sorted(known))}",
              file=sys.stderr)
        return 2

    async def run() -> str:
        from store.db import make_engine, migrate, sessionmaker
        from store.tokens import issue_token

        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            async with sessionmaker(engine)() as session, session.begin():
                return await issue_token(session, args.agency_id)
        finally:
            await engine.dispose()

    token = asyncio.run(run())
    print(f"New API token for {args.agency_id} (shown once; only its hash is stored):")
    print(token)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        since = datetime.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"error: --since {args.since!r} is not an ISO date/time", file=sys.stderr)
        return 2
    if since is not None and since.tzinfo is None:
        since = since.astimezone()

    async def run() -> int:
        from store.db import make_engine, migrate, sessionmaker
        from store.reports import iter_reports

        engine = make_engine(settings.database_url)
        count = 0
        try:
            await migrate(engine)
            async with sessionmaker(engine)() as session:
                async for data in iter_reports(session, settings.server.public_base_url, since):
                    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
                    count += 1
        finally:
            await engine.dispose()
        return count

    count = asyncio.run(run())
    print(f"exported {count} reports", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hub.demo import run_demo

    return asyncio.run(run_demo(args.keep))


EXTRA_COMMANDS: list[str] = [
    # Commands contributed by channels/packages: "module:register" adds a subparser.
    "channels.hotline.cli:register",
    "channels.telegram.cli:register",
    "hub.users_cli:register",
    "hub.reclassify:register",
    "hub.outbox_cli:register",
    "hub.cli_ops:register",
    "web.portal.cli:register",
]


# Commands that open the database and have no handling of their own for one that cannot be
# opened: serve's check runs first, so a wrong URL is one line and exit 2, not a traceback.
# (serve, backup and restore check it themselves; restore is for a missing database.)
DATABASE_COMMANDS = frozenset({"migrate", "agency-token", "export", "user", "reclassify",
                               "corrections", "retrain", "outbox", "public-hide",
                               "import-hotline", "zalo-authorize"})


def _database_preflight(args: argparse.Namespace) -> str | None:
    from hub.cli_serve import PreflightError, check_database

    settings = load_settings(getattr(args, "config", None))
    if args.command == "import-hotline" and not settings.channels.hotline.enabled:
        return None  # the command says so itself, and no database file is made for nothing
    url = settings.database_url
    try:
        asyncio.run(check_database(url))
    except PreflightError as exc:
        return f"error: {exc}"
    return None


def _database_error(args: argparse.Namespace, exc: BaseException) -> str | None:
    """One line for a database a command could not open or use (the same words as serve's
    check), or None when ``exc`` is not about the database (then the traceback is a bug)."""
    import socket

    from sqlalchemy.exc import DBAPIError

    from hub.cli_serve import _causes, shown_url

    causes = _causes(exc)
    if not any(isinstance(c, DBAPIError) or type(c).__module__.startswith("asyncpg")
               or (isinstance(c, (ConnectionError, TimeoutError, socket.gaierror))
                   and not isinstance(c, BrokenPipeError))
               or (isinstance(c, OSError) and "Connect call failed" in str(c)) for c in causes):
        return None
    try:
        url = load_settings(getattr(args, "config", None)).database_url
    except Exception:  # noqa: BLE001 - the settings loaded once; without them, say less
        return None
    first = next((c for c in causes if getattr(c, "orig", None) is None), exc)
    reason = (str(first).strip().splitlines() or [type(first).__name__])[0]
    return (f"error: cannot open the database: {reason}; set [database] url "
            f"(HUB__DATABASE__URL) = {shown_url(url)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="Citizen report intake hub")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:  # noqa: ANN001
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", help="settings file (default: HUB_SETTINGS or settings.toml)")
        # Commands contributed by packages read settings through args.load_settings.
        p.set_defaults(func=func, load_settings=load_settings)
        return p

    p = add("serve", cmd_serve, "run the HTTP server, workers and pollers")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    add("migrate", cmd_migrate, "apply database migrations")
    p = add("agency-token", cmd_agency_token, "issue an API token for an agency (or 'center')")
    p.add_argument("agency_id")
    p = add("export", cmd_export, "print every report as JSON lines")
    p.add_argument("--since", help="only reports updated since this ISO time")
    p = sub.add_parser("demo", help="walk sample messages through every channel")
    p.add_argument("--keep", metavar="DIR", help="keep the demo's database in DIR (default: "
                   "a temporary folder, removed at the end)")
    p.set_defaults(func=cmd_demo)
    import importlib

    for spec in EXTRA_COMMANDS:
        module, _, func = spec.partition(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        getattr(mod, func)(sub, add)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from channels.base import ChannelConfigError

    try:
        if args.command in DATABASE_COMMANDS and (line := _database_preflight(args)):
            print(line, file=sys.stderr)
            return 2
        return args.func(args)
    except (SettingsError, ChannelConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `hub export | head`: the reader has what it wanted
        # Python would complain again when it flushes stdout at exit: point it at nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141 if os.name == "posix" else 1  # 128 + SIGPIPE, as a shell reports it
    except Exception as exc:
        line = _database_error(args, exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
