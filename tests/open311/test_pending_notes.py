"""status_notes of requests the center never forwarded (left by the Open311 walkthrough): a
client following what it sent read a refused or merged request as "closed" with status_notes
null — never the center's reason, never the report it was merged into. The portal's page of the
same code gives both (tests/portal/test_pending_page.py); Open311 clients only have this field."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update

from hub.keys import HUB_KEY
from store.models import Report
from store.public_reports import set_report_hidden
from tests.open311.spec import check_xml
from tests.portal.conftest import seed_report

V2 = "/open311/v2"


async def _one(client: Any, code: str) -> dict[str, Any]:
    resp = await client.get(f"{V2}/requests/{code}.json")
    assert resp.status == 200, await resp.text()
    [req] = await resp.json()
    return req


async def test_a_refused_request_gives_the_centers_reason_masked(portal: Any) -> None:
    client = portal
    code = await seed_report(client, status="rejected", agency=None, forwarded=False,
                             name="Trần Thị Mai", phone="0905999888",
                             description="Nhà bà Mai hàng xóm đổ rác đêm khuya",
                             notes={"rejected": "Nội dung không đủ thông tin; chị Trần Thị Mai "
                                               "(0905 999 888) vui lòng gửi kèm ảnh."})
    req = await _one(client, code)
    assert req["status"] == "closed"
    assert req["status_notes"].startswith("Nội dung không đủ thông tin")
    assert "(090*****88)" in req["status_notes"]
    assert "Trần Thị Mai" not in req["status_notes"] and "0905 999 888" not in req["status_notes"]
    assert req["description"] is None and req["address"] is None  # still unpublished
    resp = await client.get(f"{V2}/requests/{code}.xml")
    [xml] = check_xml("requests", await resp.read(), resp.headers["Content-Type"])
    assert xml["status_notes"] == req["status_notes"]


async def test_a_merged_request_names_the_one_to_follow(portal: Any) -> None:
    client = portal
    original = await seed_report(client, status="forwarded")
    dup = await seed_report(client, status="duplicate", agency=None, forwarded=False)
    forwarded_then_merged = await seed_report(client, status="in_progress",
                                              notes={"in_progress": "Đã cử tổ thu gom"})
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.code.in_([dup, forwarded_then_merged]))
                              .values(duplicate_of=original))
        await session.execute(update(Report).where(Report.code == forwarded_then_merged)
                              .values(status="duplicate"))
    req = await _one(client, dup)
    assert req["status"] == "closed" and original in req["status_notes"]
    assert req["status_notes"].startswith("Trùng với phản ánh")
    # public (it was forwarded): the merge, not the agency's older note, is where it stands
    req = await _one(client, forwarded_then_merged)
    assert req["description"] and original in req["status_notes"]
    # asked by id in the list: the same notes
    listed = await (await client.get(
        f"{V2}/requests.json?service_request_id={dup},{forwarded_then_merged}")).json()
    notes = {r["service_request_id"]: r["status_notes"] for r in listed}
    assert original in notes[dup] and original in notes[forwarded_then_merged]


async def test_a_request_in_triage_has_no_note_and_a_hidden_one_is_404(portal: Any) -> None:
    client = portal
    code = await seed_report(client, status="triage", agency=None, forwarded=False)
    req = await _one(client, code)
    assert req["status"] == "open" and req["status_notes"] is None
    refused = await seed_report(client, status="rejected", agency=None, forwarded=False,
                                notes={"rejected": "Không thuộc thẩm quyền"})
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_report_hidden(session, refused, True, actor="tt.lan", reason="thông tin cá nhân")
    assert (await client.get(f"{V2}/requests/{refused}.json")).status == 404
    listed = await (await client.get(f"{V2}/requests.json?service_request_id={refused},{code}")).json()
    assert [r["service_request_id"] for r in listed] == [code]
