"""A citizen's messages leave in order: a newer outbox row to an address waits while an older
one to it is unfinished (a retry due later, a row another replica is sending), on SQLite and
PostgreSQL; a dead or sent older row holds nothing back."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from hub.app import close_hub, open_hub
from hub.workers import Workers
from store.models import OutboxMessage, utcnow
from tests.conftest import make_settings
from tests.telegram.fakebot import channel_settings, error, path, sent_messages, serve

CHAT = "512340001"
ACK = "Chúng tôi đã tiếp nhận phản ánh của bạn. Mã phản ánh: PA-2026-000034"
ASK = "Bạn vui lòng cho biết số điện thoại để cán bộ liên hệ khi cần?"


async def telegram_outbox_hub(tmp_path: Path, db_url: str, fake_api: Any) -> tuple[Any, Any]:
    api = await fake_api()
    serve(api)
    hub = await open_hub(make_settings(tmp_path, db_url, channels=channel_settings(api.url),
                                       workers={"enabled": False, "retry_max_seconds": 5}))
    return hub, api


async def queue(hub: Any, *rows: tuple[str, str], **fields: Any) -> list[int]:
    async with hub.sessions() as session, session.begin():
        made = [OutboxMessage(channel="telegram", address=address, template="t",
                              payload={"text": body}, **fields) for address, body in rows]
        session.add_all(made)
        await session.flush()
        return [r.id for r in made]


async def states(hub: Any) -> dict[int, str]:
    async with hub.sessions() as session:
        return dict((await session.execute(select(OutboxMessage.id, OutboxMessage.state))).all())


async def drain(workers: Workers, hub: Any, seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await workers.run_outbox_once()
        if set((await states(hub)).values()) <= {"sent", "dead"}:
            return
        await asyncio.sleep(0.05)


def texts_to(api: Any, chat: str) -> list[str]:
    return [m["text"] for m in sent_messages(api) if m["chat_id"] == chat]


async def test_acknowledgement_refused_with_429_still_goes_before_the_next_question(
        tmp_path: Path, db_url: str, fake_api: Any) -> None:
    hub, api = await telegram_outbox_hub(tmp_path, db_url, fake_api)
    # Telegram refuses the first sendMessage (the acknowledgement) with a 429
    api.on("POST", path("sendMessage"), error(429, "Too Many Requests: retry after 1", retry_after=1))
    try:
        await queue(hub, (CHAT, ACK), (CHAT, ASK), ("512340002", "Mã phản ánh: PA-2026-000035"))
        await drain(Workers(hub), hub)
        assert set((await states(hub)).values()) == {"sent"}
        # the refused acknowledgement, then the acknowledgement again, then the question
        assert texts_to(api, CHAT) == [ACK, ACK, ASK]
    finally:
        await close_hub(hub)


async def test_a_row_another_replica_is_sending_holds_back_the_newer_one(
        tmp_path: Path, db_url: str, fake_api: Any) -> None:
    hub, api = await telegram_outbox_hub(tmp_path, db_url, fake_api)
    try:
        [older] = await queue(hub, (CHAT, ACK), state="sending", claimed_by="replica-b",
                              claimed_until=utcnow() + timedelta(seconds=60), attempts=1)
        [newer] = await queue(hub, (CHAT, ASK))
        [other] = await queue(hub, ("512340002", "Mã phản ánh: PA-2026-000035"))
        await Workers(hub).run_outbox_once()
        got = await states(hub)
        assert got[newer] == "pending" and got[other] == "sent"
        assert texts_to(api, CHAT) == []
        async with hub.sessions() as session:
            row = await session.get(OutboxMessage, newer)
            assert row is not None and row.attempts == 0 and row.claimed_by is None
    finally:
        await close_hub(hub)


async def test_an_older_row_locked_by_another_replicas_claim_holds_back_the_newer_one(
        tmp_path: Path, db_url: str, fake_api: Any) -> None:
    """PostgreSQL: a replica's claim holds the older row locked (SKIP LOCKED skips it here) — the
    newer row taken instead is put back, not sent ahead of it. On SQLite (one writer) the
    claim limit cutting between them is the same case."""
    hub, api = await telegram_outbox_hub(tmp_path, db_url, fake_api)
    try:
        older, newer = await queue(hub, (CHAT, ACK), (CHAT, ASK))
        workers = Workers(hub)
        if hub.engine.dialect.name == "postgresql":
            async with hub.engine.connect() as other_replica:
                txn = await other_replica.begin()
                await other_replica.execute(text("SELECT id FROM outbox WHERE id = :id FOR UPDATE"),
                                            {"id": older})
                await workers.run_outbox_once()
                await txn.rollback()
        else:
            # the older row is due later than the newer one and the batch takes one row
            async with hub.sessions() as session, session.begin():
                row = await session.get(OutboxMessage, older)
                assert row is not None
                row.next_attempt_at = utcnow() - timedelta(seconds=1)
                row2 = await session.get(OutboxMessage, newer)
                assert row2 is not None
                row2.next_attempt_at = utcnow() - timedelta(seconds=2)
            hub.settings.workers.outbox_batch = 1
            await workers.run_outbox_once()
        assert texts_to(api, CHAT) == []
        assert (await states(hub))[newer] == "pending"
        hub.settings.workers.outbox_batch = 20
        await drain(workers, hub)
        assert texts_to(api, CHAT) == [ACK, ASK]
    finally:
        await close_hub(hub)


async def test_a_dead_older_row_holds_nothing_back(tmp_path: Path, db_url: str, fake_api: Any) -> None:
    hub, api = await telegram_outbox_hub(tmp_path, db_url, fake_api)
    try:
        await queue(hub, (CHAT, ACK), state="dead", attempts=8, last_error="gave up")
        [newer] = await queue(hub, (CHAT, ASK))
        await Workers(hub).run_outbox_once()
        assert (await states(hub))[newer] == "sent"
        assert texts_to(api, CHAT) == [ASK]
    finally:
        await close_hub(hub)


async def test_an_agencys_deliveries_do_not_wait_for_one_it_keeps_refusing(
        tmp_path: Path, db_url: str, fake_api: Any) -> None:
    """Review: the order rule held an agency's every delivery behind one its endpoint kept
    refusing (until that one died, 11 minutes and more); only a citizen's messages are ordered."""
    hub, api = await telegram_outbox_hub(tmp_path, db_url, fake_api)
    try:
        await queue(hub, (CHAT, "Phản ánh mới PA-2026-000040"), purpose="agency_webhook",
                    state="retry", attempts=3, next_attempt_at=utcnow() + timedelta(minutes=5))
        [newer] = await queue(hub, (CHAT, "Phản ánh mới PA-2026-000041"), purpose="agency_webhook")
        await Workers(hub).run_outbox_once()
        assert (await states(hub))[newer] == "sent"
    finally:
        await close_hub(hub)
