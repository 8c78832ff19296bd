"""Agency statistics in SQL agree with the readable Python definition (router.stats.aggregate);
the median counts working days (weekends and configured holidays skipped); trend by month in
Vietnam's calendar. SQLite and PostgreSQL."""
from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from router.stats import StatRow, agency_stats, aggregate
from store.models import Report, utcnow
from store.public_stats import ensure_calendar, median_working_days, monthly_trend, weekdays_except
from web.context import WEB_CONTEXT

AGENCIES = [("moi-truong", "Công ty Môi trường đô thị Huế"), ("so-xay-dung", "Sở Xây dựng")]
# Monday 2 March 2026, 09:00 in Huế.
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


async def test_sql_figures_equal_the_python_definition_on_random_reports(portal_db: Any) -> None:
    ctx = portal_db.app[WEB_CONTEXT]
    rng = random.Random(16)
    now = MONDAY + timedelta(days=60)
    async with ctx.sessions() as session, session.begin():
        for i in range(400):
            agency = rng.choice(["moi-truong", "so-xay-dung", None, "gone"])
            status = rng.choice(["triage", "forwarded", "in_progress", "resolved", "closed", "rejected"])
            created = MONDAY + timedelta(hours=rng.randrange(0, 24 * 50))
            forwarded = created + timedelta(minutes=10) if agency else None
            resolved = (forwarded + timedelta(hours=rng.randrange(1, 24 * 12))
                        if forwarded and status in ("resolved", "closed") else None)
            session.add(Report(
                code=f"PA-2026-{i + 1:06d}", channel="web", status=status, agency_id=agency,
                created_at=created, forwarded_at=forwarded, resolved_at=resolved,
                due_at=forwarded + timedelta(days=rng.choice([3, 5, 7])) if forwarded else None,
                rating_score=rng.choice([None, 1, 2, 3, 4, 5]) if resolved else None))
    async with ctx.sessions() as session:
        rows = (await session.execute(select(Report.agency_id, Report.status, Report.forwarded_at,
                                             Report.due_at, Report.resolved_at, Report.rating_score))).all()
        sql = await agency_stats(session, AGENCIES, now)
    python = aggregate((StatRow(*r) for r in rows), AGENCIES, now)
    for ours, reference in zip(sql["agencies"], python["agencies"], strict=True):
        for key in ("agency", "received", "open", "overdue", "resolved", "on_time", "on_time_rate", "satisfaction"):
            assert ours[key] == reference[key], key
        assert ours["received"] > 50
        # working days are at most the calendar days (weekends skipped), never negative
        assert 0 <= ours["median_days_to_resolve"] <= reference["median_days_to_resolve"] + 1
    assert sql["total"] == python["total"]


async def test_median_counts_working_days_skipping_weekends_and_holidays(portal_db: Any) -> None:
    ctx = portal_db.app[WEB_CONTEXT]
    friday = MONDAY + timedelta(days=4)
    # Friday → next Tuesday: 2 working days; Monday → Wednesday with Tuesday a holiday: 1;
    # Monday → Monday same day: 0.
    cases = [(friday, friday + timedelta(days=4)), (MONDAY, MONDAY + timedelta(days=2)), (MONDAY, MONDAY)]
    async with ctx.sessions() as session, session.begin():
        await ensure_calendar(session, weekdays_except(["2026-03-03"]), date(2026, 1, 1),
                                  date(2026, 12, 31))
        for i, (fwd, res) in enumerate(cases):
            session.add(Report(code=f"PA-2026-{i + 1:06d}", channel="web", status="resolved",
                               agency_id="so-xay-dung", created_at=fwd, forwarded_at=fwd, resolved_at=res))
    async with ctx.sessions() as session:
        assert await median_working_days(session) == {"so-xay-dung": 1.0}
        # 23:30 UTC on Sunday is Monday morning in Huế: Monday → Wednesday over the Tuesday
        # holiday is 1 working day (by UTC dates, Sunday → Wednesday, it would be 2)
        session.add(Report(code="PA-2026-000009", channel="web", status="closed", agency_id="moi-truong",
                           created_at=MONDAY, forwarded_at=MONDAY - timedelta(hours=2, minutes=30),
                           resolved_at=MONDAY + timedelta(days=2)))
        await session.flush()
        assert (await median_working_days(session))["moi-truong"] == 1.0
        await session.rollback()
    async with ctx.sessions() as session, session.begin():
        assert await ensure_calendar(session, weekdays_except(["2026-03-03"]), date(2026, 1, 1),
                                  date(2026, 12, 31)) == 0


