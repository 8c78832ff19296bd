"""'/status' without a code explains itself and lists the citizen's codes (walkthrough defect:
it answered "Không tìm thấy phản ánh có mã (trống)")."""
from __future__ import annotations

from router import templates
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub


async def test_status_without_a_code(settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    citizen = TelegramCitizen(client, bot_api, chat=512340095)
    await citizen.say("/status")
    [answer] = await citizen.answers(1)
    assert "(trống)" not in answer
    assert answer.startswith(templates.render_for("status_usage", "telegram"))
    assert templates.render("my_codes_none") in answer
    await citizen.say("Đèn đường kiệt 5 Ngự Bình hỏng cả tuần nay, buổi tối tối om")
    await citizen.answers(2)
    [report] = await citizen.reports()
    await citizen.say("/status")
    answer = (await citizen.answers(3))[2]
    assert answer.startswith(templates.render_for("status_usage", "telegram")) and report.code in answer
    assert len(await citizen.reports()) == 1
