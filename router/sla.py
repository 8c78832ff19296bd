"""SLA due dates in working days: weekends and configured public holidays are skipped.

Days are counted on the province's local calendar (Asia/Ho_Chi_Minh by default): a report
forwarded at 23:00 UTC on a Friday is forwarded on a Saturday morning in Huế. Pure functions.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def _holiday_set(holidays: Iterable[str | date]) -> set[date]:
    return {d if isinstance(d, date) else date.fromisoformat(d) for d in holidays}


def is_working_day(day: date, holidays: Iterable[str | date] = ()) -> bool:
    return day.weekday() < 5 and day not in _holiday_set(holidays)


def add_working_days(start: datetime, days: int, holidays: Iterable[str | date] = (),
                     tz: str = DEFAULT_TZ) -> datetime:
    """The moment ``days`` working days after ``start`` (same local time of day); negative
    ``days`` counts backwards. The result has ``start``'s time zone (UTC if it had none)."""
    skip = _holiday_set(holidays)
    zone = ZoneInfo(tz)
    aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    step = timedelta(days=1 if days >= 0 else -1)
    remaining = abs(days)
    current = local.date()
    while remaining > 0:
        current += step
        if current.weekday() < 5 and current not in skip:
            remaining -= 1
    result = datetime.combine(current, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return result.astimezone(aware.tzinfo)


def reminder_at(due_at: datetime, days_before: int, holidays: Iterable[str | date] = (),
                tz: str = DEFAULT_TZ) -> datetime:
    """When the agency is reminded: ``days_before`` working days before the due moment."""
    return add_working_days(due_at, -days_before, holidays, tz) if days_before > 0 else due_at


def is_overdue(due_at: datetime | None, now: datetime, status: str) -> bool:
    return due_at is not None and status in ("forwarded", "in_progress") and now > due_at
