"""Portable row claiming for the inbox, outbox and attachment queues.

``UPDATE … SET state='claimed' WHERE id IN (SELECT … LIMIT n) RETURNING id``; on PostgreSQL the
subselect adds FOR UPDATE SKIP LOCKED so replicas never claim the same rows (SQLite silently drops
SKIP LOCKED, and its single writer makes the UPDATE atomic anyway). A claim is a lease: rows whose
worker died become claimable again when ``claimed_until`` passes.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import utcnow


async def claim(engine: AsyncEngine, model: Any, *, worker_id: str, limit: int,
                lease_seconds: float, ready_states: Sequence[str], claimed_state: str,
                extra_where: Any = None, count_attempt: bool = True) -> list[int]:
    """Claim up to ``limit`` rows: due rows first (oldest due first, then id), then rows whose
    claim lease has lapsed. Two index range scans on (state, next_attempt_at), each stopping at
    ``limit`` — one OR'ed query made SQLite sort every pending row, which grew with the backlog
    and held the write lock while intake waited."""
    now = utcnow()
    values: dict[str, Any] = {
        "state": claimed_state,
        "claimed_by": worker_id,
        "claimed_until": now + timedelta(seconds=lease_seconds),
    }
    if count_attempt:
        values["attempts"] = model.attempts + 1
    ready = and_(model.state.in_(list(ready_states)), model.next_attempt_at <= now)
    expired = and_(model.state == claimed_state, model.claimed_until < now)
    selections = [
        (ready, (model.next_attempt_at, model.id)),
        (expired, (model.id,)),
    ]
    ids: list[int] = []
    async with engine.begin() as conn:
        for cond, order in selections:
            want = limit - len(ids)
            if want <= 0:
                break
            if extra_where is not None:
                cond = and_(cond, extra_where)
            sub = select(model.id).where(cond).order_by(*order).limit(want)
            if engine.dialect.name == "postgresql":
                sub = sub.with_for_update(skip_locked=True)
            stmt = (update(model).where(model.id.in_(sub.scalar_subquery())).values(**values)
                    .returning(model.id).execution_options(synchronize_session=False))
            ids += [r[0] for r in await conn.execute(stmt)]
    return sorted(ids)


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2·base, 4·base … capped."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


async def extend_claims(engine: AsyncEngine, model: Any, *, worker_id: str, claimed_state: str,
                        lease_seconds: float) -> int:
    """Heartbeat: push the lease of every row this worker holds ``lease_seconds`` ahead. A live
    worker keeps its rows however long one takes; a dead one's lapse within one short lease."""
    mine = and_(model.state == claimed_state, model.claimed_by == worker_id)
    if engine.dialect.name == "postgresql":
        # Rows a transaction of this worker holds right now (it is applying them) are skipped,
        # never waited for: waiting, the heartbeat and that transaction could each hold rows
        # the other wants next (a deadlock). They are done, or renewed next beat, well within
        # the lease.
        mine = model.id.in_(select(model.id).where(mine).order_by(model.id)
                            .with_for_update(skip_locked=True).scalar_subquery())
    stmt = (update(model).where(mine)
            .values(claimed_until=utcnow() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False))
    async with engine.begin() as conn:
        return (await conn.execute(stmt)).rowcount or 0


async def lapse_foreign_claims(engine: AsyncEngine, model: Any, *, worker_id: str,
                               claimed_state: str) -> int:
    """On start with SQLite (one hub process per database): every claim held by another worker
    id belongs to a process that is gone, so its lease ends now instead of running out."""
    stmt = (update(model).where(model.state == claimed_state, model.claimed_by != worker_id,
                                model.claimed_until >= utcnow())
            .values(claimed_until=utcnow() - timedelta(seconds=1))
            .execution_options(synchronize_session=False))
    async with engine.begin() as conn:
        return (await conn.execute(stmt)).rowcount or 0


def taken_over() -> Any:
    """A clause on ``OutboxMessage``: another route took this (dead) row's message over — a
    fallback row of it that did not die (sent, or still being tried), or a call-back entry for
    its report made since. Sending the row again would tell the citizen twice."""
    from sqlalchemy import exists, or_
    from sqlalchemy.orm import aliased

    from store.models import Callback, OutboxMessage

    fallback = aliased(OutboxMessage)
    return or_(
        exists().where(fallback.fallback_of == OutboxMessage.id, fallback.state != "dead"),
        exists().where(Callback.report_id == OutboxMessage.report_id,
                       Callback.created_at >= OutboxMessage.created_at))
