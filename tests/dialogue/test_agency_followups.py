"""A chat citizen's answer to an agency's question, or their word on the result, joins the
report it is about after the assembly window has long closed (agency walkthrough: "Dạ rác vẫn
còn nguyên…" answering the agency's question became a new report the agency never saw, and so
did "vẫn còn gạch vụn chưa dọn hết" after the result)."""
from __future__ import annotations

import asyncio

from router import templates
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub
from tests.router.helpers import events, report, token

FIRST = ("Rác thải sinh hoạt đổ bừa bãi ở kiệt 12 Lê Lợi, phường Thuận Hóa, bốc mùi hôi thối "
         "mấy ngày nay")


async def _forwarded(client, citizen):
    [rep] = await citizen.reports()
    center = await token(client, "center")
    resp = await client.post(f"/api/v1/reports/{rep.code}/route", headers=center,
                             json={"agency": "moi-truong", "category": "environment"})
    assert resp.status == 200, await resp.text()
    return rep.code, await token(client, "moi-truong")


async def _agency_asks(client, citizen, question, *, window_over=True):
    """The citizen's report forwarded to moi-truong, whose officer asks ``question`` (after the
    assembly window of 1.2 s when ``window_over``): (code, the agency's token, how many
    messages the citizen has had)."""
    await citizen.say(FIRST)
    await citizen.say("xong")
    code, agency = await _forwarded(client, citizen)
    if window_over:
        await asyncio.sleep(2)  # the assembly window (1.2 s) is over
    told = len(await citizen.answers(1))
    resp = await client.post(f"/api/v1/reports/{code}/reply", headers=agency,
                             json={"text": question})
    assert resp.status == 202, await resp.text()
    told = len(await citizen.answers(told + 1))
    if window_over:
        await asyncio.sleep(2)
    return code, agency, told


async def test_an_answer_to_the_agency_and_a_word_on_the_result_join_the_report(
        settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.02)
    citizen = TelegramCitizen(client, bot_api, chat=512340201, first_update=830720001)
    code, agency, told = await _agency_asks(client, citizen,
                                            "Anh/chị có thể gửi thêm ảnh hiện trường không?")
    await citizen.say("Dạ rác vẫn còn nguyên, chất cao gần 1 mét")
    texts = await citizen.answers(told + 1)
    assert len(await citizen.reports()) == 1  # not a new report
    assert texts[-1] == templates.render("followup_to_agency", code=code,
                                         agency="Công ty Môi trường đô thị Huế")
    assert "chất cao gần 1 mét" in (await report(client, code)).description
    # on the timeline the agency works from (console, API; by mail or webhook when it has one)
    said = [e.note for e in await events(client, code, "message")]
    assert any("chất cao gần 1 mét" in (n or "") for n in said)

    resp = await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                             json={"status": "resolved", "note": "Đã thu gom"})
    assert resp.status == 200
    told = len(await citizen.answers(len(texts) + 1))
    await asyncio.sleep(2)
    await citizen.say("Nhưng vẫn còn một ít gạch vụn chưa dọn hết ạ")
    texts = await citizen.answers(told + 1)
    assert len(await citizen.reports()) == 1
    assert texts[-1].startswith(f"Ý kiến của bạn về kết quả xử lý phản ánh {code}")

    # Another problem, or the same kind of problem in another ward, is a new report.
    await citizen.say("Rác thải đổ bừa bãi trước chợ An Cựu, phường An Cựu, bốc mùi")
    reports = await citizen.reports()
    assert len(reports) == 2 and "chợ An Cựu" in reports[1].description


def test_what_disputes_a_result() -> None:
    from normalizer.dialogue import disputes_result

    for text in ("Nhưng vẫn còn một ít gạch vụn chưa dọn hết ạ", "van chua sua gi ca",
                 "Hôm nay cống lại bị tắc rồi", "Rác chưa được thu gom", "tình trạng tái diễn",
                 "Kết quả không đúng sự thật", "báo cáo chưa đúng"):
        assert disputes_result(text), text
    for text in ("Cảm ơn đơn vị đã xử lý nhanh", "Rác thải đổ bừa bãi trước chợ An Cựu",
                 "Đèn đường kiệt 9 hỏng", "còn vấn đề khác", "không đúng giờ thu gom",
                 "Cảm ơn, lại tiếp tục làm tốt", "ad ơi phản ánh hôm trước xử lý chưa ạ"):
        assert not disputes_result(text), text


