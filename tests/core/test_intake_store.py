"""Durable intake and row claiming, on SQLite and (in the PostgreSQL pass) PostgreSQL."""
import asyncio

import pytest
from sqlalchemy import func, select

from store.db import make_engine, migrate
from store.intake import Intake
from store.models import InboxEvent
from store.queue import claim


async def _engine(db_url):
    engine = make_engine(db_url)
    await migrate(engine)
    return engine


async def test_group_commit_stores_every_concurrent_event_once(db_url):
    engine = await _engine(db_url)
    commits = []
    intake = Intake(engine, batch_max=64, on_commit=lambda n, _t: commits.append(n))
    await intake.start()
    try:
        results = await asyncio.gather(*(intake.submit("web", f"ev-{i}", {"i": i}) for i in range(500)))
        assert all(r.stored for r in results)
        # concurrent requests shared transactions: far fewer commits than events
        assert sum(commits) == 500 and len(commits) < 100
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(InboxEvent))).scalar() == 500
    finally:
        await intake.close()
        await engine.dispose()


async def test_same_event_five_times_concurrently_is_one_row(db_url):
    engine = await _engine(db_url)
    intake = Intake(engine)
    await intake.start()
    try:
        results = await asyncio.gather(*(intake.submit("messenger", "m_1", {"n": n}) for n in range(5)))
        assert sum(r.stored for r in results) == 1
        again = await intake.submit("messenger", "m_1", {"n": 9})
        assert again.duplicate
        # the same id on another channel is a different event
        assert (await intake.submit("zalo", "m_1", {})).stored
        async with engine.connect() as conn:
            rows = (await conn.execute(select(InboxEvent.channel, InboxEvent.payload))).all()
        assert sorted(r[0] for r in rows) == ["messenger", "zalo"]
    finally:
        await intake.close()
        await engine.dispose()


async def test_close_writes_what_was_submitted_then_refuses(db_url):
    engine = await _engine(db_url)
    intake = Intake(engine)
    await intake.start()
    pending = [asyncio.create_task(intake.submit("web", f"x{i}", {})) for i in range(50)]
    await asyncio.sleep(0)
    await intake.close()
    assert all(t.result().stored for t in pending)
    from store.intake import IntakeClosed
    try:
        await intake.submit("web", "late", {})
        raise AssertionError("closed intake accepted an event")
    except IntakeClosed:
        pass
    await engine.dispose()


async def test_two_claimers_never_claim_the_same_row_and_leases_expire(db_url):
    engine = await _engine(db_url)
    intake = Intake(engine)
    await intake.start()
    await intake.submit_many("web", [(f"e{i}", {}) for i in range(200)])
    await intake.close()
    kw = dict(limit=7, lease_seconds=60, ready_states=("pending",), claimed_state="claimed")
    got: list[int] = []

    async def worker(name):
        while ids := await claim(engine, InboxEvent, worker_id=name, **kw):
            got.extend(ids)
            await asyncio.sleep(0)
    await asyncio.gather(worker("a"), worker("b"), worker("c"))
    assert len(got) == 200 and len(set(got)) == 200
    # a dead worker's claims come back once the lease has passed
    async with engine.begin() as conn:
        from sqlalchemy import update

        from store.models import utcnow
        await conn.execute(update(InboxEvent).where(InboxEvent.id.in_(got[:5]))
                           .values(claimed_until=utcnow()))
    again = await claim(engine, InboxEvent, worker_id="d", **kw)
    assert sorted(again) == sorted(got[:5])
    await engine.dispose()


async def test_leader_lease_has_one_holder(db_url):
    from store.leases import LeaderLease

    engine = await _engine(db_url)
    a = LeaderLease(engine, "t", "a", ttl_seconds=30)
    b = LeaderLease(engine, "t", "b", ttl_seconds=30)
    try:
        assert await a.try_acquire() is True
        assert await b.try_acquire() is False
        assert await a.try_acquire() is True  # renewal
        await a.release()
        assert await b.try_acquire() is True
    finally:
        await a.release()
        await b.release()
        await engine.dispose()


@pytest.mark.parametrize("name", ["hub-leader", "lease-12"])
async def test_lease_holder_sees_the_holder_without_taking_the_lease(db_url, name):
    """`restore` asks who serves a database: lease_holder names the holder while it holds the
    lease and nobody after, and taking the lease stays possible (it only looked). "lease-12" has a
    negative advisory key, whose two halves PostgreSQL keeps as unsigned classid/objid."""
    from store.leases import LeaderLease, advisory_key, lease_holder

    assert (advisory_key(name) < 0) == (name == "lease-12")
    engine = await _engine(db_url)
    a = LeaderLease(engine, name, "serve-a", ttl_seconds=30)
    b = LeaderLease(engine, name, "serve-b", ttl_seconds=30)
    try:
        assert await lease_holder(engine, name) is None
        assert await a.try_acquire() is True
        holder = await lease_holder(engine, name)
        assert holder == "serve-a" or holder.startswith("PostgreSQL session")
        assert await lease_holder(engine, "some-other-lease") is None
        assert await b.try_acquire() is False
        await a.release()
        assert await lease_holder(engine, name) is None
        assert await b.try_acquire() is True
    finally:
        await a.release()
        await b.release()
        await engine.dispose()


async def test_retention_deletes_only_old_processed_events(db_url):
    from datetime import timedelta

    from sqlalchemy import update

    from store.models import utcnow
    from store.retention import prune_inbox

    engine = await _engine(db_url)
    intake = Intake(engine)
    await intake.start()
    await intake.submit_many("web", [(f"r{i}", {}) for i in range(12)])
    await intake.close()
    old, recent = utcnow() - timedelta(days=100), utcnow() - timedelta(days=1)
    async with engine.begin() as conn:
        for ids, state, when in ((range(1, 6), "done", old), (range(6, 8), "ignored", old),
                                 (range(8, 10), "done", recent), (range(10, 12), "parked", old)):
            await conn.execute(update(InboxEvent).where(InboxEvent.external_id.in_(
                [f"r{i}" for i in ids])).values(state=state, processed_at=when))
    pruned = await prune_inbox(engine, retain_days=90, batch=3)
    assert (pruned.blanked, pruned.deleted) == (7, 0)
    async with engine.connect() as conn:
        left = sorted(r[0] for r in await conn.execute(select(InboxEvent.external_id).where(
            InboxEvent.state != "expired")))
    # recent, parked (kept for the operators) and never-processed rows stay whole; the old
    # finished ones keep only their dedupe key (tests/hardening/test_retention.py)
    assert left == sorted(["r0", "r8", "r9", "r10", "r11"])
    await engine.dispose()
