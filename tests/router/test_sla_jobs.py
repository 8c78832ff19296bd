"""SLA reminders and escalations (the leader's periodic job) and the report gauges."""
from datetime import timedelta

from sqlalchemy import update

from hub.keys import HUB_KEY
from router.jobs import check_deadlines, refresh_gauges
from router.sla import add_working_days
from store.models import Report, utcnow
from tests.conftest import wait_for
from tests.router.helpers import ENV_FORM, ROAD_FORM, events, post_report, report, token


async def _due(client, code, delta):
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.code == code).values(due_at=utcnow() + delta))


async def test_reminder_then_escalation_once_each(settings_factory, hub_client, fake_api, db_url):
    api = await fake_api()
    api.on("POST", "/hook", default={"ok": True})
    settings = settings_factory(db_url, agencies=[
        {"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế", "categories": ["environment"],
         "webhook_url": f"{api.url}/hook", "webhook_secret": "s"},
        {"id": "so-xay-dung", "name": "Sở Xây dựng", "categories": ["traffic_infrastructure"]}])
    client = await hub_client(settings)
    hub = client.app[HUB_KEY]
    assert ("router-sla", settings.routing.sla_check_seconds) in [(j[0], j[1]) for j in hub.jobs]
    assert [j[3] for j in hub.jobs if j[0] == "router-sla"] == [True]  # leader only
    code = await post_report(client, ENV_FORM)
    road = await post_report(client, ROAD_FORM)
    rep = await report(client, code)
    # environment: 3 working days on the Huế calendar (5 calendar days from a Wednesday, more
    # over a holiday: the calendar's own rules are tested in test_sla.py)
    routing = hub.settings.routing
    expected = add_working_days(rep.forwarded_at, 3, routing.calendar, routing.timezone)
    assert timedelta(days=3) <= rep.due_at - rep.forwarded_at
    assert abs(rep.due_at - expected) < timedelta(seconds=5)
    await wait_for(lambda: _events_named(api, "report.forwarded", 1))

    assert await check_deadlines(hub) == {"reminded": 0, "escalated": 0, "director": 0}  # not due for days
    await _due(client, code, timedelta(hours=2))
    assert await check_deadlines(hub) == {"reminded": 1, "escalated": 0, "director": 0}
    assert await check_deadlines(hub) == {"reminded": 0, "escalated": 0, "director": 0}
    [reminder] = await wait_for(lambda: _events_named(api, "report.reminder", 1))
    assert reminder["text"].startswith(f"Nhắc việc: phản ánh {code} đến hạn xử lý ngày ")
    assert [e.kind for e in await events(client, code) if e.kind == "reminder"] == ["reminder"]

    await _due(client, code, -timedelta(minutes=1))
    await _due(client, road, -timedelta(days=1))
    assert await check_deadlines(hub) == {"reminded": 0, "escalated": 2, "director": 0}
    assert await check_deadlines(hub) == {"reminded": 0, "escalated": 0, "director": 0}
    [overdue] = await wait_for(lambda: _events_named(api, "report.overdue", 1))
    assert overdue["text"].startswith(f"Quá hạn: phản ánh {code} giao Công ty Môi trường đô thị Huế")
    notes = [e.note for e in await events(client, code, "escalation")]
    assert len(notes) == 1 and notes[0].startswith("quá hạn xử lý từ ")

    center = await token(client, "center")
    late = await (await client.get("/api/v1/queue?overdue=1", headers=center)).json()
    assert {r["code"] for r in late["reports"]} == {code, road}
    assert all(r["overdue"] for r in late["reports"])

    await refresh_gauges(hub)
    metrics = await (await client.get("/metrics")).text()
    assert 'hub_reports_overdue{agency="moi-truong"} 1.0' in metrics
    assert 'hub_reports_overdue{agency="so-xay-dung"} 1.0' in metrics
    assert 'hub_reports{agency="moi-truong",status="forwarded"} 1.0' in metrics
    assert 'hub_alerts_total{channel="router",kind="overdue"} 2.0' in metrics

    # resolved late: off the overdue gauge, and not "on time" in the public stats
    auth = await token(client, "moi-truong")
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "resolved", "note": "Đã thu gom"}, headers=auth)
    assert resp.status == 200
    await refresh_gauges(hub)
    metrics = await (await client.get("/metrics")).text()
    assert 'hub_reports_overdue{agency="moi-truong"} 0.0' in metrics
    assert 'hub_reports{agency="moi-truong",status="resolved"} 1.0' in metrics
    assert 'hub_reports{agency="moi-truong",status="forwarded"}' not in metrics
    stats = await (await client.get("/api/public/stats")).json()
    [env] = [a for a in stats["agencies"] if a["agency"] == "moi-truong"]
    assert (env["received"], env["resolved"], env["on_time"]) == (1, 1, 0)


async def _events_named(api, name, count):
    bodies = [c.json() for c in api.calls_to("/hook")]
    found = [b for b in bodies if b["event"] == name]
    return found if len(found) >= count else None
