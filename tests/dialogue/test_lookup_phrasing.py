"""A short message whose point is asking about a code is a status lookup (walkthrough defect:
"tra cứu mã PA-2026-000004" made a new report, "PA-2026-000004 xử lý đến đâu rồi ạ?" was
appended to the open report: the lookup pattern allowed one keyword before the code only)."""
from __future__ import annotations

import pytest

from normalizer.dialogue import lookup_code
from router import templates
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub

CODE = "PA-2026-000004"


@pytest.mark.parametrize("text", [
    f"tra cứu mã {CODE}", f"tra cuu ma {CODE.lower()}", f"{CODE} xử lý đến đâu rồi ạ?",
    f"{CODE} xu ly den dau roi a", f"cho tôi hỏi phản ánh {CODE} đã xong chưa",
    f"kiểm tra giúp mình mã {CODE} với", f"Mã {CODE} tình trạng sao rồi ad?",
    f"{CODE} khi nào xử lý vậy", f"xem giúp {CODE}",
])
def test_lookup_phrasings(text):
    assert lookup_code(text) == CODE


@pytest.mark.parametrize("text", [
    f"{CODE} đèn vẫn chưa sửa", f"rác ở kiệt gần {CODE}",
    f"Tôi muốn bổ sung cho {CODE}: cây đổ thêm một cây nữa ở kiệt 5, chắn hết lối đi",
    f"{CODE} và PA-2026-000005 đến đâu rồi",
])
def test_not_lookups(text):
    assert lookup_code(text) is None


async def test_lookup_phrasings_answer_status_and_make_no_report(settings_factory, hub_client,
                                                                fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    owner = TelegramCitizen(client, bot_api)
    other = TelegramCitizen(client, bot_api, chat=600000077, first_update=830800001)

    await owner.say("Đèn đường kiệt 5 Ngự Bình hỏng cả tuần nay, buổi tối tối om")
    await owner.answers(1)
    [report] = await owner.reports()
    # Inside the assembly window: answered in full, not appended to the report.
    await owner.say(f"{report.code} xử lý đến đâu rồi ạ?")
    own = (await owner.answers(2))[1]
    assert own.startswith(f"Phản ánh {report.code}: ") and "Cập nhật lúc" in own
    [report] = await owner.reports()
    assert "đến đâu" not in report.description

    await other.say(f"tra cứu mã {report.code}")
    [public] = await other.answers(1)
    assert public == templates.render(
        "status_public", code=report.code, status_label=templates.STATUS_LABELS[report.status],
        status_url=f"http://hub.test/r/{report.code}")
    assert await other.reports() == []
