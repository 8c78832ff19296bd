"""The report page shows an attachment's state and the citizen's phone as an officer reads them
(left by the agency walkthrough: "Ảnh · image/jpeg · 7 KB · pending", "+84905777888")."""
from __future__ import annotations

import re

from sqlalchemy import select

from store.models import Attachment, Contact, Report
from tests.console.conftest import ConsoleDB, login


def _states(html: str) -> list[str]:
    return re.findall(r'class="attachment-state"[^>]*>([^<]*)<', html)


async def test_attachment_states_and_phone_in_vietnamese(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    async with console_db.sessions() as session, session.begin():
        contact = Contact(channel="zalo", channel_user_id="z-1", name="Bà Hoa", phone="+84905777888")
        session.add(contact)
        await session.flush()
        contact_id = contact.id
    rep = await console_db.add_report(status="forwarded", agency_id="moi-truong", contact_id=contact_id)
    async with console_db.sessions() as session, session.begin():
        report_id = (await session.execute(select(Report.id).where(Report.code == rep.code))).scalar_one()
        for state, error in (("pending", None), ("refused", "file of 31457280 bytes exceeds 20971520"),
                             ("refused", "media answered HTTP 404 (expired or gone)"),
                             ("failed", "ClientConnectorError: x"), ("linked", None)):
            session.add(Attachment(report_id=report_id, channel="zalo", kind="image", size=7 * 1024,
                                   content_type="image/jpeg", state=state, error=error))
    client = await console_client(console_db)
    await login(client, "mt.hoa")
    html = await (await client.get(f"/console/reports/{rep.code}")).text()
    assert _states(html) == ["đang tải", "bị từ chối: tệp quá lớn",
                             "bị từ chối: đường liên kết đã hết hạn hoặc không còn",
                             "không tải được (đã thử lại nhiều lần)",
                             "chỉ có đường liên kết, tệp không được lưu"]
    assert "· pending" not in html and "· refused" not in html
    assert '<a href="tel:+84905777888">0905 777 888</a>' in html


def test_national_phone() -> None:
    from web.console.render import national_phone

    assert national_phone("+84905777888") == "0905 777 888"
    assert national_phone("+842343822111") == "0234 3822 111"
    assert national_phone("0905 000 222") == "0905 000 222"
    assert national_phone("+14155550100") == "+1 415-555-0100"
    assert national_phone("0905 12") == "0905 12" and national_phone("abc") == "abc"
