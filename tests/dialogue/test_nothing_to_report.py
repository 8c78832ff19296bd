"""A message that reports nothing, with no report open, is not a report (left by the dialogue
walkthrough: a "👍" after the hub's answer, a first message of stickers' emoji, or "bỏ qua" /
"xong" sent after the dialogue had closed each became a new report with a code and an "Sự việc
ở đâu ạ?" question, and went to the center's triage with no text)."""
from __future__ import annotations

import asyncio

import pytest

from normalizer.dialogue import says_nothing
from router import templates
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub
from tests.dialogue.test_late_answers import QUIET, _window_ended


@pytest.mark.parametrize("text,nothing", [
    ("👍", True), ("🙏🙏", True), ("...", True), ("", True), ("ok", True), ("Vâng ạ", True),
    ("Dạ", True), ("bỏ qua", True), ("xong rồi", True), ("ko", True), ("OK.", True),
    ("ok, rác vẫn chưa dọn", False), ("không có ai dọn rác", False), ("kiệt 5", False),
    ("đèn hỏng 👍", False), ("5", False),
])
def test_what_says_nothing(text, nothing):
    assert says_nothing(text) is nothing


async def test_nothing_said_makes_no_report(settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.1)
    citizen = TelegramCitizen(client, bot_api, chat=512340131)
    # A first message of emoji only: told how to report, no report.
    await citizen.say("👍👍")
    [hello] = await citizen.answers(1)
    assert hello == templates.render("smalltalk_greeting")
    assert await citizen.reports() == []

    await citizen.say(QUIET)
    ack = (await citizen.answers(2))[1]
    assert "Sự việc ở đâu" in ack
    [report] = await _window_ended(citizen)
    count = len(citizen.texts())
    # After the dialogue closed: "bỏ qua", "ok" and a thumbs-up make nothing and say nothing.
    for text in ("bỏ qua", "ok", "👍"):
        await citizen.say(text)
    await asyncio.sleep(1.5)
    assert len(citizen.texts()) == count
    [again] = await citizen.reports()
    assert again.id == report.id and again.description == report.description
    # Something said is still a report.
    await citizen.say("Đèn đường kiệt 9 Ngự Bình hỏng")
    await citizen.answers(count + 1)
    assert len(await citizen.reports()) == 2
