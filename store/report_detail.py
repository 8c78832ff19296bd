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


# --- possible duplicates -----------------------------------------------------------------------

# Reports still worth merging into (a rejected or duplicate one is not an original).
MERGEABLE = ("received", "triage", "forwarded", "in_progress", "returned", "resolved", "closed")


@dataclass(slots=True)
class Candidate:
    report: Report
    distance_m: int | None  # None: matched by ward only (one of them has no coordinates)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


async def merged_into(session: AsyncSession, report: Report) -> list[str]:
    """Codes of the reports merged into ``report`` (status duplicate, pointing at it), oldest
    first. Codes only: whoever may see the original may know what was merged into it (its
    timeline says so too); the merged reports' own pages keep their scope."""
    query = select(Report.code).where(Report.duplicate_of == report.code, Report.status == "duplicate")
    return list((await session.execute(query.order_by(Report.id))).scalars())


async def possible_duplicates(session: AsyncSession, report: Report, *, radius_m: float = 300,
                              days: float = 14, limit: int = 5,
                              agency_id: str | None = None) -> list[Candidate]:
    """Other reports of the same category, near in place (within ``radius_m`` when both have
    coordinates, else the same ward) and in time (``days`` either side), nearest first.
    One range scan of ix_reports_category_created; with ``agency_id`` only that agency's."""
    from datetime import timedelta

    from sqlalchemy import or_

    if not report.category or report.created_at is None:
        return []
    span = timedelta(days=days)
    conds = [Report.category == report.category, Report.id != report.id,
             Report.created_at >= report.created_at - span,
             Report.created_at <= report.created_at + span, Report.status.in_(MERGEABLE)]
    if agency_id is not None:
        conds.append(Report.agency_id == agency_id)
    near = []
    if report.lat is not None and report.lon is not None:
        import math

        dlat = radius_m / 111_320
        dlon = radius_m / (111_320 * max(0.1, math.cos(math.radians(report.lat))))
        near.append(Report.lat.between(report.lat - dlat, report.lat + dlat)
                    & Report.lon.between(report.lon - dlon, report.lon + dlon))
    if report.ward:
        near.append(Report.ward == report.ward)
    if not near:
        return []
    rows = (await session.execute(select(Report).where(*conds, or_(*near))
                                  .order_by(Report.created_at.desc()).limit(200))).scalars()
    found: list[Candidate] = []
    for other in rows:
        if report.lat is not None and report.lon is not None and other.lat is not None \
                and other.lon is not None:
            metres = _metres(report.lat, report.lon, other.lat, other.lon)
            if metres > radius_m:
                continue
            found.append(Candidate(other, int(metres)))
        elif report.ward and other.ward == report.ward:
            found.append(Candidate(other, None))
    found.sort(key=lambda c: (c.distance_m is None, c.distance_m or 0,
                              abs((c.report.created_at - report.created_at).total_seconds())))
    return found[:limit]


# --- a call logged in the console --------------------------------------------------------------

async def code_for_inbox(session: AsyncSession, channel: str, external_id: str) -> tuple[bool, str | None]:
    """(stored, code): whether the inbox row exists and the code of the report made from it."""
    from store.models import InboxEvent

    row = (await session.execute(select(InboxEvent.report_id).where(
        InboxEvent.channel == channel, InboxEvent.external_id == external_id))).first()
    if row is None:
        return False, None
    if row[0] is None:
        return True, None
    code = (await session.execute(select(Report.code).where(Report.id == row[0]))).scalar()
    return True, code
