"""What `serve` checks before it starts anything: the listening socket and the database. Each
failure is one line naming the setting to change (the CLI prints it and exits 2) instead of a
traceback after "hub started"."""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
from typing import Any

from sqlalchemy import text


class PreflightError(Exception):
    pass


class DatabaseUnavailable(PreflightError):
    """The database server did not answer (refused, timed out, still starting): a later try can
    work (boot race, a PostgreSQL restart during an upgrade), so serve exits with EX_TEMPFAIL
    (75), which systemd restarts, unlike 2 (RestartPreventExitStatus=2)."""


EX_TEMPFAIL = 75


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [getattr(item, "orig", None), item.__cause__, item.__context__,
                 *(getattr(item, "exceptions", None) or ())]
    return seen


def is_temporary(exc: BaseException, dialect: str) -> bool:
    """A connection that a retry may get: refused, reset, timed out, or PostgreSQL still
    starting / shutting down (SQLSTATE class 08 and 57P). A wrong password (28P01), a missing
    database (3D000) or an unreadable SQLite file are not."""
    if dialect == "sqlite":
        return False
    for item in _causes(exc):
        state = str(getattr(item, "sqlstate", "") or "")
        if state:
            return state.startswith(("08", "57P"))
        if isinstance(item, (ConnectionError, TimeoutError, asyncio.TimeoutError, socket.gaierror)):
            return True
        if isinstance(item, OSError) and item.errno in (errno.ECONNREFUSED, errno.ETIMEDOUT,
                                                        errno.EHOSTUNREACH, errno.ENETUNREACH,
                                                        errno.ECONNRESET, errno.EADDRNOTAVAIL):
            return True
        if isinstance(item, OSError) and "Connect call failed" in str(item):
            return True  # asyncpg's "Multiple exceptions: [Errno 111] Connect call failed …"
    return False


def bind_listener(host: str, port: int) -> socket.socket:
    """A bound, listening socket for the HTTP server (handed to aiohttp's run_app)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise PreflightError(f"cannot listen on {host!r}: {exc.strerror}; set [server] host "
                             "(HUB__SERVER__HOST) or --host") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # fast restarts; a live
        sock.bind(address)                                          # listener still conflicts
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            why = "is already in use by another process"
        elif exc.errno == errno.EACCES:
            why = "needs privileges (ports below 1024 do; use a reverse proxy)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            why = "is not an address of this machine"
            raise PreflightError(f"cannot listen on {host}:{port}: {host} {why}; set [server] host "
                                 "(HUB__SERVER__HOST) or --host") from None
        else:
            why = f"cannot be opened ({exc.strerror})"
        raise PreflightError(f"cannot listen on {host}:{port}: port {port} {why}; set [server] "
                             "port (HUB__SERVER__PORT) or --port") from None
    return sock


def shown_url(url: str) -> str:
    return _shown(url)


def _shown(url: str) -> str:
    """The database URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, where = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        rest = f"{user}:***@{where}" if ":" in creds else f"{user}@{where}"
    return f"{scheme}{sep}{rest}"


async def check_database(url: str) -> None:
    """Open the database and read from it once (SQLite reads the file header here, so a file
    that is not a database fails now, not in the middle of start-up)."""
    from store.db import make_engine

    where = f"[database] url (HUB__DATABASE__URL) = {_shown(url)}"
    try:
        engine = make_engine(url)
    except OSError as exc:
        raise PreflightError(f"cannot open the database: {exc.strerror or exc} "
                             f"({exc.filename or ''}); set {where}") from None
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                await conn.execute(text("PRAGMA schema_version"))
            else:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # driver errors differ per database; all mean the same here
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        if is_temporary(exc, engine.dialect.name):
            raise DatabaseUnavailable(f"the database is not reachable: {reason}; check that "
                                      f"its server is up, or set {where}") from None
        raise PreflightError(f"cannot open the database: {reason}; set {where}") from None
    finally:
        await engine.dispose()


# The lock this process holds on its SQLite database while it serves (closed at exit).
_SERVE_LOCK: Any = None


def hold_sqlite_serve_lock(url: str) -> None:
    """SQLite takes one ``serve`` (one writer, the leader lease in one file): a second one on the
    same database file — a second ``make run``, ``intake-hub@`` replica units on SQLite — is
    refused with one line instead of starting silently as a follower. An advisory lock on
    ``<database>.serve-lock``, held until the process ends (a crash frees it). CLI commands do
    not take it."""
    global _SERVE_LOCK
    import fcntl

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = os.path.abspath(parsed.database) + ".serve-lock"
    try:
        handle = open(path, "a+", encoding="ascii")  # noqa: SIM115  (held for the process)
    except OSError:
        return  # a read-only folder: check_database says what is wrong with it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise PreflightError(
            f"another hub serve (pid {pid}) already uses this SQLite database; SQLite takes one "
            f"serve process — stop it, or use PostgreSQL for several (docs/deploy.md); "
            f"[database] url (HUB__DATABASE__URL) = {_shown(url)}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _SERVE_LOCK = handle


async def hold_signals_while_stopping(_app: Any) -> None:
    """Once a stop has begun, a second SIGTERM or SIGINT (``make`` and ``serve`` signalled as
    one process group, an impatient Ctrl-C) must not abort the drain halfway — aiohttp would
    cancel every task, the database among them, and the stop would end with a traceback and
    nothing said. The drain is bounded (``[server] shutdown_grace_seconds`` per step); SIGKILL
    still ends the process at once."""
    loop = asyncio.get_running_loop()
    log = logging.getLogger("hub.serve")
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, lambda s=sig: log.warning(
                "%s while stopping: ignored, the drain goes on (SIGKILL ends it)", s.name))
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
