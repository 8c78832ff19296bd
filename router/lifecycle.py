"""Report status lifecycle: legal transitions, events, timestamps, citizen notifications."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OutboxMessage, Report, ReportEvent, utcnow
from store.reports import record_event

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


def record(session: AsyncSession, report: Report, *, actor: str, kind: str,
           note: str | None = None, status_from: str | None = None, status_to: str | None = None,
           public: bool = True) -> ReportEvent:
    """Record a report event. An agency's reply to the citizen (kind "reply") is public by rule
    — the citizen reads it on /r/{code}, Open311 clients in status_notes — and is stored with
    phones and emails masked (public views also mask the citizen's name when they render); being
    public, it moves the report's update time, whoever sends it (console, API, Open311)."""
    if kind == "reply" and note:
        from normalizer.phones import mask_personal
        from normalizer.text import nfc

        public, note = True, mask_personal(nfc(note))
        report.updated_at = utcnow()
    return record_event(session, report, actor=actor, kind=kind, note=note,
                        status_from=status_from, status_to=status_to, public=public)


class IllegalTransition(Exception):
    def __init__(self, current: str, wanted: str, allowed: list[str] | None = None) -> None:
        self.current, self.wanted = current, wanted
        self.allowed = list(TRANSITIONS.get(current, ())) if allowed is None else allowed
        super().__init__(f"cannot go from {current} to {wanted}; allowed: {self.allowed}")


class StatusRefused(Exception):
    """A legal transition the caller may not make, or one missing what it needs (a note...)."""

    def __init__(self, message: str, status: int = 422, allowed: list[str] | None = None, *,
                 reason: str | None = None, original: str | None = None) -> None:
        super().__init__(message)
        self.status, self.allowed = status, allowed
        # Why, for callers that word it themselves (the console): for a merge, "duplicate_of_self",
        # "duplicate_of_unknown" or "duplicate_of_duplicate" (``original`` is then the report
        # the asked-for one is itself a duplicate of).
        self.reason, self.original = reason, original


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
    if old == "duplicate":
        # Reopened: no longer a duplicate of anything (the merge event stays in the timeline).
        report.duplicate_of = None
    record(session, report, actor=actor, kind="status", note=note, status_from=old, status_to=status)
    return old


async def duplicate_target(session: AsyncSession, report: Report, code: str | None) -> Report:
    """The report ``report`` may be merged into as a duplicate: another report, existing, and not
    itself a duplicate — so a merge never makes a chain or a cycle (A into B, then B into A would
    leave the complaint in no queue). Raises StatusRefused otherwise. On PostgreSQL the target's
    row is locked, so two opposite merges made at once cannot both pass this check."""
    from sqlalchemy import select

    code = (code or "").strip()
    if not code:
        raise StatusRefused("duplicate_of must be the code of another report",
                            reason="duplicate_of_unknown")
    if code == report.code:
        raise StatusRefused("duplicate_of must be the code of another report, not its own",
                            reason="duplicate_of_self")
    query = select(Report).where(Report.code == code)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    original = (await session.execute(query)).scalar_one_or_none()
    if original is None:
        raise StatusRefused(f"no report has the code {code}", reason="duplicate_of_unknown")
    if original.status == "duplicate":
        hint = f"; merge into {original.duplicate_of}" if original.duplicate_of else ""
        raise StatusRefused(f"{original.code} is itself a duplicate{hint}", 409,
                            reason="duplicate_of_duplicate", original=original.duplicate_of)
    return original


async def notify_citizen(session: AsyncSession, ctx: RouterContext, report: Report, template: str,
                         **fields: object) -> OutboxMessage | None:
    """Queue a citizen message on the report's origin channel (same transaction)."""
    from router.notify import enqueue_citizen_message

    return await enqueue_citizen_message(session, ctx, report, template, **fields)


async def _repoint_duplicates(session: AsyncSession, report: Report, original: Report, *,
                              actor: str) -> None:
    """``report`` became a duplicate of ``original``: the reports merged into it follow it there
    (no chain; their citizens hear the original's result, router.notify's "me too")."""
    from sqlalchemy import select

    merged = (await session.execute(select(Report).where(
        Report.duplicate_of == report.code, Report.status == "duplicate",
        Report.id != report.id))).scalars().all()
    for dup in merged:
        dup.duplicate_of = original.code
        record(session, dup, actor=actor, kind="note", public=False,
               note=f"{report.code} đã được gộp vào {original.code}: phản ánh này theo vào {original.code}")


async def change_status(ctx: RouterContext, session: AsyncSession, report: Report, status: str, *, actor: str,
                        center: bool, note: str | None = None,
                        duplicate_of: str | None = None) -> str:
    """A status change asked for through the API: checked against the lifecycle and the actor's
    rights, recorded, and told to the citizen on the origin channel (same transaction)."""
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
    original = (await duplicate_target(session, report, duplicate_of)
                if status == "duplicate" else None)
    agency_before = report.agency_id
    old = set_status(session, report, status, actor=actor, note=note)
    if original is not None:
        report.duplicate_of = original.code
        await _repoint_duplicates(session, report, original, actor=actor)
        # the original's staff timeline says what was merged into it (its page lists them too)
        record(session, original, actor=actor, kind="note", public=False,
               note=f"{report.code} được gộp vào phản ánh này")
    if status == "in_progress" and old == "resolved":
        report.resolved_at = None
    if status == "returned" and agency_before:
        # The rules will not send it back there (router.assign.reroute); the center still can.
        returned_by = set((report.extra or {}).get("returned_by") or ()) | {agency_before}
        report.extra = {**(report.extra or {}), "returned_by": sorted(returned_by)}
    if status in ("returned", "triage", "rejected", "duplicate"):
        # Back with the center: off the agency's queue and clock.
        report.agency_id = None
        report.due_at = report.reminded_at = report.escalated_at = None
    template = STATUS_TEMPLATES.get(status)
    if template:
        fields: dict[str, object] = {"note": note or ""}
        if status == "in_progress" and note:  # what the agency is doing, in its words
            from router import templates

            fields["note_line"] = templates.render("note_line", note=note)
        if status == "duplicate":
            # The page to follow is the surviving report's: this one will not change any more.
            from router.messages import status_url

            fields["duplicate_of"] = report.duplicate_of
            fields["status_url"] = status_url(ctx, report.duplicate_of)
        if status == "resolved":
            # A one-time link for citizens who cannot answer with a digit (SMS, hotline, web).
            from router.rating import issue_rating_token, rating_url

            fields["rate_url"] = rating_url(ctx, report.code or "",
                                            await issue_rating_token(session, report))
        if agency_before and status in ("in_progress", "resolved"):
            from router.notify import agency_name

            fields["agency"] = await agency_name(session, agency_before)
        await notify_citizen(session, ctx, report, template, **fields)
    if status == "returned":
        await alert_center_of_return(ctx, session, report, agency_before, note or "")
    return old


async def alert_center_of_return(ctx: RouterContext, session: AsyncSession, report: Report,
                                 agency_id: str | None, note: str) -> None:
    """An agency sent a report back (not theirs): the center must route it again. An alert
    (metric and log), a note on the timeline and, when ``routing.center_email`` is set, a mail."""
    import logging

    from normalizer.schema import OutboundMessage
    from router import templates
    from router.messages import agency_name, outbound_row, template_fields

    logging.getLogger("hub.router").warning("ALERT: report %s returned by %s", report.code,
                                            agency_id)
    ctx.metrics.alerts.labels("router", "returned").inc()
    fields = await template_fields(session, ctx, report)
    fields.update(agency=await agency_name(session, agency_id, ctx), note=note,
                  console_url=f"{ctx.public_base_url.rstrip('/')}/console/reports/{report.code}")
    record(session, report, actor="system", kind="note", public=False,
           note=templates.render("center_returned", **fields))
    center = ctx.routing.center_email
    if center:
        message = OutboundMessage(
            text=templates.render("center_returned", **fields),
            subject=templates.subject("center_returned", **fields), report_code=report.code,
            template="center_returned",
            template_data={"event": "report.returned", "agency": "center"})
        outbound_row(session, channel="agency_email", address=center, report=report,
                     template="center_returned", message=message, purpose="agency_email")
        ctx.wake_outbox()
