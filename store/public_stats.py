"""Per-agency statistics aggregated in SQL: received, open, overdue, resolved, on time, median
working days to resolve (through the work_calendar table), satisfaction, trend by month.

Counts only: no description, place or person ever enters them. Local days are Vietnam's
(UTC+7, no daylight saving), computed in SQL on both backends.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Report
from store.public_models import WorkCalendar

OPEN_AT_AGENCY = ("forwarded", "in_progress")
RESOLVED = ("resolved", "closed")
TRIAGE = ("received", "triage", "returned")
LOCAL_OFFSET_HOURS = 7  # Asia/Ho_Chi_Minh


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def local_day(column: Any, dialect: str) -> Any:
    """YYYY-MM-DD of a UTC timestamp column on Vietnam's calendar."""
    if dialect == "sqlite":
        return func.date(column, f"+{LOCAL_OFFSET_HOURS} hours")
    return func.to_char(column.op("AT TIME ZONE")(literal_column("'Asia/Ho_Chi_Minh'")), "YYYY-MM-DD")


def local_month(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return func.strftime("%Y-%m", column, f"+{LOCAL_OFFSET_HOURS} hours")
    return func.to_char(column.op("AT TIME ZONE")(literal_column("'Asia/Ho_Chi_Minh'")), "YYYY-MM")


async def ensure_calendar(session: AsyncSession, is_working: Callable[[date], bool], first: date,
                          last: date) -> int:
    """(Re)write the working-day calendar from ``first`` to ``last`` when it differs from what
    ``is_working`` (the router's calendar: weekends, public and configured days off, make-up
    working days) says. Returns the rows written (0 when already right)."""
    wanted: list[tuple[str, int]] = []
    index, day = 0, first
    while day <= last:
        if is_working(day):
            index += 1
        wanted.append((day.isoformat(), index))
        day += timedelta(days=1)
    have = dict((await session.execute(select(WorkCalendar.day, WorkCalendar.working_index))).all())
    if have == dict(wanted):
        return 0
    await session.execute(WorkCalendar.__table__.delete())
    await session.execute(WorkCalendar.__table__.insert(),
                          [{"day": d, "working_index": i} for d, i in wanted])
    return len(wanted)


def weekdays_except(days_off: Iterable[str | date]) -> Callable[[date], bool]:
    """Monday–Friday minus ``days_off``: a plain calendar for tests and tools."""
    skip = {d if isinstance(d, date) else date.fromisoformat(d) for d in days_off}
    return lambda day: day.weekday() < 5 and day not in skip


def _since(query: Any, since: datetime | None) -> Any:
    return query.where(Report.created_at >= since) if since is not None else query


async def agency_counts(session: AsyncSession, now: datetime,
                        since: datetime | None = None) -> dict[str, dict[str, Any]]:
    resolved = Report.status.in_(RESOLVED) & Report.resolved_at.is_not(None)
    is_open = Report.status.in_(OPEN_AT_AGENCY)
    query = _since(select(
        Report.agency_id,
        func.count(),
        func.sum(case((is_open, 1), else_=0)),
        func.sum(case((and_(is_open, Report.due_at < now), 1), else_=0)),
        func.sum(case((resolved, 1), else_=0)),
        func.sum(case((and_(resolved, Report.due_at.is_not(None), Report.resolved_at <= Report.due_at),
                       1), else_=0)),
        func.avg(Report.rating_score),
        func.count(Report.rating_score),
    ).where(Report.agency_id.is_not(None)).group_by(Report.agency_id), since)
    out = {}
    for agency, received, open_, overdue, done, on_time, rating, ratings in (await session.execute(query)).all():
        out[agency] = {"received": int(received), "open": int(open_ or 0), "overdue": int(overdue or 0),
                       "resolved": int(done or 0), "on_time": int(on_time or 0),
                       "rating": float(rating) if rating is not None else None, "ratings": int(ratings)}
    return out


async def median_working_days(session: AsyncSession, since: datetime | None = None,
                              agency_id: str | None = None) -> dict[str, float]:
    """Median working days from forwarding to resolution per agency (window functions over the
    calendar join, on SQLite ≥ 3.25 and PostgreSQL)."""
    dialect = _dialect(session)
    forwarded = WorkCalendar.__table__.alias("cf")
    resolved = WorkCalendar.__table__.alias("cr")
    days = (resolved.c.working_index - forwarded.c.working_index).label("wd")
    base = (select(Report.agency_id.label("agency"), days).select_from(Report)
            .join(forwarded, forwarded.c.day == local_day(Report.forwarded_at, dialect))
            .join(resolved, resolved.c.day == local_day(Report.resolved_at, dialect))
            .where(Report.agency_id.is_not(None), Report.status.in_(RESOLVED),
                   Report.resolved_at.is_not(None), Report.forwarded_at.is_not(None)))
    if agency_id is not None:
        base = base.where(Report.agency_id == agency_id)
    base = _since(base, since).subquery("d")
    ranked = select(
        base.c.agency, base.c.wd,
        func.row_number().over(partition_by=base.c.agency, order_by=base.c.wd).label("rn"),
        func.count().over(partition_by=base.c.agency).label("n")).subquery("o")
    middle = (select(ranked.c.agency, func.avg(ranked.c.wd))
              .where(ranked.c.rn.in_([(ranked.c.n + 1) / 2, (ranked.c.n + 2) / 2]))
              .group_by(ranked.c.agency))
    return {a: round(float(v), 1) for a, v in (await session.execute(middle)).all()}


async def totals(session: AsyncSession, since: datetime | None = None) -> dict[str, Any]:
    query = _since(select(
        func.count(),
        func.sum(case((and_(Report.agency_id.is_(None), Report.status.in_(TRIAGE)), 1), else_=0)),
        func.sum(case((Report.status.in_(RESOLVED), 1), else_=0)),
        func.count(Report.rating_score), func.avg(Report.rating_score)), since)
    n, triage, done, ratings, rating = (await session.execute(query)).one()
    return {"reports": int(n), "in_triage": int(triage or 0), "resolved": int(done or 0),
            "ratings": int(ratings), "satisfaction": round(float(rating), 2) if rating is not None else None}


async def monthly_trend(session: AsyncSession, agency_id: str, months: int, now: datetime) -> list[dict[str, Any]]:
    """The last ``months`` local months: received, resolved, resolved on time, average rating."""
    dialect = _dialect(session)
    local_now = now.astimezone(UTC) + timedelta(hours=LOCAL_OFFSET_HOURS)
    y, m = local_now.year, local_now.month
    keys = []
    for _ in range(months):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    keys.reverse()
    first = datetime(int(keys[0][:4]), int(keys[0][5:]), 1, tzinfo=UTC) - timedelta(hours=LOCAL_OFFSET_HOURS)
    got = {k: {"month": k, "received": 0, "resolved": 0, "on_time": 0, "rating": None} for k in keys}
    month = local_month(Report.created_at, dialect)
    rows = await session.execute(select(month, func.count()).where(
        Report.agency_id == agency_id, Report.created_at >= first).group_by(month))
    for key, n in rows.all():
        if key in got:
            got[key]["received"] = int(n)
    month = local_month(Report.resolved_at, dialect)
    on_time = case((and_(Report.due_at.is_not(None), Report.resolved_at <= Report.due_at), 1), else_=0)
    rows = await session.execute(select(month, func.count(), func.sum(on_time), func.avg(Report.rating_score))
                                 .where(Report.agency_id == agency_id, Report.status.in_(RESOLVED),
                                        Report.resolved_at >= first).group_by(month))
    for key, n, ok, rating in rows.all():
        if key in got:
            got[key].update(resolved=int(n), on_time=int(ok or 0),
                            rating=round(float(rating), 2) if rating is not None else None)
    return list(got.values())


async def week_counts(session: AsyncSession, since: datetime) -> dict[str, int]:
    """Public reports received and resolved since ``since`` (the home page's week)."""
    from store.public_reports import public_conditions

    received = (await session.execute(select(func.count()).select_from(Report).where(
        *public_conditions(), Report.created_at >= since))).scalar_one()
    resolved = (await session.execute(select(func.count()).select_from(Report).where(
        *public_conditions(), Report.status.in_(RESOLVED), Report.resolved_at >= since))).scalar_one()
    return {"received": int(received), "resolved": int(resolved)}




