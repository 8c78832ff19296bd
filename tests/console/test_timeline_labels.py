"""The report page's timeline speaks Vietnamese: categories, channels, message templates and
agencies by their names, not the internal keys the router and the outbox write in their notes
(the stored note stays, in the note's title)."""
from __future__ import annotations

import html as html_lib
import re

from tests.conftest import wait_for
from tests.console.test_actions import Officer, hub_with_officers
from tests.router.helpers import ENV_FORM, events, post_report
from web.console.render import event_note


def _visible(page: str) -> str:
    """The timeline's text, without attributes (where the raw notes may stay)."""
    timeline = page[page.index('<ol class="timeline">'):]
    timeline = timeline[:timeline.index("</ol>")]
    return html_lib.unescape(re.sub(r"<[^>]*>", " ", timeline))


async def test_timeline_shows_labels_not_internal_keys(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client, ENV_FORM)
    await wait_for(lambda: events(client, code, "notification"))
    center = Officer(client, "tt.lan")
    resp = await center.post(f"/console/reports/{code}/route",
                             {"agency": "so-xay-dung", "category": "urban_infrastructure"})
    assert resp.status == 303

    status, page = await center.page(f"/console/reports/{code}")
    assert status == 200
    text = _visible(page)
    assert "Lĩnh vực: Vệ sinh môi trường → Hạ tầng đô thị" in text, text
    assert "đã gửi qua Cổng thông tin: tin báo đã tiếp nhận và chuyển đơn vị" in text, text
    assert "chuyển Công ty" in text and "→ Sở Xây dựng" in text, text
    for raw in ("urban_infrastructure", "environment →", "ack_forwarded", "(web", "so-xay-dung →",
                "→ so-xay-dung"):
        assert raw not in text, (raw, text)
    # The stored note is still there for whoever needs it, in the title.
    assert 'title="environment → urban_infrastructure"' in page


def test_hotline_fallback_and_outbox_notes_are_worded() -> None:
    # router/fallback.py and hub/dispatch.py write these (kept as stored; worded when shown).
    assert (event_note("notification", "không gọi lại cho thông báo 'ack_forwarded' "
                                       "(hotline: không gửi tin đi được trên kênh này)")
            == "không gọi lại để đọc tin báo đã tiếp nhận và chuyển đơn vị "
               "(Đường dây nóng: không gửi tin đi được trên kênh này)")
    assert (event_note("delivery", "gửi qua agency_email thất bại: 550 mailbox full")
            == "gửi qua thư điện tử cho đơn vị thất bại: 550 mailbox full")
    assert (event_note("notification", "chuyển thông báo sang sms (blocked)")
            == "chuyển thông báo sang tin nhắn SMS (Người dân đã chặn hoặc bỏ theo dõi kênh nên "
               "không nhận được tin.)")
    # the senders' English reasons are said in Vietnamese (the stored note stays in the title)
    assert (event_note("delivery", "gửi qua agency_email thất bại: SMTP is not configured "
                                   "(channels.email.smtp_host)")
            == "gửi qua thư điện tử cho đơn vị thất bại: Kênh gửi chưa được thiết lập đầy đủ; "
               "quản trị viên cần bổ sung cấu hình.")
    assert (event_note("delivery", "gửi qua agency_webhook thất bại: gave up after 2 attempts: "
                                   "webhook unreachable: ClientConnectorError")
            == "gửi qua hệ thống của đơn vị thất bại: Không kết nối được tới nơi nhận "
               "(sau 2 lần thử).")
    assert (event_note("notification", "chuyển thông báo sang zns (zalo: zalo error -230: x "
                                       "(citizen has not interacted with the OA in the last 7 days))")
            .startswith("chuyển thông báo sang Zalo ZNS (Zalo: Người dân chưa tương tác với Zalo OA"))
    assert event_note("status", "tiếp nhận qua telegram") == "tiếp nhận qua Telegram"
    assert event_note("status", "tiếp nhận qua web") == "tiếp nhận qua Cổng thông tin"
    assert event_note("classification", "xác nhận lĩnh vực environment") == \
        "xác nhận lĩnh vực Vệ sinh môi trường"
    # A note an officer wrote is shown as written, arrows and all.
    assert event_note("note", "environment → urban_infrastructure") == \
        "environment → urban_infrastructure"


async def test_hotline_call_timeline_names_the_message(settings_factory, hub_client) -> None:
    from tests.console.test_actions import _triage_call

    client = await hub_with_officers(settings_factory, hub_client)
    code = await _triage_call(client)
    notes = [e.note for e in await wait_for(lambda: events(client, code, "notification"))]
    assert any(n.startswith("không gọi lại cho thông báo '") for n in notes), notes
    status, page = await Officer(client, "tt.lan").page(f"/console/reports/{code}")
    text = _visible(page)
    assert status == 200 and "không gọi lại để đọc tin báo" in text, text
    assert "thông báo '" not in text and "(hotline:" not in text, text
