"""A refused action gives back what the officer typed, and a status form made stale by another
officer's change says what changed and who changed it."""
from __future__ import annotations

from tests.console.conftest import csrf_of, login
from tests.router.helpers import post_report, report


async def test_stale_status_form_keeps_the_note_and_says_what_changed(settings_factory, hub_client) -> None:
    from tests.console.test_actions import hub_with_officers

    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client)
    await login(client, "mt.hoa")
    tab2 = await (await client.get(f"/console/reports/{code}")).text()  # opened before tab 1 acts
    resp = await client.post(f"/console/reports/{code}/status", allow_redirects=False, data={
        "csrf_token": csrf_of(tab2), "status": "in_progress", "note": ""})  # tab 1
    assert resp.status == 303
    assert 'name="seen_status" value="forwarded"' in tab2
    note = "Đội thu gom <b>sẽ đến</b> lúc 8 giờ sáng mai"
    resp = await client.post(f"/console/reports/{code}/status", allow_redirects=False, data={
        "csrf_token": csrf_of(tab2), "seen_status": "forwarded", "status": "in_progress", "note": note})
    html = await resp.text()
    assert resp.status == 409
    assert "Phản ánh vừa được chuyển sang trạng thái “Đang xử lý” bởi Lê Thị Hoa" in html
    assert "Đội thu gom &lt;b&gt;sẽ đến&lt;/b&gt; lúc 8 giờ sáng mai</textarea>" in html
    assert (await report(client, code)).status == "in_progress"

    # Any refused form comes back filled: a reply too long keeps its text.
    resp = await client.post(f"/console/reports/{code}/reject", allow_redirects=False, data={
        "csrf_token": csrf_of(tab2), "note": "Không thuộc thẩm quyền"})
    assert resp.status == 403
    long_text = "Xin cảm ơn. " * 200
    resp = await client.post(f"/console/reports/{code}/reply", allow_redirects=False, data={
        "csrf_token": csrf_of(tab2), "text": long_text})
    assert resp.status == 400 and long_text.strip()[:100] in await resp.text()
