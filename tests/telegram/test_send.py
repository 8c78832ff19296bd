"""Sending through python-telegram-bot's Bot against the fake Bot API: every Telegram answer
maps to sent / retry (with Telegram's delay) / give up (with the reason) / paused."""
from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web

from hub.keys import HUB_KEY
from normalizer.schema import DeliveryResult, OutboundMessage
from tests.telegram.fakebot import TOKEN, error, path, sent_messages

ACK = OutboundMessage(text="Mã phản ánh: PA-2026-000007", report_code="PA-2026-000007")


async def adapter_for(telegram_hub, **settings):
    client = await telegram_hub(workers=False, **settings)
    return client.app[HUB_KEY].channels["telegram"]


async def test_sent_with_telegram_message_id(telegram_hub, bot_api):
    adapter = await adapter_for(telegram_hub)
    result = await adapter.send("512340001", ACK)
    assert result == DeliveryResult.sent(provider_id="1000")
    # no buttons of its own: any dialogue keyboard still shown is removed
    assert sent_messages(bot_api) == [{"chat_id": "512340001", "text": ACK.text,
                                       "reply_markup": '{"remove_keyboard": true}'}]
    assert len(bot_api.calls_to(path("getMe"))) == 1  # the Application started with the hub


async def test_long_text_is_cut_to_the_bot_api_limit(telegram_hub, bot_api):
    adapter = await adapter_for(telegram_hub)
    await adapter.send("512340001", OutboundMessage(text="ổ gà " * 2000))
    [sent] = sent_messages(bot_api)
    assert len(sent["text"]) == 4096 and sent["text"].endswith("…")


SLOW_SECONDS = 1.0


async def _slow(request: web.Request, body: bytes) -> web.Response:
    await asyncio.sleep(SLOW_SECONDS)
    return web.json_response({"ok": True, "result": {}})


CASES = [
    ("rate limited", error(429, "Too Many Requests: retry after 7", retry_after=7),
     DeliveryResult.retry("rate limited by Telegram", retry_after=7.0)),
    ("blocked", error(403, "Forbidden: bot was blocked by the user"),
     DeliveryResult.give_up("bot blocked by user", needs_other_route=True)),
    ("deactivated", error(403, "Forbidden: user is deactivated"),
     DeliveryResult.give_up("forbidden by Telegram: Forbidden: user is deactivated",
                            needs_other_route=True)),
    ("chat not found", error(400, "Bad Request: chat not found"),
     DeliveryResult.give_up("rejected by Telegram: Chat not found", needs_other_route=True)),
    ("bad text", error(400, "Bad Request: message text is empty"),
     DeliveryResult.give_up("rejected by Telegram: Message text is empty")),
    ("server error", error(500, "Internal Server Error"),
     DeliveryResult.retry("Telegram unavailable: NetworkError: Internal Server Error")),
    ("bad gateway", (502, "<html>Bad Gateway</html>"), None),
    ("token revoked", error(401, "Unauthorized"),
     DeliveryResult.paused("bot token rejected by Telegram")),
    ("timeout", _slow, DeliveryResult.retry("Telegram timed out")),
]


@pytest.mark.parametrize(("answer", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_telegram_errors_map_to_delivery_results(telegram_hub, bot_api, answer, expected, caplog):
    bot_api.on("POST", path("sendMessage"), answer)
    adapter = await adapter_for(telegram_hub, request_timeout_seconds=0.3)
    with caplog.at_level(logging.DEBUG, logger="hub"):
        result = await adapter.send("512340001", ACK)
    if expected is None:  # only the status matters (the message is the HTTP library's)
        assert result.status == "retry", result
    else:
        assert result == expected
    assert TOKEN not in result.reason and TOKEN not in caplog.text


async def test_group_migrated_to_supergroup_is_sent_to_the_new_chat(telegram_hub, bot_api):
    bot_api.on("POST", path("sendMessage"),
               error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                     migrate_to_chat_id=-1009876543210))
    adapter = await adapter_for(telegram_hub)
    result = await adapter.send("-4012345678", ACK)
    assert result.status == "sent"
    assert [m["chat_id"] for m in sent_messages(bot_api)] == ["-4012345678", "-1009876543210"]


async def test_unreachable_bot_api_at_start_does_not_stop_the_hub(telegram_hub, bot_api):
    """getMe fails at start: intake keeps working and the bot initializes on first use."""
    bot_api.on("POST", path("getMe"), error(500, "Internal Server Error"))
    adapter = await adapter_for(telegram_hub)
    assert not adapter.app.running
    result = await adapter.send("512340001", ACK)
    assert result.status == "sent" and adapter.app.running
    assert len(bot_api.calls_to(path("getMe"))) == 2


async def test_connection_refused_is_retry(telegram_hub, bot_api):
    adapter = await adapter_for(telegram_hub)
    await bot_api.close()  # the Bot API goes away after start
    result = await adapter.send("512340001", ACK)
    assert result.status == "retry" and result.reason.startswith("Telegram unavailable")


async def test_rejected_token_at_start_pauses_sending_without_leaking_it(telegram_hub, bot_api, caplog):
    bot_api.on("POST", path("getMe"), default=error(401, "Unauthorized"))
    with caplog.at_level(logging.DEBUG, logger="hub"):
        adapter = await adapter_for(telegram_hub)
        result = await adapter.send("512340001", ACK)
    assert result == DeliveryResult.paused("bot token rejected by Telegram")
    assert "not ready at start" in caplog.text and TOKEN not in caplog.text
    assert sent_messages(bot_api) == []
