"""The SLA calendar from the holidays library (Tết by the lunar calendar, substitute days off),
make-up working days and extra days off from the settings, SLA days per agency, and the second
escalation level to the center's director."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import update

from hub.keys import HUB_KEY
from router.jobs import check_deadlines
from router.settings import AgencySettings, RoutingSettings
from router.sla import WorkCalendar, add_working_days, sla_days_for
from store.models import OutboxMessage, Report, utcnow
from tests.conftest import wait_for
from tests.router.helpers import ENV_FORM, events, post_report, report

HUE = timezone(timedelta(hours=7))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HUE)


def test_tet_follows_the_lunar_calendar_without_typing_dates() -> None:
    vn = WorkCalendar(country="VN")
    # Tết 2026 is 16–20 Feb, Tết 2027 falls on 4–10 Feb: the same rule, other solar dates.
    assert [d.day for d in sorted(vn.days_off_in(date(2026, 2, 1), date(2026, 2, 28)))] == [
        16, 17, 18, 19, 20]
    tet_2027 = vn.days_off_in(date(2027, 2, 1), date(2027, 2, 28))
    assert date(2027, 2, 5) in tet_2027 and date(2026, 2, 5) not in tet_2027
    # Friday 13/2/2026 + 1 working day → Monday 23/2 (the Tết week skipped)
    assert add_working_days(at("2026-02-13T08:00"), 1, vn) == at("2026-02-23T08:00")
    # Fri 24/4 + 3: Mon 27/4 off (Hùng Kings' day observed), Tue 28 → 1, Wed 29 → 2, 30/4 and
    # 1/5 off, the weekend, Mon 4/5 → 3
    assert add_working_days(at("2026-04-24T09:00"), 3, vn) == at("2026-05-04T09:00")


def test_make_up_saturday_and_extra_days_off_from_the_settings() -> None:
    # 2026: Monday 31/8 is a substitute day off (in the library), worked on Saturday 22/8
    # (not in the library: routing.workdays); a provincial day off on Friday 4/9.
    routing = RoutingSettings(workdays=["2026-08-22"], holidays=["2026-09-04"])
    cal = routing.calendar
    assert cal.is_working_day(date(2026, 8, 22)) and not cal.is_working_day(date(2026, 8, 31))
    # Friday 21/8 + 1 → Saturday 22/8 (the make-up day counts)
    assert add_working_days(at("2026-08-21T10:00"), 1, cal) == at("2026-08-22T10:00")
    # Friday 28/8 + 2: 31/8 off, 1–2/9 National Day, 3/9 → 1, 4/9 off, 7/9 → 2
    assert add_working_days(at("2026-08-28T10:00"), 2, cal) == at("2026-09-07T10:00")
    assert RoutingSettings(holiday_country="").calendar.is_working_day(date(2026, 9, 2))


def test_sla_days_per_agency_then_per_category() -> None:
    defaults = RoutingSettings().sla_days
    assert sla_days_for("environment", defaults) == defaults["environment"]
    assert sla_days_for("environment", defaults, {"environment": 1, "default": 9}) == 1
    assert sla_days_for("tourism", defaults, {"environment": 1, "default": 9}) == 9
    assert sla_days_for(None, defaults) == defaults["other"]
    try:
        AgencySettings(id="x", name="X", sla_days={"rac": 1})
    except ValueError as exc:
        assert "sla_days" in str(exc)
    else:
        raise AssertionError("an unknown category in sla_days must be refused")


async def test_agency_sla_and_director_escalation(settings_factory, hub_client, fake_api) -> None:
    settings = settings_factory(
        agencies=[{"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế",
                   "categories": ["environment"], "sla_days": {"environment": 1}}],
        routing={"director_after_days": 2, "director_email": "giamdoc@hue.gov.vn",
                 "center_email": "trungtam@hue.gov.vn"})
    client = await hub_client(settings)
    hub = client.app[HUB_KEY]
    code = await post_report(client, ENV_FORM)
    rep = await report(client, code)
    # the agency's own 1 working day, not the province's 3 for environment
    expected = add_working_days(rep.forwarded_at, 1, settings.routing.calendar)
    assert abs(rep.due_at - expected) < timedelta(seconds=1)  # computed a moment apart

    async def due(delta: timedelta) -> None:
        async with hub.sessions() as session, session.begin():
            await session.execute(update(Report).where(Report.code == code).values(
                due_at=utcnow() + delta))

    await due(-timedelta(hours=1))
    assert await check_deadlines(hub) == {"reminded": 0, "escalated": 1, "director": 0}
    await due(-timedelta(days=1))  # one calendar day: fewer than 2 working days
    assert (await check_deadlines(hub))["director"] == 0
    await due(-timedelta(days=10))  # ten calendar days: surely 2 working days
    assert (await check_deadlines(hub))["director"] == 1
    assert (await check_deadlines(hub))["director"] == 0  # once

    notes = [e.note for e in await events(client, code, "escalation")]
    assert notes[-1] == "quá hạn 2 ngày làm việc; báo Giám đốc Trung tâm" and len(notes) == 2

    async def director_mail() -> list[OutboxMessage]:
        from sqlalchemy import select

        async with hub.sessions() as session:
            return list((await session.execute(select(OutboxMessage).where(
                OutboxMessage.address == "giamdoc@hue.gov.vn"))).scalars())
    [row] = await wait_for(director_mail)
    assert row.template == "director_escalation"
    assert f"phản ánh {code}" in row.payload["text"] and "quá hạn 2 ngày làm việc" in row.payload["text"]
    metrics = await (await client.get("/metrics")).text()
    assert 'hub_alerts_total{channel="router",kind="overdue_director"} 1.0' in metrics
