"""After a reply, the console says what really happened to it (left by the agency walkthrough:
"Đã gửi trả lời cho người phản ánh." also when nothing was sent — a hotline caller without SMS,
whose reply went onto the call-back list, as the agency API's ``"channel": "callback"`` says)."""
from __future__ import annotations

import re

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Callback, Report, utcnow
from tests.console.test_actions import Officer, _triage_call, hub_with_officers
from tests.router.helpers import post_report, report
from tests.zalo.support import FakeZalo, zalo_settings


async def _reply(officer: Officer, code: str, text: str) -> str:
    resp = await officer.post(f"/console/reports/{code}/reply", {"text": text})
    assert resp.status == 303, await resp.text()
    html = await (await officer.client.get(resp.headers["Location"])).text()
    return re.search(r'id="action-done">([^<]*)<', html).group(1)


async def test_a_reply_nobody_could_receive_is_not_called_sent(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)  # no SMS, no Zalo
    hoa, center = Officer(client, "mt.hoa"), Officer(client, "tt.lan")

    # A hotline caller: onto the call-back list, and the page says so.
    called = await _triage_call(client)
    resp = await center.post(f"/console/reports/{called}/route",
                             {"agency": "moi-truong", "category": "environment"})
    assert resp.status == 303
    notice = await _reply(hoa, called, "Sáng mai đội thu gom sẽ đến")
    assert notice == ("Không có kênh nào nhắn được cho người phản ánh: trả lời đã được đưa vào "
                      "danh sách gọi lại, tổng đài viên sẽ gọi báo.")
    r = await report(client, called)
    async with client.app[HUB_KEY].sessions() as session:
        calls = list((await session.execute(select(Callback.text).where(
            Callback.report_id == r.id))).scalars())
    assert any("Sáng mai đội thu gom sẽ đến" in c for c in calls)

    # The portal (Open311): posted on the report's status page, which is its delivery.
    notice = await _reply(hoa, await post_report(client), "Chiều nay đội thu gom sẽ đến")
    assert notice.startswith("Đã đăng trả lời trên trang theo dõi phản ánh")


async def test_the_confirmation_names_the_channel(settings_factory, hub_client, fake_api) -> None:
    zalo = FakeZalo(await fake_api())
    client = await hub_with_officers(settings_factory, hub_client, **zalo_settings(zalo.api.url))
    hoa = Officer(client, "mt.hoa")
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        session.add(Report(code="PA-2026-000141", channel="zalo", status="forwarded",
                           category="environment", agency_id="moi-truong", reply_address="zalo-user-1",
                           description="Rác ùn ứ ở kiệt 12", created_at=utcnow(), updated_at=utcnow()))
        session.add(Report(code="PA-2026-000142", channel="zalo", status="forwarded",
                           category="environment", agency_id="moi-truong",
                           description="Rác ùn ứ ở kiệt 14", created_at=utcnow(), updated_at=utcnow()))
    assert await _reply(hoa, "PA-2026-000141", "Chiều nay đội thu gom sẽ đến") == (
        "Trả lời đang được gửi cho người phản ánh qua Zalo (kết quả gửi hiện ở mục Diễn biến).")
    # No address and no phone: kept and public, sent to no one.
    assert await _reply(hoa, "PA-2026-000142", "Đã báo đơn vị quản lý") == (
        "Đã lưu trả lời (hiển thị công khai), nhưng không gửi được: không có cách liên hệ người "
        "phản ánh.")
