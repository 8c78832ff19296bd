"""Report status lifecycle: legal transitions, events, timestamps, citizen notifications."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Report, ReportEvent, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("triage", "forwarded", "rejected", "duplicate"),
    "triage": ("forwarded", "rejected", "duplicate"),
    "forwarded": ("in_progress", "resolved", "returned", "rejected", "duplicate", "forwarded"),
    "in_progress": ("resolved", "returned", "rejected"),
    "returned": ("triage", "forwarded", "rejected", "duplicate"),
    "resolved": ("closed", "in_progress"),
    "closed": (),
    "rejected": ("triage",),
    "duplicate": ("triage",),
}
OPEN_STATUSES = ("received", "triage", "forwarded", "in_progress", "returned")
# Statuses an agency may set; the rest are the center's.
AGENCY_STATUSES = ("in_progress", "resolved", "returned")


class IllegalTransition(Exception):
    def __init__(self, current: str, wanted: str) -> None:
        self.current, self.wanted = current, wanted
        self.allowed = list(TRANSITIONS.get(current, ()))
        super().__init__(f"cannot go from {current} to {wanted}; allowed: {self.allowed}")


def record(session: AsyncSession, report: Report, *, actor: str, kind: str, note: str | None = None,
           status_from: str | None = None, status_to: str | None = None,
           public: bool = True) -> ReportEvent:
    event = ReportEvent(report_id=report.id, at=utcnow(), actor=actor, kind=kind, note=note,
                        status_from=status_from, status_to=status_to, public=public)
    session.add(event)
    return event


def set_status(session: AsyncSession, report: Report, status: str, *, actor: str,
               note: str | None = None) -> str:
    """Move a report to ``status`` (validated) and record the event. Returns the old status."""
    old = report.status
    if status not in TRANSITIONS.get(old, ()):
        raise IllegalTransition(old, status)
    now = utcnow()
    report.status = status
    report.updated_at = now
    if status == "forwarded":
        report.forwarded_at = now
    if status == "resolved":
        report.resolved_at = now
    record(session, report, actor=actor, kind="status", note=note, status_from=old, status_to=status)
    return old


async def notify_citizen(session: AsyncSession, hub: Hub, report: Report, template: str,
                         **fields: object) -> None:
    """Queue a citizen message on the report's origin channel (same transaction)."""
    from router.notify import enqueue_citizen_message

    await enqueue_citizen_message(session, hub, report, template, **fields)
