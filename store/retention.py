"""Raw events are personal data: processed inbox rows are deleted once they are old enough.

The report keeps what the center needs (text, place, attachments, history); the raw payload
only serves redelivery dedupe, edits and Open311 token lookups, all of which are recent."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import InboxEvent, utcnow

FINISHED = ("done", "ignored")


async def prune_inbox(engine: AsyncEngine, retain_days: float, batch: int = 5000) -> int:
    """Delete finished inbox rows processed more than ``retain_days`` ago, in small batches
    (each a short transaction, so intake never waits long). Returns how many were deleted."""
    cutoff = utcnow() - timedelta(days=retain_days)
    deleted = 0
    while True:
        async with engine.begin() as conn:
            ids = [r[0] for r in await conn.execute(
                select(InboxEvent.id).where(InboxEvent.state.in_(FINISHED),
                                            InboxEvent.processed_at < cutoff).limit(batch))]
            if ids:
                await conn.execute(delete(InboxEvent).where(InboxEvent.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted
