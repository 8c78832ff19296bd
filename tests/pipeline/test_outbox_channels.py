"""One slow provider delays only its own channel: while Telegram's Bot API hangs until every
send times out, the citizens on Messenger get their messages at Messenger's pace, in ``serve``
(the outbox loop sends each channel's rows in a task of its own)."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from hub.app import close_hub, open_hub
from hub.workers import Workers
from store.models import OutboxMessage
from tests.conftest import make_settings
from tests.messenger.conftest import GRAPH_PATH, messenger_section
from tests.telegram.fakebot import channel_settings, path, serve

TIMEOUT = 5.0  # Telegram's request timeout in this test: every send to it takes that long


async def _states(hub: Any, channel: str) -> list[str]:
    async with hub.sessions() as session:
        return list((await session.execute(select(OutboxMessage.state).where(
            OutboxMessage.channel == channel).order_by(OutboxMessage.id))).scalars())


async def test_a_hanging_provider_does_not_slow_the_other_channels(
        tmp_path: Path, db_url: str, fake_api: Any) -> None:
    api = await fake_api()
    serve(api)
    released = asyncio.Event()

    async def hang(request: web.Request, body: bytes) -> web.StreamResponse:
        await released.wait()  # the hub's client gives up first
        return web.json_response({"ok": True, "result": {
            "message_id": 1, "date": 1764800000, "chat": {"id": 1, "type": "private"}}})

    api.on("POST", path("sendMessage"), default=hang)
    mid = iter(range(10_000))

    async def graph(request: web.Request, body: bytes) -> web.StreamResponse:
        return web.json_response({"recipient_id": "x", "message_id": f"m_{next(mid)}"})

    api.on("POST", GRAPH_PATH, default=graph)
    channels = channel_settings(api.url, request_timeout_seconds=TIMEOUT)
    channels["messenger"] = messenger_section(api.url)
    hub = await open_hub(make_settings(
        tmp_path, db_url, channels=channels,
        workers={"enabled": False, "outbox_batch": 4, "retry_base_seconds": 0.2,
                 "retry_max_seconds": 0.5, "poll_seconds": 0.1,
                 "outbox_rate_per_second": {"messenger": 1000.0, "telegram": 1000.0}}))
    workers = Workers(hub)
    try:
        # Telegram and Messenger rows interleaved, each to its own citizen: every outbox batch
        # of 4 holds Telegram rows, so a pass that awaited its whole batch would wait out a
        # Telegram timeout for every two Messenger messages (12 batches: a minute at least).
        async with hub.sessions() as session, session.begin():
            for n in range(24):
                session.add(OutboxMessage(channel="telegram", address=f"51234{n:04d}",
                                          template="t", payload={"text": f"Tin {n}"}))
                session.add(OutboxMessage(channel="messenger", address=f"2470{n:04d}",
                                          template="t", payload={"text": f"Tin nhắn {n}"}))
        started = time.monotonic()
        workers.start()
        hub.outbox_wakeup.set()
        while set(await _states(hub, "messenger")) != {"sent"}:
            assert time.monotonic() - started < 30, await _states(hub, "messenger")
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        # All 24 Messenger messages went out before the first Telegram sends timed out.
        assert elapsed < TIMEOUT, elapsed
        assert set(await _states(hub, "telegram")) <= {"pending", "sending"}
        assert len(api.calls_to(GRAPH_PATH)) == 24
        # Messenger rows queued while Telegram still hangs leave at once too.
        async with hub.sessions() as session, session.begin():
            session.add(OutboxMessage(channel="messenger", address="24709999", template="t",
                                      payload={"text": "Tin nhắn mới"}))
        hub.outbox_wakeup.set()
        later = time.monotonic()
        while (await _states(hub, "messenger"))[-1] != "sent":
            assert time.monotonic() - later < 10
            await asyncio.sleep(0.05)
        assert time.monotonic() - later < TIMEOUT
        # Telegram recovers: its rows are retried and all go out, once each.
        released.set()
        serve(api)  # the fake's own sendMessage again
        while set(await _states(hub, "telegram")) != {"sent"}:
            assert time.monotonic() - started < 60, await _states(hub, "telegram")
            await asyncio.sleep(0.1)
    finally:
        released.set()
        await workers.stop()
        await close_hub(hub)


async def test_stopping_puts_claimed_rows_back_at_once(
        tmp_path: Path, db_url: str, fake_api: Any) -> None:
    """A graceful stop while a channel's sends hang: the rows claimed but not sent go back to
    the queue (pending, their attempt not counted), not left claimed until the lease runs out."""
    api = await fake_api()
    serve(api)
    entered = asyncio.Event()

    async def slow(request: web.Request, body: bytes) -> web.StreamResponse:
        entered.set()
        await asyncio.sleep(0.5)
        return web.json_response({"ok": True, "result": {
            "message_id": 1, "date": 1764800000, "chat": {"id": 1, "type": "private"}}})

    api.on("POST", path("sendMessage"), default=slow)
    hub = await open_hub(make_settings(
        tmp_path, db_url, channels=channel_settings(api.url),
        workers={"enabled": False, "outbox_batch": 10, "outbox_concurrency": 1,
                 "poll_seconds": 0.1}))
    workers = Workers(hub)
    try:
        async with hub.sessions() as session, session.begin():
            session.add_all(OutboxMessage(channel="telegram", address=f"51234{n:04d}", template="t",
                                          payload={"text": f"Tin {n}"}) for n in range(6))
        workers.start()
        hub.outbox_wakeup.set()
        await asyncio.wait_for(entered.wait(), 10)
        await workers.stop()
        async with hub.sessions() as session:
            rows = (await session.execute(select(
                OutboxMessage.state, OutboxMessage.claimed_by, OutboxMessage.attempts))).all()
        states = sorted(r.state for r in rows)
        assert "sending" not in states, rows
        assert states.count("sent") >= 1 and states.count("pending") >= 1, rows
        assert all(r.claimed_by is None for r in rows if r.state == "pending")
        assert all(r.attempts == 0 for r in rows if r.state == "pending")
    finally:
        await close_hub(hub)


async def test_a_database_error_on_one_address_does_not_send_the_others_twice(
        tmp_path: Path, sqlite_url: str, fake_api: Any) -> None:
    """Review: one address's outcome failing to record (a real database error, raised by a
    trigger) while another address's send was still in flight put that row back mid-send; the
    next pass claimed it and the citizen got the message twice."""
    from sqlalchemy import text

    from tests.telegram.fakebot import BOT_USER
    api = await fake_api()
    serve(api)
    sent_to: list[str] = []

    async def send(request: web.Request, body: bytes) -> web.StreamResponse:
        from urllib.parse import parse_qsl

        chat = dict(parse_qsl(body.decode()))["chat_id"]
        sent_to.append(chat)
        if chat == "512340002":
            await asyncio.sleep(1.0)  # still in flight when the other address's record fails
        return web.json_response({"ok": True, "result": {
            "message_id": len(sent_to), "date": 1767600000, "from": BOT_USER,
            "chat": {"id": int(chat), "type": "private"}, "text": "x"}})

    api.on("POST", path("sendMessage"), default=send)
    hub = await open_hub(make_settings(
        tmp_path, sqlite_url, channels=channel_settings(api.url),
        workers={"enabled": False, "poll_seconds": 0.1, "retry_base_seconds": 0.2}))
    workers = Workers(hub)
    try:
        async with hub.engine.begin() as conn:
            await conn.execute(text(
                "CREATE TRIGGER fail_record BEFORE UPDATE OF state ON outbox "
                "WHEN OLD.address = '512340001' AND NEW.state = 'sent' "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"))
        async with hub.sessions() as session, session.begin():
            session.add_all([OutboxMessage(channel="telegram", address=chat, template="t",
                                           payload={"text": "Tin"})
                             for chat in ("512340001", "512340002")])
        workers.start()
        hub.outbox_wakeup.set()
        while "512340001" not in sent_to:
            await asyncio.sleep(0.02)
        await asyncio.sleep(2.5)  # the slow send ends; further passes run
        async with hub.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER fail_record"))
        deadline = time.monotonic() + 10
        while set(await _states(hub, "telegram")) != {"sent"}:
            assert time.monotonic() < deadline, await _states(hub, "telegram")
            await asyncio.sleep(0.05)
        assert sent_to.count("512340002") == 1
        # the row whose outcome could not be recorded was sent again, but after a pause each
        # time (retry_base_seconds), not in a burst
        assert sent_to.count("512340001") <= 1 + 3.5 / 0.2
    finally:
        await workers.stop()
        await close_hub(hub)
