"""Report status lifecycle: legal transitions, events, timestamps, citizen notifications."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OutboxMessage, Report, utcnow
from store.reports import record_event as record

if TYPE_CHECKING:
    from router.context import RouterContext

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
# Statuses an agency may set; the rest are the center's.
AGENCY_STATUSES = ("in_progress", "resolved", "returned")


# Statuses that need a note: the result, the reason for refusing, why it is not the agency's.
NOTE_REQUIRED = ("resolved", "rejected", "returned")
# What the citizen hears on each status change (closed and triage are silent).
STATUS_TEMPLATES = {"forwarded": "forwarded", "in_progress": "in_progress", "resolved": "resolved",
                    "rejected": "rejected", "returned": "returned", "duplicate": "duplicate"}


class IllegalTransition(Exception):
    def __init__(self, current: str, wanted: str, allowed: list[str] | None = None) -> None:
        self.current, self.wanted = current, wanted
        self.allowed = list(TRANSITIONS.get(current, ())) if allowed is None else allowed
        super().__init__(f"cannot go from {current} to {wanted}; allowed: {self.allowed}")


class StatusRefused(Exception):
    """A legal transition the caller may not make, or one missing what it needs (a note...)."""

    def __init__(self, message: str, status: int = 422, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.allowed = status, allowed


def allowed_for(current: str, *, center: bool) -> list[str]:
    """The statuses this actor may set from ``current`` through the status API ("forwarded"
    goes through routing, which needs an agency)."""
    return [s for s in TRANSITIONS.get(current, ())
            if s != "forwarded" and (center or s in AGENCY_STATUSES)]


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


async def notify_citizen(session: AsyncSession, ctx: RouterContext, report: Report, template: str,
                         **fields: object) -> OutboxMessage | None:
    """Queue a citizen message on the report's origin channel (same transaction)."""
    from router.notify import enqueue_citizen_message

    return await enqueue_citizen_message(session, ctx, report, template, **fields)


async def change_status(ctx: RouterContext, session: AsyncSession, report: Report, status: str, *, actor: str,
                        center: bool, note: str | None = None,
                        duplicate_of: str | None = None) -> str:
    """A status change asked for through the API: checked against the lifecycle and the actor's
    rights, recorded, and told to the citizen on the origin channel (same transaction)."""
    from store.reports import report_by_code

    note = (note or "").strip() or None
    allowed = allowed_for(report.status, center=center)
    if status not in TRANSITIONS.get(report.status, ()):
        raise IllegalTransition(report.status, status, allowed)
    if status == "forwarded":
        raise StatusRefused("use POST /api/v1/reports/{code}/route to forward a report", 409, allowed)
    if status not in allowed:
        raise StatusRefused(f"only the center can set {status}", 403, allowed)
    if status in NOTE_REQUIRED and not note:
        raise StatusRefused(f"status {status} needs a note (result or reason)")
    if status == "duplicate":
        original = await report_by_code(session, duplicate_of or "") if duplicate_of else None
        if original is None or original.id == report.id:
            raise StatusRefused("duplicate_of must be the code of another report")
        report.duplicate_of = original.code
    agency_before = report.agency_id
    old = set_status(session, report, status, actor=actor, note=note)
    if status == "in_progress" and old == "resolved":
        report.resolved_at = None
    if status in ("returned", "triage", "rejected", "duplicate"):
        # Back with the center: off the agency's queue and clock.
        report.agency_id = None
        report.due_at = report.reminded_at = report.escalated_at = None
    template = STATUS_TEMPLATES.get(status)
    if template:
        fields: dict[str, object] = {"note": note or ""}
        if status == "duplicate":
            fields["duplicate_of"] = report.duplicate_of
        if agency_before and status in ("in_progress", "resolved"):
            from router.notify import agency_name

            fields["agency"] = await agency_name(session, agency_before)
        await notify_citizen(session, ctx, report, template, **fields)
    return old
