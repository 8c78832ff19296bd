"""Left by the operator console walkthrough (server side):

- a viewer (e.g. the director) does not see the citizen's personal data: not on the report page
  (name, phone, email, an unverified caller's number), not on the call-back list; the roles
  that do (center, hotline, agency) still see it (``queue.CONTACT_ROLES`` everywhere);
- the same reply form sent twice gives the first one's confirmation (``reply-sent:web``, not a
  vaguer ``reply``), and the center's own reply is on the timeline as the center's, not as
  "trả lời của đơn vị";
- the page after an action lands on its confirmation (``#action-done``), which heads the actions.
"""
from __future__ import annotations

import re

from hub.keys import HUB_KEY
from store.models import Contact, Report, utcnow
from tests.conftest import wait_for
from tests.console.conftest import csrf_of, login
from tests.console.test_actions import Officer, _triage_call, hub_with_officers
from tests.router.helpers import events, post_report

PHONES = ("0905 123 456", "0905123456", "+84905123456")


async def test_the_viewer_sees_no_contact_data(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)  # no SMS: replies to a caller are call-backs
    called = await _triage_call(client)  # phone 0905 123 456, name Nguyễn Văn An
    center, hoa = Officer(client, "tt.lan"), Officer(client, "mt.hoa")
    resp = await center.post(f"/console/reports/{called}/route",
                             {"agency": "moi-truong", "category": "environment"})
    assert resp.status == 303
    resp = await hoa.post(f"/console/reports/{called}/reply", {"text": "Sáng mai đội thu gom sẽ đến"},
                          page=f"/console/reports/{called}")
    assert resp.status == 303 and "reply-callback" in resp.headers["Location"]
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        contact = Contact(channel="email", channel_user_id="mail:an", name="Trần Thị Mai",
                          email="mai.tran@example.vn", phone="+84914555666")
        session.add(contact)
        await session.flush()
        session.add(Report(code="PA-2026-000901", channel="email", status="forwarded",
                           category="environment", agency_id="moi-truong", contact_id=contact.id,
                           description="Rác ở kiệt 9", created_at=utcnow(), updated_at=utcnow()))
        session.add(Report(code="PA-2026-000902", channel="hotline", status="triage",
                           extra={"caller_unverified": "0123 45"}, description="Cuộc gọi",
                           created_at=utcnow(), updated_at=utcnow()))

    for username in ("tt.lan", "td.minh", "mt.hoa"):  # the roles that see it still do
        officer = Officer(client, username)
        status, html = await officer.page(f"/console/reports/{called}")
        assert status == 200 and "0905 123 456" in html and "Nguyễn Văn An" in html, username
        status, html = await officer.page("/console/reports/PA-2026-000901")
        assert "mai.tran@example.vn" in html and "0914 555 666" in html, username
        status, html = await officer.page("/console/callbacks?state=all")
        assert "0905 123 456" in html and 'href="tel:' in html, username
    status, html = await center.page("/console/reports/PA-2026-000902")
    assert "0123 45" in html

    viewer = Officer(client, "ld.giam-doc")
    status, html = await viewer.page(f"/console/reports/{called}")
    assert status == 200 and "Sáng mai" in html  # the report itself is read
    assert not any(p in html for p in PHONES) and "Nguyễn Văn An" not in html
    assert 'id="contact-withheld"' in html
    status, html = await viewer.page("/console/reports/PA-2026-000901")
    assert status == 200
    assert "mai.tran@example.vn" not in html and "0914" not in html and "Trần Thị Mai" not in html
    status, html = await viewer.page("/console/reports/PA-2026-000902")
    assert status == 200 and "0123 45" not in html
    status, html = await viewer.page("/console/callbacks?state=all")
    assert status == 200 and "Sáng mai đội thu gom sẽ đến" in html  # the list is still read
    assert not any(p in html for p in PHONES) and 'href="tel:' not in html and "Điện thoại" not in html


def _token(html: str, action: str) -> str:
    form = html[html.index(f'/{action}" class="action">'):]
    return re.search(r'name="form_token" value="([^"]+)"', form).group(1)


async def test_a_reply_sent_twice_is_confirmed_the_same_and_named_as_the_centers(
        settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client)  # the portal: replies are posted on the status page
    await login(client, "tt.lan")
    html = await (await client.get(f"/console/reports/{code}")).text()
    form = {"csrf_token": csrf_of(html), "text": "Trung tâm đã nhắc đơn vị, sẽ xử lý trong tuần",
            "form_token": _token(html, "reply")}
    first = await client.post(f"/console/reports/{code}/reply", data=form, allow_redirects=False)
    again = await client.post(f"/console/reports/{code}/reply", data=form, allow_redirects=False)
    assert first.status == again.status == 303
    assert "?done=reply-sent:web" in first.headers["Location"]
    assert "?done=reply-sent:web" in again.headers["Location"]  # the first one's confirmation
    assert again.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith("#action-done")  # the page lands on it
    assert len(await events(client, code, "reply")) == 1

    async def sent() -> bool:
        return any("(agency_reply)" in (e.note or "") for e in await events(client, code, "notification"))
    await wait_for(sent)
    page = await (await client.get(first.headers["Location"])).text()
    # the confirmation heads the actions, where the page lands
    actions = page[page.index('id="actions"'):]
    assert actions.index('id="action-done"') < actions.index('id="actions-title"')
    assert "Đã đăng trả lời trên trang theo dõi phản ánh" in actions[:600]
    assert "đã gửi qua Cổng thông tin: trả lời của Trung tâm" in page
    assert "trả lời của đơn vị" not in page

    # The agency's own reply is still the agency's.
    client.session.cookie_jar.clear()
    await login(client, "mt.hoa")
    html = await (await client.get(f"/console/reports/{code}")).text()
    resp = await client.post(f"/console/reports/{code}/reply", allow_redirects=False, data={
        "csrf_token": csrf_of(html), "text": "Đơn vị sẽ đến chiều nay",
        "form_token": _token(html, "reply")})
    assert resp.status == 303

    async def both() -> bool:
        return sum("(agency_reply)" in (e.note or "")
                   for e in await events(client, code, "notification")) == 2
    await wait_for(both)
    page = await (await client.get(f"/console/reports/{code}")).text()
    assert page.count("trả lời của Trung tâm") == 1 and page.count("trả lời của đơn vị") == 1
