"""Report actions, photos, duplicates, the hotline call form and per-account API tokens, over
HTTP on the whole hub (workers, router, intake): every change goes through the router and is an
event whose actor is the officer."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from hub.keys import HUB_KEY
from store.accounts import create_account
from store.files import store_bytes
from store.models import Attachment, OutboxMessage, Report
from store.public_models import ReportModeration
from tests.conftest import wait_for
from tests.console.conftest import PASSWORD, csrf_of, login
from tests.router.helpers import ENV_FORM, ROAD_FORM, events, post_report, report

OFFICERS = {"tt.lan": ("center", None, "Trần Thị Lan"), "td.minh": ("hotline", None, "Đỗ Văn Minh"),
            "mt.hoa": ("agency", "moi-truong", "Lê Thị Hoa"),
            "xd.nam": ("agency", "so-xay-dung", "Phạm Văn Nam"),
            "ld.giam-doc": ("viewer", None, "Nguyễn Giám Đốc")}


async def hub_with_officers(settings_factory: Any, hub_client: Any, **sections: Any) -> Any:
    client = await hub_client(settings_factory(**sections))
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        for username, (role, agency, name) in OFFICERS.items():
            await create_account(session, username, role, PASSWORD, agency_id=agency,
                                 display_name=name, agencies={a.id: a.name for a in hub.agencies})
    return client


class Officer:
    """One logged-in browser-like session on the console (the test client keeps cookies, so
    officers take turns: each ``act`` logs in first)."""

    def __init__(self, client: Any, username: str) -> None:
        self.client, self.username = client, username

    async def page(self, path: str) -> tuple[int, str]:
        self.client.session.cookie_jar.clear()
        resp = await login(self.client, self.username)
        assert resp.status == 303, await resp.text()
        resp = await self.client.get(path)
        return resp.status, (await resp.read()).decode("utf-8", "replace")

    async def post(self, path: str, data: dict[str, str], *, page: str | None = None) -> Any:
        status, html = await self.page(page or "/console/")
        assert status == 200, html
        return await self.client.post(path, data={"csrf_token": csrf_of(html), **data},
                                      allow_redirects=False)


async def _triage_call(client: Any, text: str = "Alo, tôi muốn báo một chuyện ở gần nhà") -> str:
    resp = await Officer(client, "td.minh").post("/console/calls", {
        "phone": "0905 123 456", "name": "Nguyễn Văn An", "text": text, "address": ""},
        page="/console/calls/new")
    assert resp.status == 303, await resp.text()
    page = await client.get(resp.headers["Location"])
    code = re.search(r'id="call-code">(PA-[0-9-]+)<', await page.text())
    assert code, await page.text()
    return code.group(1)


async def test_center_routes_and_the_agency_works_the_report(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await _triage_call(client)
    assert (await report(client, code)).status == "triage"
    center, hoa, nam = Officer(client, "tt.lan"), Officer(client, "mt.hoa"), Officer(client, "xd.nam")
    status, html = await center.page(f"/console/reports/{code}")
    assert status == 200 and '<select id="route-agency" name="agency">' in html
    assert '<select id="route-category" name="category">' in html

    resp = await center.post(f"/console/reports/{code}/route",
                             {"agency": "moi-truong", "category": "environment"})
    assert resp.status == 303 and resp.headers["Location"].endswith("?done=route#action-done")
    r = await report(client, code)
    assert (r.status, r.agency_id, r.category) == ("forwarded", "moi-truong", "environment")
    assert ("user:tt.lan", "forwarded") in [(e.actor, e.status_to) for e in await events(client, code)]

    # The officer of moi-truong now sees it in the queue; so-xay-dung's officer does not.
    assert code in (await hoa.page("/console/"))[1]
    status, html = await nam.page(f"/console/reports/{code}")
    assert status == 404 and "Không tìm thấy" in html
    resp = await nam.post(f"/console/reports/{code}/status", {"status": "in_progress", "note": "x"})
    assert resp.status == 404
    assert (await report(client, code)).status == "forwarded"

    # in_progress, then resolved without a note (refused), then with one.
    status, html = await hoa.page(f"/console/reports/{code}")
    assert '<select id="status-status" name="status" required>' in html and 'name="note"' in html
    assert 'action="/console/reports/' + code + '/route"' not in html  # routing is the center's
    resp = await hoa.post(f"/console/reports/{code}/status", {"status": "in_progress", "note": ""})
    assert resp.status == 303
    resp = await hoa.post(f"/console/reports/{code}/status", {"status": "resolved", "note": ""})
    assert resp.status == 422 and "cần ghi chú" in await resp.text()
    assert (await report(client, code)).status == "in_progress"
    resp = await hoa.post(f"/console/reports/{code}/status",
                          {"status": "resolved", "note": "Đã thu gom xong lúc 15 giờ"})
    assert resp.status == 303
    r = await report(client, code)
    assert r.status == "resolved"
    statuses = [(e.actor, e.status_to, e.note) for e in await events(client, code, "status")]
    assert ("user:mt.hoa", "in_progress", None) in statuses
    assert ("user:mt.hoa", "resolved", "Đã thu gom xong lúc 15 giờ") in statuses
    # The timeline names the officer.
    _, html = await center.page(f"/console/reports/{code}")
    assert "Lê Thị Hoa" in html and "Đã thu gom xong lúc 15 giờ" in html
    # The citizen (a hotline caller, no SMS gateway) is told through the router's fallback
    # chain at once (no row on a hotline route that could only die): the result, which needs a
    # voice, goes onto the operators' call-back list; "in progress" is not worth a call.
    from store.models import Callback

    async with client.app[HUB_KEY].sessions() as session:
        templates = list((await session.execute(select(OutboxMessage.template).where(
            OutboxMessage.report_id == r.id, OutboxMessage.channel == "hotline"))).scalars())
        calls = list((await session.execute(select(Callback.text).where(
            Callback.report_id == r.id))).scalars())
    assert templates == []
    assert len(calls) == 1 and "Đã thu gom xong lúc 15 giờ" in calls[0]


async def test_roles_that_may_not_act(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client, ROAD_FORM)
    for username in ("td.minh", "ld.giam-doc"):
        officer = Officer(client, username)
        _, html = await officer.page(f"/console/reports/{code}")
        assert 'id="actions"' not in html
        resp = await officer.post(f"/console/reports/{code}/route", {"agency": "moi-truong"})
        assert resp.status == 403
        resp = await officer.post(f"/console/reports/{code}/reject", {"note": "không"})
        assert resp.status == 403
    # An agency may not reject, merge or hide, even its own report.
    hoa = Officer(client, "xd.nam")
    for action, data in (("reject", {"note": "x"}), ("merge", {"duplicate_of": code}),
                         ("hide", {"reason": "x"}), ("route", {"agency": "moi-truong"})):
        resp = await hoa.post(f"/console/reports/{code}/{action}", data)
        assert resp.status == 403, action
    # Without the CSRF token: 403, nothing changed.
    await Officer(client, "tt.lan").page("/console/")
    resp = await client.post(f"/console/reports/{code}/reject", data={"note": "x"},
                             allow_redirects=False)
    assert resp.status == 403
    assert (await report(client, code)).status == "forwarded"


async def test_reply_return_reject_merge_hide(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    first = await post_report(client, ENV_FORM)
    second = await post_report(client, ENV_FORM, description="Rác ùn ứ bốc mùi kiệt 12 Nguyễn Trãi")
    center, hoa = Officer(client, "tt.lan"), Officer(client, "mt.hoa")

    # Reply: an event by the officer and a message to the citizen.
    resp = await hoa.post(f"/console/reports/{first}/reply", {"text": "Chiều nay đội thu gom sẽ đến"})
    assert resp.status == 303
    replies = await events(client, first, "reply")
    assert [(e.actor, e.note) for e in replies] == [("user:mt.hoa", "Chiều nay đội thu gom sẽ đến")]
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.template == "agency_reply"))).scalar() == 1
    resp = await hoa.post(f"/console/reports/{first}/reply", {"text": "  "})
    assert resp.status == 400 and "nội dung trả lời" in await resp.text()

    # Possible duplicates: the other report, same category, a few metres away, with a merge button.
    _, html = await center.page(f"/console/reports/{second}")
    panel = html[html.index('id="duplicates"'):]
    assert first in panel and "cách 0 m" in panel and f"Gộp {second} vào {first}" in panel
    resp = await center.post(f"/console/reports/{second}/merge", {"duplicate_of": first})
    assert resp.status == 303
    r = await report(client, second)
    assert (r.status, r.duplicate_of) == ("duplicate", first)
    resp = await center.post(f"/console/reports/{first}/merge", {"duplicate_of": first})
    assert resp.status == 422 and "phản ánh khác" in await resp.text()

    # Return to the center: the agency loses it, the center sees it in its queue.
    resp = await hoa.post(f"/console/reports/{first}/return", {"note": "Không thuộc địa bàn"})
    assert resp.status == 303 and resp.headers["Location"] == f"/console/?returned={first}"
    assert f"Đã trả phản ánh {first} về Trung tâm." in await (await client.get(resp.headers["Location"])).text()
    r = await report(client, first)
    assert (r.status, r.agency_id) == ("returned", None)
    assert (await hoa.page(f"/console/reports/{first}"))[0] == 404

    # Reject needs a reason; then the citizen is told.
    resp = await center.post(f"/console/reports/{first}/reject", {"note": ""})
    assert resp.status == 400
    resp = await center.post(f"/console/reports/{first}/reject", {"note": "Phản ánh không có thật"})
    assert resp.status == 303
    assert (await report(client, first)).status == "rejected"

    # Hide from the public pages (the portal's moderation, store.public_reports).
    third = await post_report(client, ROAD_FORM)
    assert await _public(client, third)
    resp = await center.post(f"/console/reports/{third}/hide", {"hidden": "1", "reason": ""})
    assert resp.status == 400 and "lý do ẩn" in await resp.text()
    resp = await center.post(f"/console/reports/{third}/hide", {"hidden": "1", "reason": "Lộ biển số xe"})
    assert resp.status == 303
    async with client.app[HUB_KEY].sessions() as session:
        row = await session.get(ReportModeration, (await report(client, third)).id)
    assert row is not None and row.hidden and row.actor == "user:tt.lan"
    assert not await _public(client, third)
    _, html = await center.page(f"/console/reports/{third}")
    assert "Đã ẩn khỏi trang công khai" in html and "Lộ biển số xe" in html
    resp = await center.post(f"/console/reports/{third}/hide", {"hidden": "0"})
    assert resp.status == 303 and await _public(client, third)


async def _public(client: Any, code: str) -> bool:
    from store.public_reports import public_report

    async with client.app[HUB_KEY].sessions() as session:
        return await public_report(session, code) is not None


async def test_photos_are_served_to_the_report_scope_only(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client, ENV_FORM)
    hub = client.app[HUB_KEY]
    jpeg = b"\xff\xd8\xff\xe0" + b"photo of garbage" * 50
    sha, _ = store_bytes(hub.media_dir, jpeg)
    r = await report(client, code)
    async with hub.sessions() as session, session.begin():
        session.add(Attachment(report_id=r.id, channel="web", kind="image", content_type="image/jpeg",
                               size=len(jpeg), sha256=sha, state="stored"))
        page = b"<script>alert(1)</script>"
        html_sha, _ = store_bytes(hub.media_dir, page)
        session.add(Attachment(report_id=r.id, channel="web", kind="file", content_type="text/html",
                               size=len(page), sha256=html_sha, state="stored"))
    url = f"/console/reports/{code}/media/{sha}"
    status, html = await Officer(client, "mt.hoa").page(f"/console/reports/{code}")
    assert f'<img class="media" src="{url}"' in html
    resp = await client.get(url)
    assert resp.status == 200 and await resp.read() == jpeg
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # Another agency's officer: 404, as for a missing file; no session: the login.
    assert (await Officer(client, "xd.nam").page(url))[0] == 404
    client.session.cookie_jar.clear()
    resp = await client.get(url, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/login")
    assert (await Officer(client, "td.minh").page(url))[0] == 200
    assert (await Officer(client, "td.minh").page(url[:-4] + "0000"))[0] == 404
    # A file that is not a picture, video or sound is a download, never a page of ours.
    resp = await client.get(f"/console/reports/{code}/media/{html_sha}")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Disposition"] == "attachment"


async def test_hotline_call_form(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    minh = Officer(client, "td.minh")
    status, html = await minh.page("/console/calls/new")
    assert status == 200
    for name in ("phone", "name", "text", "address"):
        assert f'name="{name}"' in html
    # Live suggestions: the ward from the address and the classifier's category.
    csrf = {"X-CSRF-Token": csrf_of(html), "HX-Request": "true"}
    resp = await client.post("/console/calls/suggest", data={
        "text": "Rác thải ùn ứ bốc mùi nhiều ngày không ai thu gom", "address": "kiệt 12 Nguyễn Trãi, phường Thuận Hóa",
        "phone": "0905123456"}, headers=csrf)
    text = await resp.text()
    assert resp.status == 200 and "Phường Thuận Hóa" in text and "Vệ sinh môi trường" in text
    assert "không đúng dạng" not in text
    resp = await client.post("/console/calls/suggest", data={"address": "12 Lê Lợi, thuan h",
                                                              "phone": "12345"}, headers=csrf)
    text = await resp.text()
    assert "data-ward=\"Phường Thuận Hóa\"" in text and "không đúng dạng" in text
    # Without the CSRF header: 403 (the call's text never travels in a URL).
    assert (await client.post("/console/calls/suggest", data={"text": "x"})).status == 403

    token = re.search(r'name="call_token" value="([0-9a-f]+)"', html).group(1)
    form = {"csrf_token": csrf_of(html), "call_token": token, "phone": "0905 123 456",
            "name": "Nguyễn Văn An", "address": "kiệt 12 Nguyễn Trãi, phường Thuận Hóa",
            "text": "Rác thải ùn ứ bốc mùi nhiều ngày không ai thu gom"}
    resp = await client.post("/console/calls", data=form, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/console/calls/{token}"
    html = await (await client.get(resp.headers["Location"])).text()
    code = re.search(r'id="call-code">(PA-[0-9-]+)<', html).group(1)
    r = await report(client, code)
    assert (r.channel, r.ward, r.category) == ("hotline", "Phường Thuận Hóa", "environment")
    assert r.extra["operator"] == "user:td.minh"
    # The same form sent again (double click, retry): still one call, one report, and the
    # operator's event in the timeline once.
    resp = await client.post("/console/calls", data=form, allow_redirects=False)
    assert resp.status == 303
    await client.get(resp.headers["Location"])
    notes = [(e.actor, e.note) for e in await events(client, code, "note")]
    assert notes.count(("user:td.minh", "Ghi nhận cuộc gọi đường dây nóng trên bàn làm việc")) == 1
    page = (await Officer(client, "tt.lan").page(f"/console/reports/{code}"))[1]
    assert "Đỗ Văn Minh" in page[page.index('class="timeline"'):]  # the operator, by name
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1

    # A number that cannot exist keeps the call, flagged.
    _, html = await minh.page("/console/calls/new")
    resp = await client.post("/console/calls", data={
        "csrf_token": csrf_of(html), "call_token": "ab" * 16, "phone": "12345",
        "text": "Đèn đường hỏng cả tuần nay ở đường Lê Lợi", "address": ""}, allow_redirects=False)
    html = await (await client.get(resp.headers["Location"])).text()
    code = re.search(r'id="call-code">(PA-[0-9-]+)<', html).group(1)
    assert "“12345” không hợp lệ" in html
    assert (await report(client, code)).extra["caller_unverified"] == "12345"

    # Nothing to report: the form again with the reason, nothing stored.
    _, html = await minh.page("/console/calls/new")
    resp = await client.post("/console/calls", data={"csrf_token": csrf_of(html), "phone": "0905123456",
                                                     "text": "   ", "name": "An"})
    assert resp.status == 400 and "Hãy ghi nội dung phản ánh." in await resp.text()
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 2
    # An agency officer cannot log calls; an unknown call token is a 404.
    assert (await Officer(client, "mt.hoa").page("/console/calls/new"))[0] == 403
    assert (await minh.page("/console/calls/" + "cd" * 16))[0] == 404


async def test_token_issued_in_the_console_works_on_the_api_until_revoked(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client, ENV_FORM)
    center = Officer(client, "tt.lan")
    resp = await center.post("/console/accounts/mt.hoa/tokens", {"label": "máy trạm"},
                             page="/console/accounts/mt.hoa")
    html = await resp.text()
    assert resp.status == 200, html
    value = re.search(r'class="secret-value" tabindex="0">(hub_[^<]+)<', html).group(1)
    bearer = {"Authorization": f"Bearer {value}"}
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=bearer,
                             json={"status": "in_progress", "note": "Đã giao tổ thu gom"})
    assert resp.status == 200, await resp.text()
    assert ("user:mt.hoa", "in_progress") in [(e.actor, e.status_to) for e in await events(client, code, "status")]
    token_id = re.search(r'/console/accounts/mt.hoa/tokens/(\d+)/revoke', html).group(1)
    resp = await center.post(f"/console/accounts/mt.hoa/tokens/{token_id}/revoke", {},
                             page="/console/accounts/mt.hoa")
    assert resp.status in (200, 303)
    assert (await client.get("/api/v1/queue", headers=bearer)).status == 401


async def test_pending_call_page_refreshes(settings_factory, hub_client) -> None:
    """A call whose report is not made yet: the result page says so and reloads itself."""
    client = await hub_with_officers(settings_factory, hub_client)
    hub = client.app[HUB_KEY]
    await client.app[HUB_KEY].intake.submit("hotline", "call:console-" + "ef" * 16, {"id": "x"})
    # The stored row above is malformed on purpose: the worker ignores it and never makes a report.
    await wait_for(lambda: _processed(hub, "call:console-" + "ef" * 16))
    status, html = await Officer(client, "td.minh").page("/console/calls/" + "ef" * 16)
    assert status == 200 and 'id="call-pending"' in html and 'http-equiv="refresh"' in html


async def _processed(hub: Any, external_id: str) -> bool:
    from store.models import InboxEvent

    async with hub.sessions() as session:
        state = (await session.execute(select(InboxEvent.state).where(
            InboxEvent.external_id == external_id))).scalar()
    return state not in (None, "pending")


async def test_call_form_with_the_hotline_channel_off(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client, channels={"hotline": {"enabled": False}})
    status, html = await Officer(client, "td.minh").page("/console/calls/new")
    resp = await client.post("/console/calls", data={"csrf_token": csrf_of(html), "phone": "0905123456",
                                                     "text": "Đèn đường hỏng", "address": ""})
    text = await resp.text()
    assert resp.status == 503 and "kênh đường dây nóng đang tắt" in text
    assert "Đèn đường hỏng" in text  # what the operator typed is still in the form
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 0
