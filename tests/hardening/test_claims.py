"""Probe 9: claims are heartbeats, not long leases — a live worker keeps its rows, a dead
process's rows come back within seconds, and a restart on SQLite takes them back at once."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select, update

from channels.messenger.adapter import split_batch
from store.db import make_engine, migrate
from store.intake import Intake
from store.models import InboxEvent, utcnow
from store.queue import claim, extend_claims
from tests.conftest import wait_for
from tests.messenger.conftest import batch, message


async def test_heartbeat_keeps_a_live_claim_and_a_dead_one_lapses(db_url):
    engine = make_engine(db_url)
    await migrate(engine)
    intake = Intake(engine)
    await intake.start()
    await intake.submit_many("web", [(f"c{i}", {}) for i in range(4)])
    await intake.close()
    kw = dict(limit=2, lease_seconds=0.6, ready_states=("pending",), claimed_state="claimed")
    live = await claim(engine, InboxEvent, worker_id="live", **kw)
    dead = await claim(engine, InboxEvent, worker_id="dead", **kw)
    assert len(live) == len(dead) == 2
    for _ in range(4):  # "live" beats, "dead" does not
        await asyncio.sleep(0.3)
        assert await extend_claims(engine, InboxEvent, worker_id="live", claimed_state="claimed",
                                   lease_seconds=0.6) == 2
    taken = await claim(engine, InboxEvent, worker_id="other", **kw)
    assert sorted(taken) == sorted(dead)  # the dead worker's rows, not the live one's
    await engine.dispose()


async def test_restart_on_sqlite_reclaims_at_once(sqlite_url, channels_hub):
    # Rows claimed by a process that died with a long lease still ahead of it.
    engine = make_engine(sqlite_url)
    await migrate(engine)
    intake = Intake(engine)
    await intake.start()
    raws = [json.dumps(batch([message(f"psid-r{i}", f"mid.r{i}", "Rác thải ở chợ Đông Ba")]))
            for i in range(3)]
    events = [e for raw in raws for e in split_batch(json.loads(raw))]
    await intake.submit_many("messenger", [(e.external_id, e.payload) for e in events])
    await intake.close()
    async with engine.begin() as conn:
        await conn.execute(update(InboxEvent).values(
            state="claimed", claimed_by="old-process", attempts=1,
            claimed_until=utcnow() + timedelta(minutes=10)))
    await engine.dispose()

    started = asyncio.get_running_loop().time()
    hub = await channels_hub(sqlite_url, workers={"claim_lease_seconds": 120})

    async def done():
        async with hub.hub.sessions() as session:
            states = [e.state for e in (await session.execute(select(InboxEvent))).scalars()]
            return all(s == "done" for s in states) and states
    await wait_for(done, timeout=10)
    assert asyncio.get_running_loop().time() - started < 10  # not the 120 s lease, nor 10 min
