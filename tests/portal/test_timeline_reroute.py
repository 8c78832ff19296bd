"""The public history of a re-routed report: each "forwarded" step names the agency the report
went to then (not the one it is with now), a step by an agency names that agency. Found by a
new-user walkthrough: after a re-route both forwards named the new agency."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from hub.keys import HUB_KEY
from router.views import SOME_AGENCY, public_timeline
from store.accounts import create_account
from store.models import utcnow
from tests.conftest import wait_for
from tests.console.conftest import PASSWORD, csrf_of, login
from tests.router.helpers import ENV_FORM, post_report, report, token

MT, MT_NAME = "moi-truong", "Công ty Cổ phần Môi trường và Công trình đô thị Huế"
QL, QL_NAME = "qldt-thuan-hoa", "Phòng Kinh tế, Hạ tầng và Đô thị phường Thuận Hóa"
AGENCIES = [{"id": MT, "name": MT_NAME, "categories": ["environment"]},
            {"id": QL, "name": QL_NAME, "categories": ["urban_infrastructure"],
             "areas": ["Phường Thuận Hóa"]}]
TO_MT = f"Trung tâm đã chuyển phản ánh đến {MT_NAME}"
TO_QL = f"Trung tâm đã chuyển phản ánh đến {QL_NAME}"


async def _hub(settings_factory: Any, hub_client: Any) -> Any:
    client = await hub_client(settings_factory(agencies=AGENCIES, portal={"stats_cache_seconds": 0}))
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        await create_account(session, "tt.lan", "center", PASSWORD, display_name="Trần Thị Lan",
                             agencies={a.id: a.name for a in hub.agencies})
    return client


async def _forwarded_to(client: Any, code: str, agency: str) -> None:
    async def done() -> bool | None:
        r = await report(client, code)
        return (r.status == "forwarded" and r.agency_id == agency) or None
    await wait_for(done)


async def _public_page(client: Any, code: str) -> str:
    resp = await client.get(f"/r/{code}")
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def test_api_reroute_keeps_the_first_agency_on_the_first_forward(settings_factory, hub_client):
    client = await _hub(settings_factory, hub_client)
    code = await post_report(client, ENV_FORM)  # the rules forward it to moi-truong ("system")
    await _forwarded_to(client, code, MT)
    center = await token(client, "center")
    resp = await client.post(f"/api/v1/reports/{code}/route", json={"agency": QL}, headers=center)
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/reports/{code}/status", json={"status": "in_progress"},
                             headers=await token(client, QL))
    assert resp.status == 200, await resp.text()

    html = await _public_page(client, code)
    assert html.count(TO_MT) == 1 and html.count(TO_QL) == 1
    assert html.index(TO_MT) < html.index(TO_QL) < html.index(f"{QL_NAME} đang xử lý")
    assert f"{MT_NAME} đang xử lý" not in html
    # the internal re-route note stays internal
    assert "→" not in html and MT not in re.sub(r"<[^>]*>", "", html)


async def test_console_reroute_after_a_return_names_each_agency(settings_factory, hub_client):
    """Routed in the console, returned by the agency (the report has no agency then, so the
    next route writes no "from → to" note), routed again: still both names, in order."""
    client = await _hub(settings_factory, hub_client)
    code = await post_report(client, ENV_FORM)
    await _forwarded_to(client, code, MT)

    async def console_route(agency: str) -> None:
        client.session.cookie_jar.clear()
        assert (await login(client, "tt.lan")).status == 303
        page = await client.get(f"/console/reports/{code}")
        assert page.status == 200
        resp = await client.post(f"/console/reports/{code}/route",
                                 data={"csrf_token": csrf_of(await page.text()), "agency": agency},
                                 allow_redirects=False)
        assert resp.status == 303, await resp.text()
        await _forwarded_to(client, code, agency)

    await console_route(QL)   # moi-truong → qldt-thuan-hoa
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "returned", "note": "không thuộc thẩm quyền"},
                             headers=await token(client, QL))
    assert resp.status == 200, await resp.text()
    await console_route(MT)   # back to moi-truong, from "returned" (no note)

    html = await _public_page(client, code)
    first, second, third = html.index(TO_MT), html.index(TO_QL), html.rindex(TO_MT)
    assert first < second < third and html.count(TO_MT) == 2 and html.count(TO_QL) == 1


async def test_a_reply_is_credited_to_whoever_wrote_it(settings_factory, hub_client):
    """A reply by the center's staff in the console reads "Trung tâm … phản hồi", as the message
    the citizen got says; an agency's reply names the agency (found by the walkthrough: the
    center's reply was credited to the agency)."""
    from router.messages import CENTER_NAME

    client = await _hub(settings_factory, hub_client)
    code = await post_report(client, ENV_FORM)
    await _forwarded_to(client, code, MT)
    assert (await login(client, "tt.lan")).status == 303
    page = await client.get(f"/console/reports/{code}")
    resp = await client.post(f"/console/reports/{code}/reply", allow_redirects=False, data={
        "csrf_token": csrf_of(await page.text()), "text": "Trung tâm đã nhắc đơn vị xử lý sớm"})
    assert resp.status == 303, await resp.text()
    resp = await client.post(f"/api/v1/reports/{code}/reply", headers=await token(client, MT),
                             json={"text": "Đội thu gom sẽ đến trong chiều nay"})
    assert resp.status in (200, 202), await resp.text()
    html = await _public_page(client, code)
    center, agency = f"{CENTER_NAME} phản hồi", f"{MT_NAME} phản hồi"
    assert html.count(center) == 1 and html.count(agency) == 1
    assert html.index(center) < html.index("Trung tâm đã nhắc") < html.index(agency)
    assert "tt.lan" not in html


