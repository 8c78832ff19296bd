"""Agency API tokens: shown once, stored as SHA-256 hashes only."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AgencyToken

TOKEN_PREFIX = "hub_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(session: AsyncSession, agency_id: str) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(AgencyToken(agency_id=agency_id, token_hash=hash_token(token)))
    return token


async def agency_for_token(session: AsyncSession, token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    # The lookup is by hash, so timing reveals nothing about stored tokens.
    return (await session.execute(select(AgencyToken.agency_id).where(
        AgencyToken.token_hash == hash_token(token), AgencyToken.revoked_at.is_(None)))).scalar()
