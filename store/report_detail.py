"""Everything the console's report page shows about one report, in a few indexed queries."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Account, Agency, Attachment, Contact, OutboxMessage, Report, ReportEvent


@dataclass(slots=True)
class ReportDetail:
    report: Report
    contact: Contact | None
    attachments: list[Attachment]
    events: list[ReportEvent]
    deliveries: list[OutboxMessage]
    agency_name: str | None
    # "user:<name>" actors → the officer's display name, for the timeline.
    officers: dict[str, str]


async def report_detail(session: AsyncSession, code: str, *,
                        agency_id: str | None = None) -> ReportDetail | None:
    """The report with this code; with ``agency_id`` only if that agency holds it (another
    agency's report is indistinguishable from a missing one)."""
    query = select(Report).where(Report.code == code)
    if agency_id is not None:
        query = query.where(Report.agency_id == agency_id)
    report = (await session.execute(query)).scalar_one_or_none()
    if report is None:
        return None
    contact = await session.get(Contact, report.contact_id) if report.contact_id else None
    attachments = list((await session.execute(select(Attachment).where(
        Attachment.report_id == report.id).order_by(Attachment.id))).scalars())
    events = list((await session.execute(select(ReportEvent).where(
        ReportEvent.report_id == report.id).order_by(ReportEvent.id))).scalars())
    deliveries = list((await session.execute(select(OutboxMessage).where(
        OutboxMessage.report_id == report.id).order_by(OutboxMessage.id))).scalars())
    agency = await session.get(Agency, report.agency_id) if report.agency_id else None
    usernames = {e.actor.removeprefix("user:") for e in events if e.actor.startswith("user:")}
    officers: dict[str, str] = {}
    if usernames:
        rows = await session.execute(select(Account.username, Account.display_name).where(
            Account.username.in_(usernames)))
        officers = {f"user:{u}": name or u for u, name in rows}
    return ReportDetail(report, contact, attachments, events, deliveries,
                        agency.name if agency else None, officers)
