"""Console accounts: roles, argon2 passwords, login with throttling, administration.

Roles: ``center`` (triage, route, manage accounts), ``hotline`` (log calls, call-back list),
``agency`` (one agency's queue; ``agency_id`` set), ``viewer`` (read-only). Every change is also
an ``AccountEvent`` with its actor (``user:<name>`` from the console, ``cli`` from the CLI).
Argon2 hashing takes ~0.1 s of CPU, so it runs in a thread, off the event loop.
"""
from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import (
    Account,
    AccountEvent,
    AccountToken,
    Agency,
    ConsoleSession,
    LoginThrottle,
    utcnow,
)

ROLES: dict[str, str] = {
    "center": "Trung tâm giám sát",
    "hotline": "Tổng đài viên",
    "agency": "Cán bộ đơn vị xử lý",
    "viewer": "Chỉ xem",
}
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
# Verified when the username does not exist, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A refused account operation; the message is shown to the operator as it is."""


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """After ``free_failures`` wrong passwords the next attempt must wait ``base_delay``, doubling
    with each further failure (capped); after ``lock_after`` failures the key is locked for ``lock_for``. Failures
    older than ``window`` are forgotten. Keys are the username and the client address (the
    address gets ``ip_factor`` times the allowance, several officers may share one NAT)."""

    free_failures: int = 3
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(seconds=60)
    lock_after: int = 10
    lock_for: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(minutes=15)
    ip_factor: int = 5


@dataclass(frozen=True, slots=True)
class LoginResult:
    account: Account | None
    # ok | bad_credentials | disabled | throttled | locked
    outcome: str
    retry_after: int = 0  # seconds, for throttled/locked

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME_RE.match(name):
        raise AccountError("Tên đăng nhập gồm 2–64 ký tự a–z, 0–9, dấu chấm, gạch dưới, gạch ngang.")
    return name


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"Mật khẩu phải có ít nhất {PASSWORD_MIN} ký tự.")
    if len(password) > PASSWORD_MAX:
        raise AccountError("Mật khẩu quá dài.")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    return await asyncio.to_thread(_verify)


def generate_password() -> str:
    """A temporary password to read out or hand over (no look-alike characters)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


async def known_agencies(session: AsyncSession) -> dict[str, str]:
    """Active agencies (the hub mirrors settings into the table at start): id → name."""
    rows = await session.execute(select(Agency.id, Agency.name).where(Agency.active.is_(True))
                                 .order_by(Agency.name))
    return {agency_id: name for agency_id, name in rows}


def _log(session: AsyncSession, account: Account, actor: str, action: str,
         detail: str | None = None) -> None:
    session.add(AccountEvent(account_id=account.id, actor=actor, action=action, detail=detail))


async def account_by_username(session: AsyncSession, username: str) -> Account | None:
    return (await session.execute(select(Account).where(
        Account.username == normalize_username(username)))).scalar_one_or_none()


async def require_account(session: AsyncSession, username: str) -> Account:
    account = await account_by_username(session, username)
    if account is None:
        raise AccountError(f"Không có tài khoản {normalize_username(username)!r}.")
    return account


async def create_account(session: AsyncSession, username: str, role: str, password: str, *,
                         agency_id: str | None = None, display_name: str | None = None,
                         actor: str = "cli", agencies: Mapping[str, str] | None = None) -> Account:
    """Validate and add an account (the caller commits). ``agencies`` defaults to the agencies
    table; the CLI passes the configured ones, which exist before the hub first starts."""
    name = check_username(username)
    if role not in ROLES:
        raise AccountError("Vui lòng chọn vai trò: " + ", ".join(ROLES.values()) + ".")
    agency_id = (agency_id or "").strip() or None
    if role == "agency":
        if agency_id is None:
            raise AccountError("Tài khoản cán bộ đơn vị cần chọn đơn vị của mình.")
        known = agencies if agencies is not None else await known_agencies(session)
        if agency_id not in known:
            raise AccountError(f"Không có đơn vị “{agency_id}”; các đơn vị: {', '.join(sorted(known))}.")
    elif agency_id is not None:
        raise AccountError("Chỉ tài khoản vai trò agency mới gắn với một đơn vị.")
    check_password(password)
    if await account_by_username(session, name) is not None:
        raise AccountError(f"Tài khoản {name!r} đã có.")
    account = Account(username=name, role=role, agency_id=agency_id,
                      display_name=(display_name or "").strip() or None,
                      password_hash=await hash_password(password), disabled=False)
    session.add(account)
    await session.flush()
    _log(session, account, actor, "created", f"role={role}" + (f" agency={agency_id}" if agency_id else ""))
    return account


async def _end_access(session: AsyncSession, account: Account, actor: str, now: datetime) -> None:
    """Logout everywhere at once (sessions are server-side) and revoke API tokens."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))
    for token in (await session.execute(select(AccountToken).where(
            AccountToken.account_id == account.id, AccountToken.revoked_at.is_(None)))).scalars():
        token.revoked_at, token.revoked_by = now, actor


