"""SLA due dates in working days: weekends and public holidays are skipped, make-up working
days (a Saturday worked in exchange for a bridge day off) count.

The public holidays come from the ``holidays`` library (Vietnam: Tết by the lunar calendar, Hùng
Kings' day, 30/4, 1/5, 2/9 and the substitute days off the government announces), so nobody
types them in each year. What the library does not know goes in the settings: make-up working
days (``routing.workdays``) and extra days off (``routing.holidays``, e.g. a provincial
decision). Days are counted on the province's local calendar (Asia/Ho_Chi_Minh by default): a
report forwarded at 23:00 UTC on a Friday is forwarded on a Saturday morning in Huế. Pure
functions; the library's tables are computed once per year and cached.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def _dates(values: Iterable[str | date]) -> frozenset[date]:
    return frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in values)


@lru_cache(maxsize=64)
def _library_year(country: str, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, years=[year]).keys())


class WorkCalendar:
    """Working days: Monday–Friday, minus public holidays (``country`` from the holidays
    library, empty for none) and ``days_off``, plus ``workdays`` (make-up days, even on a
    weekend; a make-up day wins over everything else)."""

    def __init__(self, days_off: Iterable[str | date] = (), workdays: Iterable[str | date] = (),
                 country: str = "") -> None:
        self.days_off = _dates(days_off)
        self.workdays = _dates(workdays)
        self.country = country
        self._shifted: dict[tuple[date, int], date] = {}

    def public_holidays(self, year: int) -> frozenset[date]:
        return _library_year(self.country, year) if self.country else frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day.weekday() >= 5 or day in self.days_off:
            return False
        return day not in self.public_holidays(day.year)

    def shift(self, day: date, days: int) -> date:
        """The day ``days`` working days after ``day`` (before it when negative). Remembered:
        the router asks this for every report, mostly for today and the same few counts."""
        key = (day, days)
        found = self._shifted.get(key)
        if found is None:
            step = timedelta(days=1 if days >= 0 else -1)
            remaining, found = abs(days), day
            while remaining > 0:
                found += step
                if self.is_working_day(found):
                    remaining -= 1
            if len(self._shifted) >= 4096:
                self._shifted.clear()
            self._shifted[key] = found
        return found

    def days_off_in(self, first: date, last: date) -> list[date]:
        """Weekdays that are not working days, and worked weekend days are left out: what a
        calendar table (store.public_stats) needs to count working days."""
        out, day = [], first
        while day <= last:
            if day.weekday() < 5 and not self.is_working_day(day):
                out.append(day)
            day += timedelta(days=1)
        return out


@lru_cache(maxsize=32)
def work_calendar(days_off: tuple[str, ...] = (), workdays: tuple[str, ...] = (),
                  country: str = "") -> WorkCalendar:
    """One calendar per distinct settings (the router asks for it on every routing)."""
    return WorkCalendar(days_off, workdays, country)


Calendar = WorkCalendar | Iterable[str | date]


def _calendar(calendar: Calendar) -> WorkCalendar:
    return calendar if isinstance(calendar, WorkCalendar) else WorkCalendar(calendar)


def is_working_day(day: date, holidays: Calendar = ()) -> bool:
    return _calendar(holidays).is_working_day(day)


def add_working_days(start: datetime, days: int, holidays: Calendar = (),
                     tz: str = DEFAULT_TZ) -> datetime:
    """The moment ``days`` working days after ``start`` (same local time of day); negative
    ``days`` counts backwards. ``holidays``: a WorkCalendar, or ISO dates off (weekends are
    always off then). The result has ``start``'s time zone (UTC if it had none)."""
    calendar = _calendar(holidays)
    zone = ZoneInfo(tz)
    aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    current = calendar.shift(local.date(), days)
    result = datetime.combine(current, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return result.astimezone(aware.tzinfo)


def reminder_at(due_at: datetime, days_before: int, holidays: Calendar = (),
                tz: str = DEFAULT_TZ) -> datetime:
    """When the agency is reminded: ``days_before`` working days before the due moment."""
    return add_working_days(due_at, -days_before, holidays, tz) if days_before > 0 else due_at


def sla_days_for(category: str | None, defaults: dict[str, int],
                 agency_days: dict[str, int] | None = None) -> int:
    """Working days allowed: the agency's own figure for the category, else the agency's
    "default", else the province's figure for the category, else its "other"."""
    category = category or "other"
    agency_days = agency_days or {}
    for table, key in ((agency_days, category), (agency_days, "default"), (defaults, category)):
        if key in table:
            return table[key]
    return defaults.get("other", 7)


def is_overdue(due_at: datetime | None, now: datetime, status: str) -> bool:
    return due_at is not None and status in ("forwarded", "in_progress") and now > due_at
