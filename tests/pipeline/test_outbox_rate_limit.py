"""A provider's rate limit (a 429 with retry-after) is not the message's fault: it is not counted
as an attempt, so a burst of 429s does not dead-letter messages in seconds; a channel limited
without a break for RATE_LIMITED_GIVE_UP_SECONDS, at least outbox_max_attempts times, gives up
all the same."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hub.dispatch
from hub.app import close_hub
from hub.workers import Workers
from store.models import OutboxMessage
from tests.pipeline.test_outbox_order import (
    ACK,
    CHAT,
    drain,
    queue,
    states,
    telegram_outbox_hub,
    texts_to,
)
from tests.telegram.fakebot import error, path

LIMITED = error(429, "Too Many Requests: retry after 1", retry_after=1)


async def test_429s_are_not_counted_as_attempts(tmp_path: Path, sqlite_url: str, fake_api: Any) -> None:
    hub, api = await telegram_outbox_hub(tmp_path, sqlite_url, fake_api)
    hub.settings.workers.outbox_max_attempts = 2
    api.on("POST", path("sendMessage"), LIMITED, LIMITED, LIMITED)  # then the default: sent
    try:
        [row_id] = await queue(hub, (CHAT, ACK))
        await drain(Workers(hub), hub, seconds=10)
        assert (await states(hub))[row_id] == "sent"
        assert texts_to(api, CHAT) == [ACK] * 4
        async with hub.sessions() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None and row.attempts == 1  # the one that went through
    finally:
        await close_hub(hub)


async def test_a_channel_rate_limited_for_good_still_gives_up(
        tmp_path: Path, sqlite_url: str, fake_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub.dispatch, "RATE_LIMITED_GIVE_UP_SECONDS", 1.5)
    hub_, api = await telegram_outbox_hub(tmp_path, sqlite_url, fake_api)
    hub_.settings.workers.outbox_max_attempts = 2
    api.on("POST", path("sendMessage"), default=LIMITED)
    try:
        [row_id] = await queue(hub_, (CHAT, ACK))
        await drain(Workers(hub_), hub_, seconds=10)
        assert (await states(hub_))[row_id] == "dead"
        # not before the time bound: rate limited at 0 s, 1 s, then past 1.5 s
        assert len(texts_to(api, CHAT)) >= 3
        async with hub_.sessions() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None and row.last_error is not None
            assert row.last_error.startswith("gave up after") and "rate limited" in row.last_error
    finally:
        await close_hub(hub_)
