"""Periodic router work: SLA reminders and escalations (leader only) and the report gauges.

Reminder: ``routing.reminder_days_before`` working days before the due moment, once, to the
agency's email/webhook (and always as a report event the queue API shows). Escalation: once the
due moment has passed, once, to the center (``routing.center_email`` when set, the report event
and the ``hub_reports_overdue`` gauge otherwise). Second level: a report still with the agency
``routing.director_after_days`` working days after its due moment goes, once, to the center's
director (``routing.director_email``; the report event and the alert counter always). All are
marked on the report in the same transaction as their outbox rows, so a crash never sends them
twice. Working days are counted on ``routing.calendar`` (router.sla.WorkCalendar).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_

from router import lifecycle
from router.delivery import agency_settings, enqueue_agency_delivery
from router.notify import agency_name, outbound_row
from router.sla import add_working_days, reminder_at
from router.templates import render, subject
from store.models import Report, utcnow

if TYPE_CHECKING:
    from router.context import RouterContext

log = logging.getLogger("hub.router.sla")
SLA_STATUSES = ("forwarded", "in_progress")
BATCH = 500


async def check_deadlines(ctx: RouterContext) -> dict[str, int]:
    """One pass: remind and escalate what is due, in transactions of BATCH reports, until
    nothing is left. Returns counts (for logs and tests)."""
    counts = {"reminded": 0, "escalated": 0, "director": 0}
    after = None
    while True:
        after, handled = await _check_batch(ctx, counts, after)
        if handled < BATCH:
            break
    if ctx.routing.director_after_days:
        after = None
        while True:
            after, handled = await _director_batch(ctx, counts, after)
            if handled < BATCH:
                break
    if any(counts.values()):
        log.info("SLA pass: %(reminded)d reminded, %(escalated)d escalated, "
                 "%(director)d to the director", counts)
    return counts


async def _check_batch(ctx: RouterContext, counts: dict[str, int],
                       after: tuple[object, int] | None) -> tuple[tuple[object, int] | None, int]:
    routing = ctx.routing
    now = utcnow()
    zone = ZoneInfo(routing.timezone)
    # Calendar lookahead wide enough for any run of weekends and holidays before the due date.
    horizon = now + timedelta(days=routing.reminder_days_before * 3 + 14)
    async with ctx.sessions() as session, session.begin():
        query = select(Report).where(Report.status.in_(SLA_STATUSES), Report.due_at.is_not(None),
                                     Report.due_at <= horizon, Report.escalated_at.is_(None))
        if after is not None:  # keyset: reports already looked at (e.g. not yet due) stay behind
            query = query.where(tuple_(Report.due_at, Report.id) > tuple_(*after))
        reports = (await session.execute(
            query.order_by(Report.due_at, Report.id).limit(BATCH))).scalars().all()
        for report in reports:
            assert report.due_at is not None
            due_local = report.due_at.astimezone(zone).strftime("%d/%m/%Y %H:%M")
            if now > report.due_at:
                report.escalated_at = now
                await _escalate(ctx, session, report, due_local)
                counts["escalated"] += 1
            elif report.reminded_at is None and now >= reminder_at(
                    report.due_at, routing.reminder_days_before, routing.calendar, routing.timezone):
                report.reminded_at = now
                lifecycle.record(session, report, actor="system", kind="reminder", public=False,
                                 note=f"nhắc hạn xử lý {due_local}")
                await enqueue_agency_delivery(ctx, session, report, event="report.reminder",
                                              template="agency_reminder", due=due_local)
                counts["reminded"] += 1
        last = (reports[-1].due_at, reports[-1].id) if reports else after
    return last, len(reports)


async def _director_batch(ctx: RouterContext, counts: dict[str, int],
                          after: tuple[object, int] | None) -> tuple[tuple[object, int] | None, int]:
    """Escalated reports still with their agency ``director_after_days`` working days after
    the due moment (calendar days are a lower bound, so the query can narrow by them)."""
    routing = ctx.routing
    now = utcnow()
    zone = ZoneInfo(routing.timezone)
    days = routing.director_after_days
    async with ctx.sessions() as session, session.begin():
        query = select(Report).where(Report.status.in_(SLA_STATUSES), Report.due_at.is_not(None),
                                     Report.escalated_at.is_not(None),
                                     Report.due_at <= now - timedelta(days=days))
        if after is not None:
            query = query.where(tuple_(Report.due_at, Report.id) > tuple_(*after))
        reports = (await session.execute(
            query.order_by(Report.due_at, Report.id).limit(BATCH))).scalars().all()
        for report in reports:
            assert report.due_at is not None
            if (report.extra or {}).get("director_escalated_at"):
                continue
            if now < add_working_days(report.due_at, days, routing.calendar, routing.timezone):
                continue
            report.extra = {**(report.extra or {}), "director_escalated_at": now.isoformat()}
            await _escalate_to_director(ctx, session, report,
                                        report.due_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"))
            counts["director"] += 1
        last = (reports[-1].due_at, reports[-1].id) if reports else after
    return last, len(reports)


async def _escalate_to_director(ctx: RouterContext, session, report: Report,  # noqa: ANN001
                                due_local: str) -> None:
    agency = await agency_name(session, report.agency_id)
    days = ctx.routing.director_after_days
    lifecycle.record(session, report, actor="system", kind="escalation", public=False,
                     note=f"quá hạn {days} ngày làm việc; báo Giám đốc Trung tâm")
    ctx.metrics.alerts.labels("router", "overdue_director").inc()
    log.warning("report %s still overdue at agency %s after %d working days: director notified",
                report.code, report.agency_id, days)
    if ctx.routing.director_email:
        from normalizer.schema import OutboundMessage

        fields = {"code": report.code, "agency": agency, "due": due_local, "days": days}
        message = OutboundMessage(text=render("director_escalation", **fields),
                                  subject=subject("director_escalation", **fields),
                                  report_code=report.code, template="director_escalation",
                                  template_data={"event": "report.overdue_director",
                                                 "agency": "center"})
        outbound_row(session, channel="agency_email", address=ctx.routing.director_email,
                     report=report, template="director_escalation", message=message,
                     purpose="agency_email")
        ctx.wake_outbox()


async def _escalate(ctx: RouterContext, session, report: Report, due_local: str) -> None:  # noqa: ANN001
    agency = await agency_name(session, report.agency_id)
    lifecycle.record(session, report, actor="system", kind="escalation", public=False,
                     note=f"quá hạn xử lý từ {due_local}; báo Trung tâm")
    ctx.metrics.alerts.labels("router", "overdue").inc()
    log.info("report %s overdue at agency %s", report.code, report.agency_id)
    center = ctx.routing.center_email
    if center:
        from normalizer.schema import OutboundMessage

        fields = {"code": report.code, "agency": agency, "due": due_local}
        message = OutboundMessage(text=render("center_escalation", **fields),
                                  subject=subject("center_escalation", **fields),
                                  report_code=report.code, template="center_escalation",
                                  template_data={"event": "report.overdue", "agency": "center"})
        outbound_row(session, channel="agency_email", address=center, report=report,
                     template="center_escalation", message=message, purpose="agency_email")
        ctx.wake_outbox()
    if agency_settings(ctx, report.agency_id) is not None:
        await enqueue_agency_delivery(ctx, session, report, event="report.overdue",
                                      template="center_escalation", due=due_local)


async def refresh_gauges(ctx: RouterContext) -> None:
    """Reports per agency and status, and overdue counts per agency (whole database)."""
    now = utcnow()
    async with ctx.sessions() as session:
        by_status = (await session.execute(
            select(Report.agency_id, Report.status, func.count()).where(Report.code.is_not(None))
            .group_by(Report.agency_id, Report.status))).all()
        overdue = (await session.execute(
            select(Report.agency_id, func.count()).where(
                Report.status.in_(SLA_STATUSES), Report.due_at < now)
            .group_by(Report.agency_id))).all()
    metrics = ctx.metrics
    metrics.reports_by_status.clear()
    for agency_id, status, count in by_status:
        metrics.reports_by_status.labels(agency_id or "center", status).set(count)
    metrics.reports_overdue.clear()
    for agency in ctx.agencies:
        metrics.reports_overdue.labels(agency.id).set(0)
    for agency_id, count in overdue:
        metrics.reports_overdue.labels(agency_id or "center").set(count)
