"""Per-account API tokens, beside the older agency-wide ones (store.tokens), which keep working.

Both kinds look alike (``hub_`` + 43 random characters) and are stored only as SHA-256, so
``principal_for_token`` finds either by one hash lookup. An account token acts for its account:
the agency API sees the account's agency (or ``center``) and records ``user:<name>`` as actor.
Only ``center`` and ``agency`` accounts get tokens: the API has no read-only or hotline scope.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import AccountError, require_account
from store.models import Account, AccountEvent, AccountToken, AgencyToken, utcnow
from store.tokens import TOKEN_PREFIX, hash_token

TOKEN_ROLES = ("center", "agency")
# last_used_at is written at most this often (an API client may call many times a second).
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TokenPrincipal:
    agency_id: str  # an agency id, or "center"
    actor: str  # "user:<name>" for an account token, the agency id for an agency-wide one
    username: str | None  # None for an agency-wide token
    token_id: int | None


def agency_scope(account: Account) -> str:
    """What the agency API calls the caller: the account's agency, or ``center``."""
    return "center" if account.role == "center" else (account.agency_id or "")


async def issue_account_token(session: AsyncSession, username: str, *, label: str | None = None,
                              actor: str = "cli") -> tuple[AccountToken, str]:
    """A new token for the account; the plain token is returned once and never stored."""
    account = await require_account(session, username)
    if account.disabled:
        raise AccountError("Tài khoản đã bị khóa, không cấp mã API.")
    if account.role not in TOKEN_ROLES:
        raise AccountError("Chỉ tài khoản Trung tâm và cán bộ đơn vị mới có mã API.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = AccountToken(account_id=account.id, token_hash=hash_token(token),
                       hint=token[:len(TOKEN_PREFIX) + 4], label=(label or "").strip()[:128] or None,
                       created_by=actor)
    session.add(row)
    await session.flush()
    session.add(AccountEvent(account_id=account.id, actor=actor, action="token_issued",
                             detail=f"#{row.id} {row.hint}… {row.label or ''}".strip()))
    return row, token


async def account_tokens(session: AsyncSession, username: str | None = None,
                         include_revoked: bool = False) -> list[tuple[AccountToken, Account]]:
    query = select(AccountToken, Account).join(Account, Account.id == AccountToken.account_id)
    if username is not None:
        query = query.where(Account.username == username)
    if not include_revoked:
        query = query.where(AccountToken.revoked_at.is_(None))
    rows = await session.execute(query.order_by(AccountToken.id.desc()))
    return [(token, account) for token, account in rows]


async def revoke_account_token(session: AsyncSession, token_id: int, *, actor: str = "cli",
                               username: str | None = None, now: datetime | None = None) -> AccountToken:
    """Revoke one token (``username``, when given, must own it)."""
    row = await session.get(AccountToken, token_id)
    account = await session.get(Account, row.account_id) if row is not None else None
    if row is None or account is None or (username is not None and account.username != username):
        raise AccountError(f"Không có mã API #{token_id}.")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = now or utcnow(), actor
        session.add(AccountEvent(account_id=account.id, actor=actor, action="token_revoked",
                                 detail=f"#{row.id} {row.hint}…"))
    return row


async def agency_wide_tokens(session: AsyncSession) -> list[AgencyToken]:
    """Tokens from ``main.py agency-token`` (one per agency, no account), still valid."""
    return list((await session.execute(select(AgencyToken).where(
        AgencyToken.revoked_at.is_(None)).order_by(AgencyToken.agency_id, AgencyToken.id))).scalars())


async def revoke_agency_wide_token(session: AsyncSession, token_id: int,
                                   now: datetime | None = None) -> AgencyToken:
    row = await session.get(AgencyToken, token_id)
    if row is None:
        raise AccountError(f"Không có mã API đơn vị #{token_id}.")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
    return row


async def principal_for_token(session: AsyncSession, token: str,
                              now: datetime | None = None) -> TokenPrincipal | None:
    """Who a bearer token speaks for: an account token of an enabled account, else an
    agency-wide token. The caller commits (``last_used_at``)."""
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(token)
    row = (await session.execute(select(AccountToken, Account).join(
        Account, Account.id == AccountToken.account_id).where(
        AccountToken.token_hash == digest, AccountToken.revoked_at.is_(None)))).first()
    if row is not None:
        account_token, account = row
        if account.disabled or account.role not in TOKEN_ROLES:
            return None
        now = now or utcnow()
        if account_token.last_used_at is None or now - account_token.last_used_at > TOUCH_EVERY:
            account_token.last_used_at = now
        return TokenPrincipal(agency_id=agency_scope(account), actor=f"user:{account.username}",
                              username=account.username, token_id=account_token.id)
    agency_id = (await session.execute(select(AgencyToken.agency_id).where(
        AgencyToken.token_hash == digest, AgencyToken.revoked_at.is_(None)))).scalar()
    if agency_id is None:
        return None
    return TokenPrincipal(agency_id=agency_id, actor=agency_id, username=None, token_id=None)
