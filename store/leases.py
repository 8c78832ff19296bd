"""Leader election: one process runs the IMAP poller and periodic jobs.

PostgreSQL: ``pg_try_advisory_lock`` held on a dedicated connection (released by the server when
the holder dies). SQLite: a lease row with an expiry, renewed by the holder.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.models import utcnow

log = logging.getLogger("hub.leader")

# The lease `hub serve` holds while it runs (hub.app); a command that must not run beside a
# serving hub (restore) asks who holds it.
HUB_LEADER = "hub-leader"


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key of a lease name (signed 64 bits)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def lease_holder(engine: AsyncEngine, name: str = HUB_LEADER) -> str | None:
    """Who holds the lease now, without taking it: the holder (SQLite) or "a PostgreSQL session"
    (the advisory lock is granted to someone); None when nobody does."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            key = advisory_key(name) & 0xFFFF_FFFF_FFFF_FFFF
            held = (await conn.execute(text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = :c AND objid = :o AND objsubid = 1"),
                {"c": key >> 32, "o": key & 0xFFFF_FFFF})).scalar()
            return f"PostgreSQL session {held}" if held is not None else None
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        return (await conn.execute(text(
            "SELECT holder FROM leases WHERE name = :n AND expires_at > :now"),
            {"n": name, "now": utcnow().strftime(fmt)})).scalar()


class LeaderLease:
    def __init__(self, engine: AsyncEngine, name: str, holder: str, ttl_seconds: float) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = ttl_seconds
        self.is_leader = False
        self._conn: AsyncConnection | None = None
        self._key = advisory_key(name)

    async def try_acquire(self) -> bool:
        """Acquire or renew; returns whether this process leads now."""
        was = self.is_leader
        try:
            if self.engine.dialect.name == "postgresql":
                self.is_leader = await self._pg_try()
            else:
                self.is_leader = await self._sqlite_try()
        except Exception:
            log.exception("leader lease %s check failed", self.name)
            self.is_leader = False
        if self.is_leader != was:
            log.info("leader lease %s: %s", self.name, "acquired" if self.is_leader else "lost")
        return self.is_leader

    async def _pg_try(self) -> bool:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                await self._drop_conn()
        conn = await self.engine.connect()
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})).scalar()
        await conn.commit()
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    async def _sqlite_try(self) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self.ttl)
        fmt = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite datetime text format
        params = {"n": self.name, "h": self.holder, "now": now.strftime(fmt),
                  "until": until.strftime(fmt)}
        async with self.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO leases (name, holder, expires_at) VALUES (:n, :h, :until) "
                "ON CONFLICT(name) DO UPDATE SET holder=:h, expires_at=:until "
                "WHERE leases.holder=:h OR leases.expires_at < :now"), params)
            holder = (await conn.execute(text("SELECT holder FROM leases WHERE name=:n"),
                                         {"n": self.name})).scalar()
        return holder == self.holder

    async def release(self) -> None:
        if self.engine.dialect.name == "postgresql":
            await self._drop_conn()
        elif self.is_leader:
            async with self.engine.begin() as conn:
                await conn.execute(text("DELETE FROM leases WHERE name=:n AND holder=:h"),
                                   {"n": self.name, "h": self.holder})
        self.is_leader = False

    async def _drop_conn(self) -> None:
        """Unlock, then return the connection; a pooled connection would keep the session lock."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                await conn.commit()
                await conn.close()
            except Exception:
                await conn.invalidate()
                await conn.close()
