"""SLA due dates in working days on the Huế calendar (pure)."""
from datetime import UTC, datetime, timedelta, timezone

import pytest

from router.sla import add_working_days, is_overdue, reminder_at

HUE = timezone(timedelta(hours=7))
HOLIDAYS = ["2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02",
            "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"]


@pytest.mark.parametrize(("start", "days", "due"), [
    # Wednesday + 3 over 30/4 and 1/5 (Thu, Fri) and the weekend → next Wednesday
    ("2026-04-29T09:00", 3, "2026-05-06T09:00"),
    # Friday + 1 → Monday
    ("2026-01-02T15:30", 1, "2026-01-05T15:30"),
    # Friday 13/2 + 1 across the Tết week (16–20/2) and two weekends → Monday 23/2
    ("2026-02-13T08:00", 1, "2026-02-23T08:00"),
    # Saturday + 1 → Monday
    ("2026-01-03T10:00", 1, "2026-01-05T10:00"),
    # National day (1–2/9, Tue–Wed): Monday 31/8 + 2 → Friday 4/9
    ("2026-08-31T10:00", 2, "2026-09-04T10:00"),
    ("2026-08-31T10:00", 0, "2026-08-31T10:00"),
])
def test_working_days_skip_weekends_and_holidays(start, days, due):
    begin = datetime.fromisoformat(start).replace(tzinfo=HUE)
    assert add_working_days(begin, days, HOLIDAYS) == datetime.fromisoformat(due).replace(tzinfo=HUE)


def test_days_are_counted_on_the_local_calendar():
    # 18:00 UTC on Friday is 01:00 Saturday in Huế: one working day later is Monday 01:00 there,
    # not Monday 18:00 UTC.
    start = datetime(2026, 1, 2, 18, 0, tzinfo=UTC)
    due = add_working_days(start, 1, [])
    assert due.tzinfo == UTC
    assert due == datetime(2026, 1, 5, 1, 0, tzinfo=HUE).astimezone(UTC)
    assert add_working_days(start, 1, [], tz="UTC") == datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def test_reminder_is_working_days_before_the_due_moment():
    due = datetime(2026, 5, 4, 9, 0, tzinfo=HUE)  # Monday after 30/4–1/5
    assert reminder_at(due, 1, HOLIDAYS) == datetime(2026, 4, 29, 9, 0, tzinfo=HUE)
    assert reminder_at(due, 0, HOLIDAYS) == due


def test_overdue_only_while_the_agency_holds_it():
    due = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    later = due + timedelta(seconds=1)
    assert is_overdue(due, later, "forwarded") and is_overdue(due, later, "in_progress")
    assert not is_overdue(due, due, "forwarded")
    assert not is_overdue(due, later, "resolved") and not is_overdue(None, later, "forwarded")
