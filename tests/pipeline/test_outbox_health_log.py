"""A provider outage is said in the log while it lasts, not only when messages die: one WARNING
per channel once sends keep failing (rate-limited: at most one per five minutes), one INFO when
they go through again; neither names an address or a text."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from hub.app import close_hub
from hub.workers import Workers
from tests.pipeline.test_outbox_order import drain, queue, states, telegram_outbox_hub
from tests.telegram.fakebot import error, path

CHATS = [f"51234000{i}" for i in range(5)]
TEXT = "Chúng tôi đã tiếp nhận phản ánh của bạn. Mã phản ánh: PA-2026-0000"


async def test_failing_sends_warn_once_and_recovery_is_logged(
        tmp_path: Path, sqlite_url: str, fake_api: Any, caplog: pytest.LogCaptureFixture) -> None:
    hub, api = await telegram_outbox_hub(tmp_path, sqlite_url, fake_api)
    hub.settings.workers.outbox_concurrency = 1
    down = error(500, "Internal Server Error")
    api.on("POST", path("sendMessage"), *[down] * 6)  # then the default: sent
    try:
        await queue(hub, *[(chat, f"{TEXT}{i}") for i, chat in enumerate(CHATS)])
        with caplog.at_level(logging.INFO, logger="hub.outbox"):
            await drain(Workers(hub), hub)
        assert set((await states(hub)).values()) == {"sent"}
        lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "hub.outbox"]
        warnings = [m for level, m in lines if level == logging.WARNING]
        assert warnings == ["telegram: 3 sends failed in the last 5 min: "
                            "Telegram unavailable: NetworkError: Internal Server Error"]
        recovered = [m for level, m in lines if level == logging.INFO and "recovered" in m]
        assert len(recovered) == 1 and recovered[0].startswith("telegram: sending recovered")
        for _level, message in lines:
            assert not any(chat in message for chat in CHATS) and "PA-2026" not in message
    finally:
        await close_hub(hub)


def test_a_reason_in_the_log_names_no_one() -> None:
    from hub.dispatch import impersonal

    assert impersonal("550 5.1.1 <dan.nguyen@example.vn>: mailbox unavailable") == (
        "550 5.1.1 <…>: mailbox unavailable")
    assert impersonal("chat 512340001 not found, phone +84 905 123 456") == (
        "chat … not found, phone …")
    assert impersonal("SMS gateway error (HTTP 500)") == "SMS gateway error (HTTP 500)"
