"""A chat rating rates the resolved report it answers (walkthrough defect: with a newer report
made after the "resolved" message, "5 sao" rated nothing and joined or made a report)."""
from __future__ import annotations

from router import templates
from tests.conftest import wait_for
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub
from tests.router.helpers import token


async def _resolve(client, citizen, code: str, note: str) -> int:
    center = await token(client, "center")
    assert (await client.post(f"/api/v1/reports/{code}/route", headers=center,
                              json={"agency": "so-xay-dung"})).status == 200
    agency = await token(client, "so-xay-dung")
    assert (await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                              json={"status": "resolved", "note": note})).status == 200

    async def told():
        texts = citizen.texts()
        return texts if any(note in t for t in texts) else None
    return len(await wait_for(told))


async def test_rating_after_a_newer_report_rates_the_resolved_one(settings_factory, hub_client,
                                                                   fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    citizen = TelegramCitizen(client, bot_api, chat=512340077)

    await citizen.say("Đèn đường kiệt 5 Ngự Bình hỏng cả tuần nay, buổi tối tối om")
    await citizen.answers(1)
    await citizen.say("xong")
    [first] = await citizen.reports()
    await _resolve(client, citizen, first.code, "Đã thay bóng đèn")

    # A new problem, reported after the result came (its dialogue over)...
    await citizen.say("Ổ gà lớn trước số 12 đường Lê Lợi, xe máy dễ ngã")
    [_, second] = await wait_for(lambda: _count(citizen, 2))
    await citizen.say("xong")
    count = len(await wait_for(lambda: _told(citizen, f"Phản ánh {second.code} đã được chuyển")))
    # ...then the rating the first report's result asked for.
    await citizen.say("5 sao")
    answer = (await citizen.answers(count + 1))[-1]
    assert answer == templates.render("rating_thanks", score=5, code=first.code)
    reports = await citizen.reports()
    assert len(reports) == 2
    assert reports[0].rating_score == 5
    assert reports[1].rating_score is None and "5 sao" not in reports[1].description

    # A bare digit too, replacing the earlier rating (a later rating replaces the earlier one).
    await citizen.say("4")
    answer = (await citizen.answers(count + 2))[-1]
    assert answer == templates.render("rating_thanks", score=4, code=first.code)
    reports = await citizen.reports()
    assert len(reports) == 2 and reports[0].rating_score == 4


async def _count(citizen, n):
    reports = await citizen.reports()
    return reports if len(reports) >= n else None


async def _told(citizen, start):
    texts = citizen.texts()
    return texts if texts and texts[-1].startswith(start) else None
