"""A citizen withdraws a report by message (left by the dialogue walkthrough: "hủy phản ánh
PA-…" or "em gửi nhầm, hủy giúp em" was added to the report the agency reads, or made a new
report with a code, and the report went on to be forwarded)."""
from __future__ import annotations

import asyncio

import pytest

from hub.keys import HUB_KEY
from normalizer.dialogue import cancel_request
from router import templates
from router.commands import CANCEL_NOTE
from store.models import ReportEvent
from tests.conftest import wait_for
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub
from tests.router.helpers import token

CODE = "PA-2026-000123"


@pytest.mark.parametrize("text,found", [
    (f"hủy phản ánh {CODE}", CODE), (f"huy {CODE}", CODE), ("Hủy giúp em phản ánh vừa gửi với ạ", ""),
    ("em gửi nhầm, hủy giúp em", ""), ("tôi muốn rút lại phản ánh", ""), ("thu hồi phản ánh", ""),
    ("xin hủy phản ánh vì đã được sửa rồi ạ", ""), ("hủy", ""),
    ("cây bị phá hủy", None), ("hủy hoại môi trường", None), ("đã hủy chưa", None),
    ("rác chưa ai dọn, hủy sao được", None), (f"hủy {CODE} và PA-2026-000124", None),
    ("Đường bị đào bới rồi bỏ đó, đề nghị xử lý", None), ("bỏ qua", None),
])
def test_what_withdraws(text, found):
    assert cancel_request(text) == found


async def _events(client, report_id):
    from sqlalchemy import select

    async with client.app[HUB_KEY].sessions() as session:
        return list((await session.execute(select(ReportEvent).where(
            ReportEvent.report_id == report_id).order_by(ReportEvent.id))).scalars())


async def test_withdrawing_reports(settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.1)
    citizen = TelegramCitizen(client, bot_api, chat=512340141)
    # Nothing to withdraw yet.
    await citizen.say("hủy giúp em")
    assert (await citizen.answers(1))[0] == templates.render("cancel_none")
    assert await citizen.reports() == []

    # Withdrawn while the dialogue still runs: closed as refused with the citizen's reason,
    # never forwarded, the words not added to the text the agency would read.
    await citizen.say("Rác thải sinh hoạt đổ bừa bãi, bốc mùi hôi thối mấy ngày nay")
    await citizen.answers(2)
    await citizen.say("em gửi nhầm, hủy giúp em")
    [report] = await citizen.reports()
    assert (await citizen.answers(3))[2] == templates.render("cancelled", code=report.code)
    await asyncio.sleep(8)  # past the window: the window job leaves it alone
    [report] = await citizen.reports()
    assert report.status == "rejected" and report.agency_id is None
    assert "hủy" not in report.description
    events = await _events(client, report.id)
    assert any(e.status_to == "rejected" and e.note == CANCEL_NOTE and e.actor == "citizen"
               for e in events)
    assert len(citizen.texts()) == 3  # no "forwarded"/triage message after it
    page = await (await client.get(f"/r/{report.code}")).text()
    assert CANCEL_NOTE in page
    # read as withdrawn, not as the center refusing it (Vietnamese review)
    assert templates.WITHDRAWN_LABEL in page and "Trung tâm không chuyển" not in page
    await citizen.say(f"tra cứu {report.code}")
    assert templates.WITHDRAWN_LABEL in (await citizen.answers(4))[3]

    # With an agency already: the agency decides; the citizen is told so.
    await citizen.say("Đèn đường kiệt 5 Ngự Bình hỏng cả tuần nay, buổi tối tối om")
    await citizen.answers(5)
    second = (await citizen.reports())[-1]
    center = await token(client, "center")
    assert (await client.post(f"/api/v1/reports/{second.code}/route", headers=center,
                              json={"agency": "so-xay-dung"})).status == 200

    async def forwarded_told():
        return len(citizen.texts()) >= 6 or None
    await wait_for(forwarded_told)
    count = len(citizen.texts())
    await citizen.say(f"hủy phản ánh {second.code}")
    told = (await citizen.answers(count + 1))[-1]
    assert second.code in told and "không thể hủy ngay" in told
    second = (await citizen.reports())[-1]
    assert second.status == "forwarded" and second.agency_id == "so-xay-dung"
    assert any(e.kind == "message" and e.note == f"hủy phản ánh {second.code}"
               for e in await _events(client, second.id))

    # Someone else's code is not theirs to withdraw.
    other = TelegramCitizen(client, bot_api, chat=512340142, first_update=830800001)
    await other.say(f"hủy {second.code}")
    assert (await other.answers(1))[0] == templates.render("cancel_none")
    assert (await citizen.reports())[-1].status == "forwarded"

    # Finished: nothing to withdraw.
    agency = await token(client, "so-xay-dung")
    assert (await client.post(f"/api/v1/reports/{second.code}/status", headers=agency,
                              json={"status": "resolved", "note": "Đã thay bóng đèn"})).status == 200

    async def resolved_told():
        return any("Đã thay bóng đèn" in t for t in citizen.texts()) or None
    await wait_for(resolved_told)
    count = len(citizen.texts())
    await citizen.say(f"huy {second.code}")
    told = (await citizen.answers(count + 1))[-1]
    assert told == templates.render("cancel_finished", code=second.code,
                                    status_label=templates.STATUS_LABELS["resolved"])
    assert (await citizen.reports())[-1].status == "resolved"
