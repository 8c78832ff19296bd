"""Defects a walkthrough of the Messenger channel found, end to end (signed webhook → inbox
worker → report → sends on the fake Graph API): category buttons, location titles, lone
stickers, edits that add the place."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from store.models import InboxEvent, Report
from tests.conftest import wait_for
from tests.messenger.conftest import batch, message, now_ms

PSID = "7712093845562301"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "messenger"


async def _reports(m) -> list[Report]:
    async with m.hub.sessions() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def _settled(m) -> None:
    async def done() -> bool:
        return await m.count(InboxEvent, InboxEvent.state.in_(("pending", "claimed"))) == 0
    await wait_for(done)


def _fixture_event(name: str) -> dict:
    """The one event of a recorded fixture, sent now by PSID."""
    event = json.loads((FIXTURES / f"{name}.json").read_text())["entry"][0]["messaging"][0]
    return {**event, "sender": {"id": PSID}, "timestamp": now_ms()}


async def test_a_localized_location_title_is_neither_the_address_nor_published(messenger) -> None:
    m = await messenger()
    pin = _fixture_event("message__location_localized_name")  # title "Vị trí của Lan"
    await m.post(batch([message(PSID, "m_wl_1", "Cây đổ chắn ngang đường", ts=now_ms(-5)), pin]))
    await _settled(m)
    [report] = await _reports(m)
    assert (report.lat, report.lon) == (16.4637, 107.5909)
    assert report.address is None
    page = await m.client.get(f"/r/{report.code}")
    assert "Lan" not in await page.text()


async def test_a_lone_sticker_from_a_first_time_citizen_gets_the_greeting_and_no_report(
        messenger) -> None:
    m = await messenger()
    like = _fixture_event("message__sticker")  # the Like, sticker 369239263222822
    other = message("7712093845562302", "m_ws_2", attachments=[{"type": "image", "payload": {
        "url": "https://scontent.xx.fbcdn.net/v/t39.1997-6/meo.png", "sticker_id": 126361874215276}}])
    await m.post(batch([like], [other]))
    await _settled(m)

    async def sent() -> list | None:
        return m.sends() if len(m.sends()) == 2 else None
    answers = await wait_for(sent)
    assert await _reports(m) == []
    assert sorted(a["recipient"]["id"] for a in answers) == sorted([PSID, "7712093845562302"])
    assert all("luôn sẵn sàng tiếp nhận phản ánh" in a["message"]["text"] for a in answers)
