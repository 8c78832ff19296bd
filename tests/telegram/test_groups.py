"""A Telegram group the bot was added to is not a citizen (Telegram walkthrough: three members'
messages made one report, a member's complaint became its address, another member's phone
became the "citizen's", and the bot asked the whole group for a phone number). No report is
made from a group and nothing is asked there; the group is pointed to a private chat, at most
once every few hours; /status still answers with the public status. A contact card of someone
else never answers "your phone?"."""
from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, select

from hub.keys import HUB_KEY
from router import templates
from store.models import Contact, InboxEvent, Report
from tests.conftest import wait_for
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub
from tests.telegram.fakebot import load, sent_messages

GROUP = -4012345678
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": "hue-webhook-Secret_2026",
           "Content-Type": "application/json"}


async def _in_group(client: Any, update_id: int, member: int, text: str) -> None:
    update = load("message__group_text")
    update["update_id"] = update_id
    message = update["message"]
    message["message_id"], message["date"], message["text"] = update_id % 100000, int(time.time()), text
    message["from"]["id"] = member
    resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                             headers=HEADERS)
    assert resp.status == 200

    async def settled() -> bool:
        async with client.app[HUB_KEY].sessions() as session:
            state = (await session.execute(select(InboxEvent.state).where(
                InboxEvent.external_id == str(update_id)))).scalar()
        return state in ("done", "ignored")
    await wait_for(settled)


async def test_a_group_makes_no_report_and_is_pointed_to_a_private_chat(
        settings_factory: Any, hub_client: Any, fake_api: Any) -> None:
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.05)
    await _in_group(client, 830900001, 600004, "Đèn đường kiệt 14 Phan Đình Phùng bị hỏng cả tuần nay")
    await _in_group(client, 830900002, 600005, "Cống thoát nước đường Bà Triệu bị tắc")
    await _in_group(client, 830900003, 600006, "0905 111 222")

    async def to_group() -> list[str] | None:
        said = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(GROUP)]
        return said or None
    said = await wait_for(to_group)
    await _in_group(client, 830900004, 600004, "Có ai biết không?")
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 0
        group = (await session.execute(select(Contact).where(
            Contact.channel_user_id == str(GROUP)))).scalar_one()
        assert group.phone is None and not group.name
    said = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(GROUP)]
    assert said == [templates.render("group_private")]  # once, not per message; no question

    # /status in the group: the public status of a report made in a private chat
    citizen = TelegramCitizen(client, bot_api, chat=512340301, first_update=830910001)
    await citizen.say("Rác thải đổ bừa bãi ở kiệt 12 Lê Lợi, phường Thuận Hóa, bốc mùi hôi thối")
    [rep] = await citizen.reports()
    await _in_group(client, 830900005, 600004, f"/status {rep.code}")

    async def status_in_group() -> str | None:
        said = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(GROUP)]
        return said[-1] if len(said) == 2 else None
    answer = await wait_for(status_in_group)
    assert rep.code in answer and "Rác thải đổ bừa bãi" not in answer


async def test_someone_elses_contact_card_does_not_answer_your_phone(
        settings_factory: Any, hub_client: Any, fake_api: Any) -> None:
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.05)
    citizen = TelegramCitizen(client, bot_api, chat=512340302, first_update=830920001)
    await citizen.say("Cống thoát nước kiệt 5 Kim Long bị tắc, nước tràn ra đường")
    await citizen.say("bỏ qua")  # the photo question (the place is known): now "your phone?"
    assert "số điện thoại" in (await citizen.answers(2))[-1]
    card = load("message__contact_other")
    card["message"]["date"] = int(time.time())
    await citizen.send(card)
    async with client.app[HUB_KEY].sessions() as session:
        contact = (await session.execute(select(Contact).where(
            Contact.channel_user_id == "512340302"))).scalar_one()
    assert contact.phone is None
    [rep] = await citizen.reports()
    assert "Liên hệ:" in rep.description  # the card is the report's content


async def test_a_location_added_to_a_report_reads_as_a_location_on_the_timeline(
        settings_factory: Any, hub_client: Any, fake_api: Any) -> None:
    """Telegram walkthrough: a pin sent into an open report read "bổ sung 0 tệp đính kèm"."""
    from tests.router.helpers import events

    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.5)
    citizen = TelegramCitizen(client, bot_api, chat=512340303, first_update=830930001)
    await citizen.say("Cây đổ chắn ngang đường, rất nguy hiểm")
    await citizen.location(16.4637, 107.5909)
    [rep] = await citizen.reports()
    notes = [e.note or "" for e in await events(client, rep.code, "message")]
    assert any(n.startswith("gửi vị trí trên bản đồ") for n in notes), notes
    assert not any("0 tệp" in n for n in notes)


async def test_commands_in_a_group_do_not_welcome_it_or_name_it_after_a_member(
        settings_factory: Any, hub_client: Any, fake_api: Any) -> None:
    """Second review: /start in a group answered the welcome (which invites a report there), and
    a member's name sending a command became the group contact's name."""
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.05)
    await _in_group(client, 830940001, 600004, "/start")
    await _in_group(client, 830940002, 600005, "/status PA-2026-000001")

    async def to_group() -> list[str] | None:
        said = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(GROUP)]
        return said if len(said) == 2 else None
    said = await wait_for(to_group)
    assert said[0] == templates.render("group_private")
    assert templates.render_for("welcome", "telegram") not in said
    async with client.app[HUB_KEY].sessions() as session:
        group = (await session.execute(select(Contact).where(
            Contact.channel_user_id == str(GROUP)))).scalar_one()
    assert not group.name
