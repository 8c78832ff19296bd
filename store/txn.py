"""Bookkeeping that lives exactly as long as the session's current transaction (session.info
outlives it: a session may commit and go on)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

T = TypeVar("T")


async def txn_scoped(session: AsyncSession, key: str, factory: Callable[[], T]) -> T:
    """``session.info[key]`` for the current transaction (begun here if none is): a new
    transaction starts from ``factory()``."""
    await session.connection()  # begins the transaction if none is open
    return peek_scoped(session, key, factory)


def peek_scoped(session: AsyncSession | Session, key: str, factory: Callable[[], T]) -> T:
    """The same, without beginning a transaction (a sync ``Session`` too)."""
    held = held_scoped(session, key)
    if held is None:
        held = factory()
        session.info[key] = (getattr(session, "sync_session", session).get_transaction(), held)
    return held


def held_scoped(session: AsyncSession | Session, key: str) -> Any:
    """``session.info[key]`` if the current transaction set it, else None (nothing is made)."""
    held = session.info.get(key)
    if held is None or held[0] is not getattr(session, "sync_session", session).get_transaction():
        return None
    return held[1]