async def test_monthly_trend_in_local_months(portal_db: Any) -> None:
    ctx = portal_db.app[WEB_CONTEXT]
    # 31 Jan 2026 20:00 UTC is 1 Feb 03:00 in Huế: a February report.
    edge = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
    async with ctx.sessions() as session, session.begin():
        session.add(Report(code="PA-2026-000001", channel="web", status="resolved", agency_id="moi-truong",
                           created_at=edge, forwarded_at=edge, resolved_at=edge + timedelta(days=2),
                           due_at=edge + timedelta(days=5), rating_score=4))
        session.add(Report(code="PA-2026-000002", channel="web", status="forwarded", agency_id="moi-truong",
                           created_at=edge - timedelta(days=3), forwarded_at=edge - timedelta(days=3)))
    async with ctx.sessions() as session:
        months = await monthly_trend(session, "moi-truong", 3, datetime(2026, 3, 15, tzinfo=UTC))
    assert [m["month"] for m in months] == ["2026-01", "2026-02", "2026-03"]
    assert [(m["received"], m["resolved"], m["on_time"], m["rating"]) for m in months] == [
        (1, 0, 0, None), (1, 1, 1, 4.0), (0, 0, 0, None)]


async def test_agency_pages_show_the_figures_and_an_svg_chart(portal: Any) -> None:
    from tests.portal.conftest import seed_report

    for days, rating in ((1, 5), (3, 4), (9, 2)):
        await seed_report(portal, status="resolved", agency="moi-truong", resolved_after=timedelta(days=days),
                          rating=rating, created=utcnow() - timedelta(days=days + 2))
    await seed_report(portal, status="in_progress", agency="moi-truong")
    page = await portal.get("/agencies")
    text = await page.text()
    assert page.status == 200 and "Công ty Môi trường đô thị Huế" in text and "Sở Xây dựng" in text
    assert "3,7/5 (3)" in text  # Vietnamese decimal comma
    assert "Chưa có đánh giá" in text and "—/5" not in text  # Sở Xây dựng: no rating yet
    # the median in words a citizen reads, not "(trung vị)"
    assert "trung vị" not in text and "Một nửa số phản ánh đã xử lý xong" in text
    page = await portal.get("/agencies/moi-truong")
    text = await page.text()
    assert page.status == 200
    assert "trung vị" not in text
    assert re.search(r"Một nửa số phản ánh được xử lý xong trong</dt><dd>\d+(,\d)? ngày làm việc", text)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in text and 'role="img"' in text
    assert "<title id=\"chart-title\">" in text
    desc = re.search(r'<desc id="chart-desc">([^<]*)</desc>', text).group(1)
    assert len(re.findall(r"Th\d+/\d\d:", desc)) == 12  # twelve months, Vietnamese labels
    assert sum(map(int, re.findall(r"tiếp nhận (\d+)", desc))) == 4
    assert sum(map(int, re.findall(r"xử lý xong (\d+)", desc))) == 3
    assert "<table>" in text  # the chart's figures, readable without the picture
    assert (await portal.get("/agencies/khong-co")).status == 404
    assert (await portal.get("/stats", allow_redirects=False)).headers["Location"] == "/agencies"


async def test_the_calendar_is_the_slas_own_public_holidays_and_make_up_days(settings_factory: Any,
                                                                           hub_client: Any) -> None:
    from web.portal import sync_calendar

    client = await hub_client(settings_factory(routing={"workdays": ["2026-08-22"]}, portal={"stats_cache_seconds": 0}))
    ctx = client.app[WEB_CONTEXT]
    friday = datetime(2026, 8, 21, 2, 0, tzinfo=UTC)
    cases = {"so-xay-dung": (friday, friday + timedelta(days=3)),  # Sat 22/8 worked, then Mon: 2
             "moi-truong": (datetime(2026, 4, 29, 2, 0, tzinfo=UTC),  # Wed 29/4 → Mon 4/5 over 30/4, 1/5: 1
                            datetime(2026, 5, 4, 2, 0, tzinfo=UTC))}
    async with ctx.sessions() as session, session.begin():
        for i, (agency, (fwd, res)) in enumerate(cases.items()):
            session.add(Report(code=f"PA-2026-{i + 1:06d}", channel="web", status="resolved", agency_id=agency,
                               created_at=fwd, forwarded_at=fwd, resolved_at=res))
    await sync_calendar(ctx)
    async with ctx.sessions() as session:
        assert await median_working_days(session) == {"so-xay-dung": 2.0, "moi-truong": 1.0}
