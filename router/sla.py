"""SLA due dates in working days: weekends and configured public holidays are skipped."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta


def add_working_days(start: datetime, days: int, holidays: Iterable[str | date] = ()) -> datetime:
    """The moment ``days`` working days after ``start`` (same time of day)."""
    skip = {d if isinstance(d, date) else date.fromisoformat(d) for d in holidays}
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current.date() not in skip:
            remaining -= 1
    return current