async def test_a_late_tap_on_a_dialogue_button_is_not_report_text(settings_factory, hub_client,
                                                                  fake_api):
    """Agency walkthrough: 'xong' sent again after the dialogue had ended was appended to the
    description the agency reads (and published), and passed on as the citizen's follow-up."""
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    citizen = TelegramCitizen(client, bot_api, chat=512340202, first_update=830721001)
    await citizen.say(FIRST)
    await citizen.say("xong")  # ends the dialogue: routed
    await citizen.say("xong")  # a second tap, inside the window
    [rep] = await citizen.reports()
    assert rep.status != "received" and "xong" not in rep.description.lower()


async def test_a_typed_answer_to_the_phone_question_is_the_citizens_phone(settings_factory,
                                                                          hub_client, fake_api):
    """Messenger walkthrough: 'sdt em 0935.111.222 nha' answering 'your phone?' stayed in the
    report's text only: the console showed 'Điện thoại —' and the export citizen.phone null."""
    from sqlalchemy import select

    from hub.keys import HUB_KEY
    from store.models import Contact

    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    citizen = TelegramCitizen(client, bot_api, chat=512340203, first_update=830722001)
    await citizen.say(FIRST)
    texts = await citizen.answers(1)
    while not any("số điện thoại" in t for t in texts):  # skip what comes before the phone
        await citizen.say("bỏ qua")
        texts = await citizen.answers(len(texts) + 1)
    await citizen.say("sdt em 0935.111.222 nha")
    async with client.app[HUB_KEY].sessions() as session:
        phone = (await session.execute(select(Contact.phone).where(
            Contact.channel_user_id == "512340203"))).scalar_one()
    assert phone == "+84935111222"


async def test_an_answer_naming_the_officer_joins_the_report(
        settings_factory, hub_client, fake_api):
    """Zalo walkthrough: "… chỉ chỗ cho cán bộ" read as a public-service problem (and "chỗ cho
    cán" as the lexicon's dog bite) and became a new report the agency never saw."""
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.02)
    citizen = TelegramCitizen(client, bot_api, chat=512340203, first_update=830740001)
    code, _, told = await _agency_asks(client, citizen,
                                       "Sáng mai đơn vị cử người xuống, anh/chị có nhà không?")
    await citizen.say("Vâng, sáng mai tôi sẽ có mặt để chỉ chỗ cho cán bộ")
    texts = await citizen.answers(told + 1)
    assert len(await citizen.reports()) == 1
    assert texts[-1] == templates.render("followup_to_agency", code=code,
                                         agency="Công ty Môi trường đô thị Huế")


async def test_an_answer_to_the_agency_inside_the_assembly_window_is_acknowledged(
        settings_factory, hub_client, fake_api):
    """Zalo walkthrough: an answer to the agency's question that came while the chat was still
    being assembled joined the report in silence; now it is thanked, once."""
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=1.0)
    citizen = TelegramCitizen(client, bot_api, chat=512340204, first_update=830750001)
    code, _, told = await _agency_asks(client, citizen, "Rác ở phía trái hay phải kiệt ạ?",
                                       window_over=False)
    await citizen.say("Bên trái kiệt, sát cột điện")
    texts = await citizen.answers(told + 1)
    thanks = templates.render("followup_to_agency", code=code,
                              agency="Công ty Môi trường đô thị Huế")
    assert texts[-1] == thanks
    assert "sát cột điện" in (await report(client, code)).description
    await citizen.say("Rác nhiều lắm")
    await asyncio.sleep(1.5)
    assert (await citizen.answers(len(texts))).count(thanks) == 1
    assert len(await citizen.reports()) == 1
