"""A hotline call whose caller number could not be verified: the number as typed is shown on the
console report page, flagged and escaped, when there is no verified phone."""
from __future__ import annotations

from store.models import Contact
from tests.console.conftest import ConsoleDB, login

FLAG = "(số chưa xác minh — kiểm tra lại)"


async def test_unverified_caller_shown_flagged(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center", name="Trần Thị Lan")
    async with console_db.sessions() as session, session.begin():
        contact = Contact(channel="hotline", channel_user_id="unverified:h-1", name="Bà Hoa", phone=None)
        session.add(contact)
        await session.flush()
        contact_id = contact.id
    with_contact = await console_db.add_report(channel="hotline", contact_id=contact_id,
                                               extra={"caller_unverified": "0905 12"})
    no_contact = await console_db.add_report(channel="hotline", extra={"caller_unverified": "<b>0905</b>"})
    client = await console_client(console_db)
    await login(client, "tt.lan")

    html = await (await client.get(f"/console/reports/{with_contact.code}")).text()
    assert "0905 12" in html and FLAG in html and "Bà Hoa" in html
    assert 'href="tel:0905 12"' not in html  # not offered as a number to call

    html = await (await client.get(f"/console/reports/{no_contact.code}")).text()
    assert "&lt;b&gt;0905&lt;/b&gt;" in html and "<b>0905</b>" not in html and FLAG in html


async def test_verified_phone_wins_and_no_flag_without_it(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    async with console_db.sessions() as session, session.begin():
        contact = Contact(channel="hotline", channel_user_id="tel:0905123456", phone="0905123456")
        session.add(contact)
        await session.flush()
        contact_id = contact.id
    verified = await console_db.add_report(channel="hotline", contact_id=contact_id,
                                           extra={"caller_unverified": "0905 12"})
    plain = await console_db.add_report(channel="hotline")
    client = await console_client(console_db)
    await login(client, "tt.lan")
    html = await (await client.get(f"/console/reports/{verified.code}")).text()
    assert 'href="tel:0905123456"' in html and FLAG not in html
    html = await (await client.get(f"/console/reports/{plain.code}")).text()
    assert FLAG not in html and "Không có thông tin liên hệ." in html
