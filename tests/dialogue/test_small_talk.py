"""Small talk on a chat channel is answered, never made a report (walkthrough defect: "cảm ơn
ad nhiều", "Xin chào" and "mã hồ sơ của tôi là gì vậy?" each became a report with a code, the
last one forwarded to Sở Nội vụ; inside the assembly window it joined the open report
unanswered)."""
from __future__ import annotations

import pytest

from normalizer.dialogue import small_talk
from router import templates
from tests.conftest import wait_for
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub
from tests.router.helpers import token


@pytest.mark.parametrize("text,kind", [
    ("Xin chào", "greeting"), ("xin chao", "greeting"), ("Chào ad ạ", "greeting"),
    ("alo", "greeting"), ("có ai không", "greeting"),
    ("cảm ơn ad nhiều", "thanks"), ("cam on ad nhieu", "thanks"), ("Dạ em cảm ơn ạ!", "thanks"),
    ("thanks", "thanks"), ("Cảm ơn trung tâm đã hỗ trợ", "thanks"), ("camon 🙏", "thanks"),
    ("mã hồ sơ của tôi là gì vậy?", "my_codes"), ("ma ho so cua toi la gi", "my_codes"),
    ("mã phản ánh của em là bao nhiêu", "my_codes"), ("quên mã rồi", "my_codes"),
    ("xem lại các phản ánh của tôi", "my_codes"), ("mã của mình là gì", "my_codes"),
    ("cảm ơn, đèn đường ở kiệt 5 vẫn chưa sửa", None), ("Xin chào, rác ở kiệt 5 bốc mùi", None),
    ("cảm ơn nhưng đèn vẫn hỏng", None), ("không có ai dọn rác", None), ("rác mà đâu có ai dọn", None),
    ("số của tôi là 0905123456", None), ("tra cứu PA-2026-000004", None),
    ("Cảm ơn. Tôi muốn phản ánh việc quán karaoke ở đường Lê Lợi hát đến 1 giờ sáng", None),
    # how an earlier report is doing, without its code (Messenger walkthrough)
    ("ad ơi phản ánh hôm trước xử lý chưa ạ", "my_codes"), ("xử lý chưa ạ", "my_codes"),
    ("ad ơi cống bị tắc em báo hôm trước xử lý chưa ạ", "my_codes"),
    ("Đèn đường hỏng 3 ngày rồi, khi nào xử lý", None), ("sửa chữa đường xong chưa", None),
])
def test_small_talk_is_recognised(text, kind):
    assert small_talk(text) == kind


async def test_chatter_is_answered_and_never_a_report(settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    citizen = TelegramCitizen(client, bot_api)

    await citizen.say("Xin chào")
    [hello] = await citizen.answers(1)
    assert hello == templates.render("smalltalk_greeting")
    await citizen.say("mã hồ sơ của tôi là gì vậy?")
    assert (await citizen.answers(2))[1] == templates.render("my_codes_none")
    assert await citizen.reports() == []

    await citizen.say("Đèn đường kiệt 5 Ngự Bình hỏng cả tuần nay, buổi tối tối om")
    ack = (await citizen.answers(3))[2]
    [report] = await citizen.reports()
    assert report.code in ack
    # Inside the assembly window: answered, and not added to the report being assembled.
    await citizen.say("Mã hồ sơ của tôi là gì vậy?")
    mine = (await citizen.answers(4))[3]
    assert report.code in mine and templates.STATUS_LABELS["received"] in mine
    [report] = await citizen.reports()
    assert "Mã hồ sơ" not in report.description

    center = await token(client, "center")
    assert (await client.post(f"/api/v1/reports/{report.code}/route", headers=center,
                              json={"agency": "so-xay-dung"})).status == 200
    agency = await token(client, "so-xay-dung")
    assert (await client.post(f"/api/v1/reports/{report.code}/status", headers=agency,
                              json={"status": "resolved", "note": "Đã thay bóng đèn"})).status == 200
    async def resolved_notice():
        texts = citizen.texts()
        return texts if any("Đã thay bóng đèn" in t for t in texts) else None
    count = len(await wait_for(resolved_notice))
    await citizen.say("cảm ơn ad nhiều")
    thanks = (await citizen.answers(count + 1))[-1]
    assert thanks == templates.render("smalltalk_thanks")
    assert len(await citizen.reports()) == 1

    # A message that thanks and reports is a report (or joins one), never swallowed.
    await citizen.say("cảm ơn, nhưng đèn đường ở kiệt 7 Ngự Bình vẫn chưa sửa")
    await citizen.answers(count + 2)
    reports = await citizen.reports()
    assert len(reports) == 2 and "kiệt 7" in reports[1].description
