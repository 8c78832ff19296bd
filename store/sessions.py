"""Server-side console sessions.

The cookie holds 32 random bytes; the table holds their SHA-256, the account, a CSRF secret and
the expiry. Every request re-reads the row joined to its account, so logout, a disabled account
or a password reset end the session at once on every replica. A session ends after
``lifetime`` in any case, and after ``idle`` without a request.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Account, ConsoleSession, utcnow

# last_seen_at is written at most this often, not on every page.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    lifetime: timedelta = timedelta(hours=12)
    idle: timedelta = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class SessionUser:
    """What a request knows about its officer."""

    account_id: int
    username: str
    role: str
    agency_id: str | None
    display_name: str | None
    csrf_secret: str
    session_hash: str

    @property
    def actor(self) -> str:
        return f"user:{self.username}"

    @property
    def label(self) -> str:
        return self.display_name or self.username


def _digest(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode()).hexdigest()


async def start_session(session: AsyncSession, account: Account, *, remote: str | None = None,
                        now: datetime | None = None, policy: SessionPolicy = SessionPolicy()) -> str:
    """A new session for the account; returns the cookie value (the caller commits)."""
    now = now or utcnow()
    raw_id = secrets.token_urlsafe(32)
    session.add(ConsoleSession(id_hash=_digest(raw_id), account_id=account.id,
                               csrf_secret=secrets.token_urlsafe(32), created_at=now,
                               last_seen_at=now, expires_at=now + policy.lifetime,
                               remote=(remote or "")[:64] or None))
    return raw_id


async def load_session(session: AsyncSession, raw_id: str, *, now: datetime | None = None,
                       policy: SessionPolicy = SessionPolicy()) -> SessionUser | None:
    """The session's officer, or None when it does not exist, expired, went idle or its
    account is disabled. Refreshes last_seen_at now and then (the caller commits)."""
    if not raw_id or len(raw_id) > 128:
        return None
    now = now or utcnow()
    row = (await session.execute(select(ConsoleSession, Account).join(
        Account, Account.id == ConsoleSession.account_id).where(
        ConsoleSession.id_hash == _digest(raw_id)))).first()
    if row is None:
        return None
    console_session, account = row
    if (account.disabled or console_session.expires_at <= now
            or now - console_session.last_seen_at > policy.idle):
        await session.delete(console_session)
        return None
    if now - console_session.last_seen_at > TOUCH_EVERY:
        console_session.last_seen_at = now
    return SessionUser(account_id=account.id, username=account.username, role=account.role,
                       agency_id=account.agency_id, display_name=account.display_name,
                       csrf_secret=console_session.csrf_secret, session_hash=console_session.id_hash)


async def end_session(session: AsyncSession, raw_id: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _digest(raw_id)))


async def purge_sessions(session: AsyncSession, now: datetime | None = None,
                         policy: SessionPolicy = SessionPolicy()) -> int:
    """Delete expired and idle sessions (a periodic job; returns how many)."""
    now = now or utcnow()
    result = await session.execute(delete(ConsoleSession).where(or_(
        ConsoleSession.expires_at <= now, ConsoleSession.last_seen_at < now - policy.idle)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
