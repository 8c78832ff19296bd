"""Forms made stale by another officer's change are refused, not applied over that change (left
by the hotline shift walkthrough): a status form opened while the report was forwarded cannot
put a report just resolved back to in progress; a route form cannot overwrite a colleague's
category; a reject form on a report resolved meanwhile says so (409), not "your account may not".
Each refusal names what changed and who changed it, and gives back what the officer typed."""
from __future__ import annotations

import html as html_lib
import re

from hub.keys import HUB_KEY
from store.accounts import create_account
from tests.console.conftest import PASSWORD
from tests.console.test_actions import Officer, hub_with_officers
from tests.router.helpers import outbox, post_report, report

RESULT = "Đã thu gom toàn bộ rác tại đầu kiệt 12, khử mùi và đặt biển cấm đổ rác."
PROGRESS = "Đơn vị đã nhận, sẽ thu gom trong chiều nay."


def seen(html: str, action: str) -> dict[str, str]:
    """The hidden seen_* fields of one action's form, as the page was shown."""
    form = re.search(rf'action="/console/reports/[^"]+/{action}".*?</form>', html, re.S)
    assert form, action
    return dict(re.findall(r'name="(seen_[a-z]+)" value="([^"]*)"', form.group(0)))


async def test_a_stale_status_form_does_not_reopen_a_report_just_resolved(
        settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client)
    hoa, lan = Officer(client, "mt.hoa"), Officer(client, "tt.lan")
    _, page_b = await lan.page(f"/console/reports/{code}")  # B opens the page: forwarded
    assert seen(page_b, "status") == {"seen_status": "forwarded"}

    resp = await hoa.post(f"/console/reports/{code}/status", {
        "seen_status": "forwarded", "status": "resolved", "note": RESULT})
    assert resp.status == 303
    before = len(await outbox(client, code))

    resp = await lan.post(f"/console/reports/{code}/status", {
        **seen(page_b, "status"), "status": "in_progress", "note": PROGRESS})
    page = html_lib.unescape(await resp.text())
    assert resp.status == 409
    assert "Phản ánh vừa được chuyển sang trạng thái “Đã xử lý xong” bởi Lê Thị Hoa" in page
    assert f">{PROGRESS}</textarea>" in page  # the note typed is kept
    assert (await report(client, code)).status == "resolved"
    assert len(await outbox(client, code)) == before  # the citizen is not told "in progress"

    # From the page shown now (resolved), the same officer may reopen it on purpose.
    resp = await lan.post(f"/console/reports/{code}/status", {
        "seen_status": "resolved", "status": "in_progress", "note": PROGRESS})
    assert resp.status == 303
    assert (await report(client, code)).status == "in_progress"


async def test_a_stale_route_form_does_not_overwrite_a_colleagues_category(
        settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await create_account(session, "tt.hung", "center", PASSWORD, display_name="Võ Văn Hùng")
    code = await post_report(client)
    lan, hung = Officer(client, "tt.lan"), Officer(client, "tt.hung")
    _, page_a = await lan.page(f"/console/reports/{code}")
    shown = seen(page_a, "route")
    assert shown == {"seen_status": "forwarded", "seen_agency": "moi-truong",
                     "seen_category": "environment"}

    # A colleague re-classifies it (same agency) while Lan is choosing.
    _, page_b = await hung.page(f"/console/reports/{code}")
    resp = await hung.post(f"/console/reports/{code}/route", {
        **seen(page_b, "route"), "agency": "moi-truong", "category": "urban_infrastructure"})
    assert resp.status == 303 and "done=classified" in resp.headers["Location"]

    # Lan's old page still shows "Vệ sinh môi trường" in the category select; she picks another agency.
    resp = await lan.post(f"/console/reports/{code}/route", {
        **shown, "agency": "so-xay-dung", "category": "environment"})
    page = html_lib.unescape(await resp.text())
    assert resp.status == 409
    assert "vừa được thay đổi bởi Võ Văn Hùng" in page
    assert "lĩnh vực “Vệ sinh môi trường” → “Hạ tầng đô thị”" in page
    assert '<option value="so-xay-dung" selected>' in page  # her choices are kept
    assert '<option value="environment" selected>' in page
    r = await report(client, code)
    assert (r.agency_id, r.category) == ("moi-truong", "urban_infrastructure")
    # The page shown with the refusal carries what the report is now: sent again, it goes.
    assert seen(page, "route")["seen_category"] == "urban_infrastructure"
    resp = await lan.post(f"/console/reports/{code}/route", {
        **seen(page, "route"), "agency": "so-xay-dung", "category": "urban_infrastructure"})
    assert resp.status == 303
    r = await report(client, code)
    assert (r.agency_id, r.category) == ("so-xay-dung", "urban_infrastructure")


async def test_a_stale_reject_form_says_the_status_changed_not_forbidden(
        settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client)
    hoa, lan = Officer(client, "mt.hoa"), Officer(client, "tt.lan")
    _, page_a = await lan.page(f"/console/reports/{code}")
    assert seen(page_a, "reject") == {"seen_status": "forwarded"}
    resp = await hoa.post(f"/console/reports/{code}/status", {
        "seen_status": "forwarded", "status": "resolved", "note": RESULT})
    assert resp.status == 303

    reason = "Không thuộc thẩm quyền của Trung tâm"
    resp = await lan.post(f"/console/reports/{code}/reject", {
        **seen(page_a, "reject"), "note": reason})
    page = html_lib.unescape(await resp.text())
    assert resp.status == 409
    assert "Phản ánh vừa được chuyển sang trạng thái “Đã xử lý xong” bởi Lê Thị Hoa" in page
    assert "Tài khoản của bạn không dùng được" not in page
    assert f'readonly>{reason}</textarea>' in page  # the form is gone: the reason is shown to copy
    # A form without the status it was shown with gets the same kind of answer.
    resp = await lan.post(f"/console/reports/{code}/reject", {"note": reason})
    page = html_lib.unescape(await resp.text())
    assert resp.status == 409 and "không thể từ chối nữa" in page
    assert (await report(client, code)).status == "resolved"
    # A role that may never reject still gets the 403.
    resp = await hoa.post(f"/console/reports/{code}/reject", {"note": reason})
    assert resp.status == 403