async def active_centers(session: AsyncSession) -> int:
    return len(list((await session.execute(select(Account.id).where(
        Account.role == "center", Account.disabled.is_(False)))).scalars()))


async def disable_account(session: AsyncSession, username: str, *, actor: str = "cli",
                          now: datetime | None = None) -> Account:
    """Disable: its sessions end and its tokens are revoked in the same transaction."""
    now = now or utcnow()
    account = await require_account(session, username)
    if actor == f"user:{account.username}":
        raise AccountError("Không thể tự khóa tài khoản của mình.")
    if account.disabled:
        return account
    account.disabled, account.disabled_at = True, now
    await _end_access(session, account, actor, now)
    _log(session, account, actor, "disabled")
    return account


async def enable_account(session: AsyncSession, username: str, *, actor: str = "cli") -> Account:
    account = await require_account(session, username)
    if account.disabled:
        account.disabled, account.disabled_at = False, None
        _log(session, account, actor, "enabled")
    return account


async def set_password(session: AsyncSession, username: str, password: str, *, actor: str = "cli",
                       now: datetime | None = None) -> Account:
    """A new password ends every session of the account (tokens stay)."""
    now = now or utcnow()
    account = await require_account(session, username)
    check_password(password)
    account.password_hash = await hash_password(password)
    account.password_changed_at = now
    await session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))
    _log(session, account, actor, "password_set" if actor == f"user:{account.username}" else "password_reset")
    return account


async def list_accounts(session: AsyncSession) -> list[Account]:
    return list((await session.execute(select(Account).order_by(
        Account.disabled, Account.role, Account.username))).scalars())


async def account_events(session: AsyncSession, account_id: int, limit: int = 50) -> list[AccountEvent]:
    return list((await session.execute(select(AccountEvent).where(
        AccountEvent.account_id == account_id).order_by(AccountEvent.id.desc()).limit(limit))).scalars())


# --- login ------------------------------------------------------------------------------------


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


async def _throttle_rows(session: AsyncSession, keys: list[str]) -> dict[str, LoginThrottle]:
    rows = await session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    return {row.key: row for row in rows.scalars()}


def _keys(username: str, remote: str | None) -> list[str]:
    keys = [f"user:{normalize_username(username)[:120]}"]
    if remote:
        keys.append(f"ip:{remote[:120]}")
    return keys


def _blocked(row: LoginThrottle, now: datetime, policy: ThrottlePolicy) -> LoginResult | None:
    if now - row.last_failure_at > policy.window and (row.locked_until is None or row.locked_until <= now):
        return None
    if row.locked_until is not None and row.locked_until > now:
        return LoginResult(None, "locked", _seconds(row.locked_until - now))
    if row.next_attempt_at is not None and row.next_attempt_at > now:
        return LoginResult(None, "throttled", _seconds(row.next_attempt_at - now))
    return None


def _record_failure(session: AsyncSession, rows: dict[str, LoginThrottle], key: str, now: datetime,
                    policy: ThrottlePolicy) -> None:
    factor = policy.ip_factor if key.startswith("ip:") else 1
    row = rows.get(key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, first_failure_at=now, last_failure_at=now)
        session.add(row)
    elif now - row.last_failure_at > policy.window:
        row.failures, row.first_failure_at, row.locked_until = 0, now, None
    row.failures += 1
    row.last_failure_at = now
    # The attempt after the last free failure already waits: with 3 free failures, the 3rd
    # failure asks for base_delay before the 4th attempt, the 4th for twice that...
    over = row.failures - policy.free_failures * factor + 1
    if over > 0:
        delay = min(policy.base_delay * (2 ** (over - 1)), policy.max_delay)
        row.next_attempt_at = now + delay
    if row.failures >= policy.lock_after * factor:
        row.locked_until = now + policy.lock_for


async def authenticate(session: AsyncSession, username: str, password: str, *,
                       remote: str | None = None, now: datetime | None = None,
                       policy: ThrottlePolicy = ThrottlePolicy()) -> LoginResult:
    """Check a login. A throttled or locked key is refused before the password is checked (so
    guessing costs the attacker time, not us CPU). The caller commits: failures must persist."""
    now = now or utcnow()
    keys = _keys(username, remote)
    rows = await _throttle_rows(session, keys)
    for key in keys:
        if key in rows and (blocked := _blocked(rows[key], now, policy)) is not None:
            return blocked
    account = await account_by_username(session, username) if username.strip() else None
    valid = await verify_password(account.password_hash if account else _DUMMY_HASH, password)
    if not valid or account is None:
        for key in keys:
            _record_failure(session, rows, key, now, policy)
        return LoginResult(None, "bad_credentials")
    if account.disabled:
        return LoginResult(account, "disabled")
    user_key = keys[0]
    if user_key in rows:
        await session.delete(rows[user_key])
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await hash_password(password)
    account.last_login_at = now
    return LoginResult(account, "ok")


async def purge_login_throttle(session: AsyncSession, now: datetime | None = None,
                               policy: ThrottlePolicy = ThrottlePolicy()) -> int:
    """Forget failures that no longer count (a periodic job; returns how many rows went)."""
    now = now or utcnow()
    result = await session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < now - policy.window,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