def _event(minutes: int, status: str | None, actor: str = "system", note: str | None = None,
           kind: str = "status") -> Any:
    return SimpleNamespace(at=utcnow() + timedelta(minutes=minutes), kind=kind, status_to=status,
                           actor=actor, note=note)


def _texts(agency: str | None, events: list[Any]) -> list[str]:
    names = {MT: MT_NAME, QL: QL_NAME}
    return [step["text"] for step in public_timeline(SimpleNamespace(agency_id=agency), events,
                                                     names, lambda text: text)]


def test_timeline_reads_each_forward_at_its_time():
    events = [_event(0, "received"), _event(1, "forwarded", note="matched category and area"),
              _event(2, "in_progress", actor=MT),
              _event(3, "forwarded", actor="user:tt.lan", note=f"chuyển {MT} → {QL}"),
              _event(4, "resolved", actor="user:ql.an", note="Đã sửa")]
    assert _texts(QL, events) == ["Trung tâm đã tiếp nhận phản ánh", TO_MT, f"{MT_NAME} đang xử lý",
                                  TO_QL, f"{QL_NAME} đã xử lý xong"]


def test_timeline_falls_back_to_the_agency_now():
    # a note naming an agency no longer configured, and nothing else to tell: the agency now
    events = [_event(0, "forwarded"), _event(1, "forwarded", note="chuyển old-agency → gone")]
    assert _texts(QL, events) == [TO_QL, TO_QL]
    # no agency now and nothing known: "đơn vị xử lý"
    assert _texts(None, [_event(0, "forwarded"), _event(1, "returned", actor="center")])[0] == \
        f"Trung tâm đã chuyển phản ánh đến {SOME_AGENCY}"
    # the agency that returned it is the one it had been forwarded to
    assert _texts(None, [_event(0, "forwarded"), _event(1, "returned", actor=MT)])[0] == TO_MT


def test_a_console_officer_acts_for_their_agency():
    """A console officer's login ("user:mt.hoa") is read through the staff mapping, as the agency
    API's token actor (the agency id) is: the forward names the agency, in both cases."""
    events = [_event(0, "forwarded"), _event(1, "returned", actor="user:mt.hoa", note="không thuộc")]
    staff = {"user:mt.hoa": MT, "user:tt.lan": "center"}
    names = {MT: MT_NAME, QL: QL_NAME}
    steps = public_timeline(SimpleNamespace(agency_id=None), events, names, lambda text: text, staff)
    assert steps[0]["text"] == TO_MT
    assert steps[0]["text"] == _texts(None, [_event(0, "forwarded"), _event(1, "returned", actor=MT)])[0]
    # the center's staff acting in between are no agency: still the officer's agency
    events = [_event(0, "received"), _event(1, "forwarded", actor="user:tt.lan"),
              _event(2, None, actor="user:tt.lan", note="Đã nhắc", kind="reply"),
              _event(3, "returned", actor="user:mt.hoa", note="không thuộc")]
    steps = public_timeline(SimpleNamespace(agency_id=None), events, names, lambda text: text, staff)
    assert [s["text"] for s in steps][:2] == ["Trung tâm đã tiếp nhận phản ánh", TO_MT]


async def test_console_officer_return_names_the_agency_publicly(settings_factory, hub_client):
    """Walkthrough: the agency's officer returned the report in the console; the public page said
    "… chuyển phản ánh đến đơn vị xử lý" where the same step through the agency API names the
    agency. Now both name it, and never the officer."""
    client = await _hub(settings_factory, hub_client)
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        await create_account(session, "mt.hoa", "agency", PASSWORD, agency_id=MT, display_name="Mai Thị Hoa",
                             agencies={a.id: a.name for a in hub.agencies})
    by_api, by_console = await post_report(client, ENV_FORM), await post_report(client, ENV_FORM)
    for code in (by_api, by_console):
        await _forwarded_to(client, code, MT)
    resp = await client.post(f"/api/v1/reports/{by_api}/status", headers=await token(client, MT),
                             json={"status": "returned", "note": "không thuộc thẩm quyền"})
    assert resp.status == 200, await resp.text()
    assert (await login(client, "mt.hoa")).status == 303
    page = await client.get(f"/console/reports/{by_console}")
    assert page.status == 200
    resp = await client.post(f"/console/reports/{by_console}/return", allow_redirects=False, data={
        "csrf_token": csrf_of(await page.text()), "note": "không thuộc thẩm quyền"})
    assert resp.status == 303, await resp.text()
    assert (await report(client, by_console)).status == "returned"

    client.session.cookie_jar.clear()
    for code in (by_api, by_console):
        html = await _public_page(client, code)
        assert html.count(TO_MT) == 1, code
        assert f"đến {SOME_AGENCY}<" not in html and "Mai Thị Hoa" not in html and "mt.hoa" not in html
