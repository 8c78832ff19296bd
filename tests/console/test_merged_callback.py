"""A hotline caller whose report was merged into another hears that report's result on a
call-back, as a caller of the original does (left by the hotline shift walkthrough: the result
went out as ``resolved_merged``, which the default ``routing.callback_templates`` lacked, so the
operators never got the call to make)."""
from __future__ import annotations

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Callback, Report
from tests.console.test_actions import Officer, _triage_call, hub_with_officers
from tests.router.helpers import post_report, report

RESULT = "Đã thu gom toàn bộ rác tại kiệt 12 Nguyễn Trãi và khử mùi."


async def test_a_merged_callers_result_reaches_the_call_back_list(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    original = await post_report(client)  # forwarded to moi-truong
    caller = await _triage_call(client, "Rác thải ùn ứ nhiều ngày ở kiệt 12 Nguyễn Trãi, bốc mùi")
    lan, hoa = Officer(client, "tt.lan"), Officer(client, "mt.hoa")
    resp = await lan.post(f"/console/reports/{caller}/merge", {"duplicate_of": original})
    assert resp.status == 303, await resp.text()
    assert (await report(client, caller)).status == "duplicate"

    resp = await hoa.post(f"/console/reports/{original}/status", {"status": "resolved", "note": RESULT})
    assert resp.status == 303
    async with client.app[HUB_KEY].sessions() as session:
        dup = (await session.execute(select(Report).where(Report.code == caller))).scalar_one()
        calls = list((await session.execute(select(Callback.text).where(
            Callback.report_id == dup.id))).scalars())
    assert len(calls) == 1, calls
    assert f"Phản ánh {caller} của bạn đã được gộp vào phản ánh {original}." in calls[0]
    assert RESULT in calls[0]
