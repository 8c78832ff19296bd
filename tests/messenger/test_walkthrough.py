"""Defects a walkthrough of the Messenger channel found, end to end (signed webhook → inbox
worker → report → sends on the fake Graph API): category buttons, location titles, lone
stickers, edits that add the place."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from store.models import Contact, Report
from tests.conftest import wait_for
from tests.messenger.conftest import (
    GRAPH_PATH,
    PAGE_ID,
    MessengerHub,
    batch,
    message,
    messenger_section,
    now_ms,
)

PSID = "7712093845562301"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "messenger"


async def _reports(m) -> list[Report]:
    return await m.reports()


async def _settled(m) -> None:
    await m.settled()


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


def _postback(mid: str, title: str, payload: str, offset: float = 0) -> dict:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(offset),
            "postback": {"mid": mid, "title": title, "payload": payload}}


async def test_a_category_button_alone_opens_no_report_and_names_the_next_ones_category(
        messenger) -> None:
    m = await messenger()
    await m.post(batch([_postback("m_wc_1", "Trật tự xây dựng", "CATEGORY_construction_order")]))
    await _settled(m)
    assert await _reports(m) == []

    async def sent() -> list | None:
        return m.sends() or None
    [answer] = await wait_for(sent)
    assert "Sự việc ở đâu" not in answer["message"]["text"] and "PA-" not in answer["message"]["text"]
    assert answer["message"]["text"].startswith("Bạn đã chọn lĩnh vực “Trật tự xây dựng”. Bạn mô tả")

    await m.post(batch([message(PSID, "m_wc_2", "Bãi rác tự phát ngay đầu kiệt 7 Lê Lợi")]))
    await _settled(m)
    [report] = await _reports(m)
    assert report.description == "Bãi rác tự phát ngay đầu kiệt 7 Lê Lợi"
    # the button's category, not the classifier's (which would say environment)
    assert (report.category, report.category_confidence) == ("construction_order", 1.0)

    # Taken once: the citizen's report after this one is classified from its own words.
    async with m.hub.sessions() as session:
        contact = (await session.execute(select(Contact))).scalar_one()
    assert "category_hint" not in (contact.extra or {})



WARD_AGENCY = {"id": "ubnd-thuan-hoa", "name": "UBND phường Thuận Hóa",
               "categories": ["urban_infrastructure"], "areas": ["Phường Thuận Hóa"]}


async def test_an_edit_that_adds_the_place_answers_the_place_question_and_routes_by_ward(
        settings_factory, hub_client, fake_api) -> None:
    graph = await fake_api()

    async def accept(request, body):
        return web.json_response({"recipient_id": PSID, "message_id": f"m_out_{len(graph.calls)}"})
    graph.on("POST", GRAPH_PATH, default=accept)
    agencies = [*(a.model_dump() for a in settings_factory().agencies), WARD_AGENCY]
    m = MessengerHub(await hub_client(settings_factory(
        channels={"messenger": messenger_section(graph.url)}, agencies=agencies)), graph)
    await m.post(batch([message(PSID, "m_we_1", "Đèn đường hỏng mấy hôm nay rồi")]))
    await _settled(m)

    async def asked() -> list | None:
        return m.sends() or None
    [ack] = await wait_for(asked)
    assert "Sự việc ở đâu" in ack["message"]["text"]
    edit = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
            "message_edit": {"mid": "m_we_1", "num_edit": 1, "text": (
                "Đèn đường ở kiệt 3 Nguyễn Huệ, phường Thuận Hóa hỏng mấy hôm nay rồi")}}
    await m.post(batch([edit]))
    await _settled(m)
    [report] = await _reports(m)
    assert report.description.startswith("Đèn đường ở kiệt 3 Nguyễn Huệ")
    assert report.ward == "Phường Thuận Hóa" and report.extra["dialogue"]["pending"] != "place"

    async def next_question() -> list | None:
        return m.sends()[1:] or None
    [question] = await wait_for(next_question)
    assert "Sự việc ở đâu" not in question["message"]["text"]  # the next question, not the place

    await m.post(batch([message(PSID, "m_we_2", "xong")]))
    await _settled(m)
    [report] = await _reports(m)
    assert (report.status, report.agency_id) == ("forwarded", "ubnd-thuan-hoa")


async def test_an_edit_that_says_what_happened_takes_a_report_out_of_triage(messenger) -> None:
    m = await messenger()
    await m.post(batch([message(PSID, "m_wt_1", "Ad ơi em có việc cần báo ạ", ts=now_ms(-2))]))
    await _settled(m)
    await m.post(batch([message(PSID, "m_wt_2", "xong")]))
    await _settled(m)
    [report] = await _reports(m)
    assert (report.status, report.agency_id) == ("triage", None)
    edit = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
            "message_edit": {"mid": "m_wt_1", "num_edit": 1,
                             "text": "Đèn chiếu sáng đường Nguyễn Huệ bị hỏng, tối om không sáng"}}
    await m.post(batch([edit]))
    await _settled(m)
    [report] = await _reports(m)
    assert (report.status, report.agency_id) == ("forwarded", "so-xay-dung")

    async def told() -> list | None:
        return [s for s in m.sends() if "Sở Xây dựng" in s["message"]["text"]] or None
    assert await wait_for(told)


@pytest.mark.parametrize("first,second", [
    # added text in the window re-ran the classifier without the button's category
    ("Bãi rác tự phát ngay đầu kiệt 7 Lê Lợi", "Rác bốc mùi hôi thối, ruồi nhặng nhiều lắm"),
    # review: a 👍 in between took the category before the citizen described anything
    ("👍", "Bãi rác tự phát ngay đầu kiệt 7 Lê Lợi"),
])
async def test_a_buttons_category_holds_for_the_report_the_citizen_describes(
        messenger, first: str, second: str) -> None:
    m = await messenger()
    for mid, body in (("m_wh_1", None), ("m_wh_2", first), ("m_wh_3", second)):
        await m.post(batch([_postback(mid, "Trật tự xây dựng", "CATEGORY_construction_order")
                            if body is None else message(PSID, mid, body)]))
        await _settled(m)
    [report] = await _reports(m)
    assert second in report.description
    assert (report.category, report.category_confidence) == ("construction_order", 1.0)
