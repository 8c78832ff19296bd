"""The deadline order lists open reports by due date first, then the rest (resolved, closed…);
the center's default order puts returned reports (back with the center) with triage, first."""
from __future__ import annotations

from datetime import timedelta

from store.models import utcnow
from store.report_list import QueueFilter, QueueScope
from tests.console.conftest import ConsoleDB
from tests.console.test_queue import _codes


async def test_due_order_lists_open_reports_first(console_db: ConsoleDB) -> None:
    now = utcnow()
    resolved = await console_db.add_report(status="resolved", due_at=now - timedelta(days=9))
    closed = await console_db.add_report(status="closed", due_at=now - timedelta(days=8))
    late = await console_db.add_report(status="forwarded", due_at=now - timedelta(days=1))
    soon = await console_db.add_report(status="in_progress", due_at=now + timedelta(days=2))
    returned = await console_db.add_report(status="returned", agency_id=None)
    order = await _codes(console_db, QueueFilter(sort="due"))
    assert order == [late.code, soon.code, returned.code, resolved.code, closed.code]
    # The same order for a word search (merged rows sorted in Python, too).
    assert await _codes(console_db, QueueFilter(sort="due", q="phản ánh")) == order


async def test_returned_reports_come_first_with_triage(console_db: ConsoleDB) -> None:
    base = utcnow()
    forwarded = await console_db.add_report(status="forwarded", created_at=base)
    triage = await console_db.add_report(status="triage", created_at=base - timedelta(minutes=5))
    returned = await console_db.add_report(status="returned", created_at=base - timedelta(minutes=9))
    scope = QueueScope(triage_first=True)
    assert await _codes(console_db, QueueFilter(), scope) == [triage.code, returned.code, forwarded.code]
    assert await _codes(console_db, QueueFilter(), scope, page=2, page_size=2) == [forwarded.code]
