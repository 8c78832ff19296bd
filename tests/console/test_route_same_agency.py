""""Chuyển" to the agency a forwarded report is already with is no new forward: the deadline
runs on (an overdue report stays overdue), the citizen is not told again, the timeline records no
"chuyển X → X"; only a changed category is recorded. Same rules on the agency API's /route."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from hub.keys import HUB_KEY
from store.models import OutboxMessage, Report, utcnow
from tests.console.test_actions import Officer, hub_with_officers
from tests.router.helpers import events, post_report, report, token


async def _overdue(client: Any, code: str) -> Any:
    due = utcnow() - timedelta(days=2)
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.code == code).values(due_at=due))
    return (await report(client, code)).due_at


async def _outbox_count(client: Any) -> int:
    async with client.app[HUB_KEY].sessions() as session:
        return (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()


async def test_route_to_the_same_agency_is_no_new_forward(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client)
    r = await report(client, code)
    assert (r.status, r.agency_id, r.category) == ("forwarded", "moi-truong", "environment")
    due = await _overdue(client, code)
    statuses, sent = len(await events(client, code, "status")), await _outbox_count(client)
    center = Officer(client, "tt.lan")

    # Nothing changed (both selects as the page pre-sets them): said so, nothing recorded.
    resp = await center.post(f"/console/reports/{code}/route",
                             {"agency": "moi-truong", "category": "environment"})
    assert resp.status == 303 and "done=unchanged" in resp.headers["Location"]
    page = await client.get(resp.headers["Location"])
    assert "Không có gì thay đổi" in await page.text()
    r = await report(client, code)
    assert (r.status, r.agency_id, r.category, r.due_at) == ("forwarded", "moi-truong", "environment", due)
    assert len(await events(client, code, "status")) == statuses
    assert await events(client, code, "classification") == []
    assert await _outbox_count(client) == sent

    # Only the category changed: a classification, same deadline, no message.
    resp = await center.post(f"/console/reports/{code}/route",
                             {"agency": "moi-truong", "category": "urban_infrastructure"})
    assert resp.status == 303 and "done=classified" in resp.headers["Location"]
    r = await report(client, code)
    assert (r.status, r.agency_id, r.category, r.due_at) == (
        "forwarded", "moi-truong", "urban_infrastructure", due)
    assert r.classifier_version == "center"
    assert [e.note for e in await events(client, code, "classification")] == [
        "environment → urban_infrastructure"]
    assert len(await events(client, code, "status")) == statuses
    assert await _outbox_count(client) == sent

    # The agency API's /route: the same rules.
    resp = await client.post(f"/api/v1/reports/{code}/route", json={"agency": "moi-truong"},
                             headers=await token(client, "center"))
    assert resp.status == 200, await resp.text()
    r = await report(client, code)
    assert (r.status, r.agency_id, r.due_at) == ("forwarded", "moi-truong", due)
    assert len(await events(client, code, "status")) == statuses
    assert await _outbox_count(client) == sent

    # Another agency is a real forward: a new deadline and the citizen is told.
    resp = await center.post(f"/console/reports/{code}/route", {"agency": "so-xay-dung"})
    assert resp.status == 303 and "done=route" in resp.headers["Location"]
    r = await report(client, code)
    assert r.agency_id == "so-xay-dung" and r.due_at > utcnow()
    assert await _outbox_count(client) > sent
