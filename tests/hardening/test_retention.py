"""Probe 8: after retention removes a raw event's payload, a replay of the same request is still
a duplicate (the compact dedupe key outlives the payload); the key goes only after the horizon."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from store.models import InboxEvent, Report, utcnow
from store.retention import BLANK_PAYLOAD, prune_inbox
from tests.conftest import wait_for
from tests.messenger.conftest import batch, message


async def test_replay_after_retention_is_a_duplicate(db_url, channels_hub):
    hub = await channels_hub(db_url)
    raw = json.dumps(batch([message("psid-ret", "mid.ret.1", "Ổ gà lớn trên đường Hùng Vương")])).encode()
    assert (await hub.messenger(raw)).status == 200

    async def processed():
        async with hub.hub.sessions() as session:
            return (await session.execute(select(InboxEvent).where(
                InboxEvent.state == "done"))).scalars().first()
    await wait_for(processed)
    async with hub.hub.engine.begin() as conn:
        await conn.execute(update(InboxEvent).values(processed_at=utcnow() - timedelta(days=100)))
    pruned = await prune_inbox(hub.hub.engine, retain_days=90, dedupe_horizon_days=730)
    assert (pruned.blanked, pruned.deleted) == (1, 0)
    async with hub.hub.sessions() as session:
        row = (await session.execute(select(InboxEvent))).scalars().one()
    assert row.payload == BLANK_PAYLOAD and "Hùng Vương" not in row.payload

    # The same signed request again, e.g. a provider's replay: acknowledged, stored once.
    assert (await hub.messenger(raw)).status == 200
    async with hub.hub.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar() == 1
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1

    # Past the dedupe horizon the key goes too.
    async with hub.hub.engine.begin() as conn:
        await conn.execute(update(InboxEvent).values(processed_at=utcnow() - timedelta(days=900)))
    pruned = await prune_inbox(hub.hub.engine, retain_days=90, dedupe_horizon_days=730)
    assert (pruned.blanked, pruned.deleted) == (0, 1)
