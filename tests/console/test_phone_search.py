"""Staff find a caller's reports by phone number, however it is typed; an agency only its own,
a viewer not at all (and the public pages never)."""
from __future__ import annotations

from store.models import Contact
from store.report_list import QueueFilter, QueueScope
from tests.console.conftest import ConsoleDB, login
from tests.console.test_queue import _codes


async def test_search_by_the_callers_phone(console_db: ConsoleDB, console_client) -> None:
    async with console_db.sessions() as session, session.begin():
        caller = Contact(channel="hotline", channel_user_id="+84914222333", phone="+84914222333")
        other = Contact(channel="zalo", channel_user_id="z1", phone="+84905000111")
        session.add_all([caller, other])
        await session.flush()
        ids = caller.id, other.id
    ours = await console_db.add_report(status="forwarded", agency_id="moi-truong", contact_id=ids[0])
    theirs = await console_db.add_report(status="forwarded", agency_id="so-xay-dung", contact_id=ids[0])
    by_reply = await console_db.add_report(status="triage", reply_address="+84914222333")
    await console_db.add_report(status="triage", contact_id=ids[1])
    everyone = QueueScope(contacts=True)
    for q in ("0914222333", "0914 222 333", "+84914222333", "0914.222.333"):
        assert sorted(await _codes(console_db, QueueFilter(q=q), everyone)) == sorted(
            [ours.code, theirs.code, by_reply.code]), q
    agency = QueueScope(agency_id="moi-truong", contacts=True)
    assert await _codes(console_db, QueueFilter(q="0914 222 333"), agency) == [ours.code]
    assert await _codes(console_db, QueueFilter(q="0914222333")) == []  # no contact data

    await console_db.add_account("td.minh", "hotline")
    await console_db.add_account("ld.xem", "viewer")
    client = await console_client(console_db)
    await login(client, "td.minh")
    html = await (await client.get("/console/", params={"q": "+84914222333"})).text()
    assert ours.code in html and theirs.code in html and by_reply.code in html
    viewer = await console_client(console_db)
    await login(viewer, "ld.xem")
    html = await (await viewer.get("/console/", params={"q": "0914222333"})).text()
    assert ours.code not in html
