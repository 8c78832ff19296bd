"""Raw events are personal data: a processed inbox row loses its payload once it is old enough,
but keeps its compact dedupe key much longer.

The report keeps what the center needs (text, place, attachments, history); the raw payload
only serves edits and Open311 token lookups, all of which are recent. The row itself —
``(channel, external_id)``, the unique key intake's ``ON CONFLICT DO NOTHING`` relies on — is what
recognises a provider's replay: after ``retain_days`` the payload is blanked and the row marked
``expired`` (a few dozen bytes remain: channel, id, times, report id); only after a further
``dedupe_horizon_days`` is the row deleted. A replay inside that horizon is acknowledged as a
duplicate instead of becoming a second report; Zalo events older than the horizon are refused
at the webhook (channels.zalo ``max_event_age_hours``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import InboxEvent, utcnow

FINISHED = ("done", "ignored")
EXPIRED = "expired"
BLANK_PAYLOAD = "{}"


@dataclass(frozen=True)
class Pruned:
    blanked: int
    deleted: int

    def __bool__(self) -> bool:
        return bool(self.blanked or self.deleted)


async def prune_inbox(engine: AsyncEngine, retain_days: float, batch: int = 5000,
                      dedupe_horizon_days: float = 730) -> Pruned:
    """Blank the payload of finished rows processed more than ``retain_days`` ago (state
    ``expired``), then delete expired rows older than ``retain_days + dedupe_horizon_days``
    (never, when the horizon is 0). Small batches, each a short transaction, so intake never
    waits long."""
    now = utcnow()
    cutoff = now - timedelta(days=retain_days)
    blanked = await _batched(engine, batch, select(InboxEvent.id).where(
        InboxEvent.state.in_(FINISHED), InboxEvent.processed_at < cutoff),
        lambda ids: update(InboxEvent).where(InboxEvent.id.in_(ids)).values(
            payload=BLANK_PAYLOAD, state=EXPIRED, error=None))
    deleted = 0
    if dedupe_horizon_days:
        horizon = cutoff - timedelta(days=dedupe_horizon_days)
        deleted = await _batched(engine, batch, select(InboxEvent.id).where(
            InboxEvent.state == EXPIRED, InboxEvent.processed_at < horizon),
            lambda ids: delete(InboxEvent).where(InboxEvent.id.in_(ids)))
    return Pruned(blanked, deleted)


async def _batched(engine: AsyncEngine, batch: int, query, change) -> int:  # noqa: ANN001
    done = 0
    while True:
        async with engine.begin() as conn:
            ids = [r[0] for r in await conn.execute(query.limit(batch))]
            if ids:
                await conn.execute(change(ids))
        done += len(ids)
        if len(ids) < batch:
            return done
