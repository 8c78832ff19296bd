"""The console's merge action: no report merged into its own duplicate (each would be the other's
duplicate, the complaint in no queue), no chains, and a code no report has is named as such."""
from __future__ import annotations

from tests.console.test_actions import Officer, hub_with_officers
from tests.router.helpers import ENV_FORM, post_report, report


async def test_merge_refuses_cycles_chains_and_unknown_codes(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    first = await post_report(client, ENV_FORM)
    second = await post_report(client, ENV_FORM, description="Rác ùn ứ bốc mùi kiệt 12 Nguyễn Trãi")
    third = await post_report(client, ENV_FORM, description="Rác đổ trộm kiệt 14 Nguyễn Trãi")
    center = Officer(client, "tt.lan")

    resp = await center.post(f"/console/reports/{second}/merge", {"duplicate_of": first})
    assert resp.status == 303 and resp.headers["Location"].endswith("?done=merge#action-done")

    resp = await center.post(f"/console/reports/{first}/merge", {"duplicate_of": second})
    assert resp.status == 409
    assert f"Phản ánh {second} đã được gộp vào phản ánh {first}" in await resp.text()
    r = await report(client, first)
    assert (r.status, r.duplicate_of) == ("forwarded", None)

    resp = await center.post(f"/console/reports/{third}/merge", {"duplicate_of": second.lower()})
    assert resp.status == 409 and f"hãy gộp vào {first}." in await resp.text()
    assert (await report(client, third)).status == "forwarded"

    resp = await center.post(f"/console/reports/{third}/merge", {"duplicate_of": "PA-2000-999999"})
    html = await resp.text()
    assert resp.status == 422 and "Không có phản ánh nào mang mã PA-2000-999999." in html
    assert "phản ánh khác" not in html

    resp = await center.post(f"/console/reports/{third}/merge", {"duplicate_of": third})
    assert resp.status == 422 and "Không thể gộp một phản ánh vào chính nó" in await resp.text()

    resp = await center.post(f"/console/reports/{third}/merge", {"duplicate_of": first})
    assert resp.status == 303
    r = await report(client, third)
    assert (r.status, r.duplicate_of) == ("duplicate", first)
    # the original's page lists what was merged into it, and its timeline says when and by whom
    status, page = await center.page(f"/console/reports/{first}")
    assert status == 200
    assert (f'Đã gộp vào đây: <a href="/console/reports/{second}">{second}</a>, '
            f'<a href="/console/reports/{third}">{third}</a>') in page
    assert f"{third} được gộp vào phản ánh này" in page and f"{second} được gộp vào phản ánh này" in page
    # the agency handling the original sees the same codes (as its timeline does), unlinked: the
    # merged reports left its queue
    assert (await report(client, first)).agency_id == "moi-truong"
    status, page = await Officer(client, "mt.hoa").page(f"/console/reports/{first}")
    assert status == 200 and f"Đã gộp vào đây: {second}, {third}</p>" in page

    # Reopened (duplicate → triage), it is nobody's duplicate any more.
    resp = await center.post(f"/console/reports/{third}/status", {"status": "triage"})
    assert resp.status == 303
    r = await report(client, third)
    assert (r.status, r.duplicate_of) == ("triage", None)
