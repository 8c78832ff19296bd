"""Report queries shared by the API, public pages, export and CLI."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.ids import add_row
from store.models import Attachment, Contact, Report, ReportEvent, utcnow
from store.serialize import report_dict
from store.txn import peek_scoped


async def report_by_code(session: AsyncSession, code: str) -> Report | None:
    return (await session.execute(select(Report).where(Report.code == code))).scalar_one_or_none()


async def full_report_dict(session: AsyncSession, report: Report, base_url: str,
                           public: bool = False) -> dict[str, Any]:
    contact = await session.get(Contact, report.contact_id) if report.contact_id else None
    attachments = list((await session.execute(
        select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id))).scalars())
    events = list((await session.execute(
        select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id))).scalars())
    return report_dict(report, contact=contact, attachments=attachments, events=events,
                       base_url=base_url, public=public)


async def iter_reports(session: AsyncSession, base_url: str, since: datetime | None = None,
                       batch: int = 500) -> AsyncIterator[dict[str, Any]]:
    """Every report in id order, in batches (export streams; memory stays flat)."""
    last_id = 0
    while True:
        query = select(Report).where(Report.id > last_id, Report.code.is_not(None))
        if since is not None:
            query = query.where(Report.updated_at >= since)
        rows = list((await session.execute(query.order_by(Report.id).limit(batch))).scalars())
        if not rows:
            return
        for report in rows:
            yield await full_report_dict(session, report, base_url)
        last_id = rows[-1].id
        session.expunge_all()


def record_event(session: AsyncSession, report: Report, *, actor: str, kind: str, note: str | None = None,
           status_from: str | None = None, status_to: str | None = None,
           public: bool = True) -> ReportEvent:
    return add_row(session, ReportEvent, report_id=report.id, at=utcnow(), actor=actor, kind=kind,
                   note=note, status_from=status_from, status_to=status_to, public=public)


# The reports made in this transaction that have attachments still to download. Such a report
# is not written yet (its rows go in together at commit), so there is nothing to query: this set,
# filled by the inbox as it adds the attachments, is the whole truth about it.
PENDING_DOWNLOADS = "pending_downloads"


def note_download_pending(session: AsyncSession, report_id: int) -> None:
    peek_scoped(session, PENDING_DOWNLOADS, set).add(report_id)


def download_pending_here(session: AsyncSession, report_id: int) -> bool:
    return report_id in peek_scoped(session, PENDING_DOWNLOADS, set)
