"""The console's report queue: filters, scope, counts per status and SQL paging.

Paging is LIMIT/OFFSET over an indexed order (created_at within status, agency, channel,
category or ward: see the indexes at the end of store.models), so a page costs the same on
100,000 reports as on 100. The center's default view puts triage first: two index range scans
(triage, then the rest) instead of one sort over every row.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Report

SORTS = ("new", "old", "due")
CODE_RE = re.compile(r"^PA-\d{4}-\d{3,}$", re.IGNORECASE)
MAX_PAGE_SIZE = 200
MAX_OFFSET = 100_000


@dataclass(frozen=True, slots=True)
class QueueFilter:
    status: str | None = None
    category: str | None = None
    ward: str | None = None
    channel: str | None = None
    overdue: bool = False
    q: str | None = None  # code (exact) or words in the description/address
    sort: str = "new"


@dataclass(frozen=True, slots=True)
class QueueScope:
    """Whose reports: ``agency_id`` None means every report (center, hotline, viewer)."""

    agency_id: str | None = None
    triage_first: bool = False


@dataclass(slots=True)
class QueuePage:
    reports: list[Report]
    total: int
    page: int
    page_size: int
    counts: dict[str, int] = field(default_factory=dict)  # per status, within the scope

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def case_variants(text: str) -> list[str]:
    """SQLite folds only ASCII letters in LIKE ("ổ" never matches "Ổ"): try the spellings a
    Vietnamese text uses — as typed, lower, sentence case, each word capitalised, upper."""
    lower = text.lower()
    variants = [text, lower, lower[:1].upper() + lower[1:], lower.title(), text.upper()]
    return list(dict.fromkeys(variants))


def _conditions(flt: QueueFilter, scope: QueueScope, now: datetime,
                overdue_statuses: Sequence[str]) -> list[Any]:
    # No "code IS NOT NULL": a report gets its code in the transaction that creates it, and the
    # condition would make every count read the table instead of an index (56 ms vs 5 ms).
    conds: list[Any] = []
    if scope.agency_id is not None:
        conds.append(Report.agency_id == scope.agency_id)
    if flt.status:
        conds.append(Report.status == flt.status)
    if flt.category:
        conds.append(Report.category == flt.category)
    if flt.ward:
        conds.append(Report.ward == flt.ward)
    if flt.channel:
        conds.append(Report.channel == flt.channel)
    if flt.overdue:
        conds.extend([Report.due_at < now, Report.status.in_(overdue_statuses)])
    if flt.q and flt.q.strip():
        text = flt.q.strip()
        if CODE_RE.match(text):  # a tracking code read out by a caller: one index lookup
            conds.append(Report.code == text.upper())
            return conds
        matches = [Report.code == text.upper()]
        for variant in case_variants(text):
            pattern = f"%{_escape_like(variant)}%"
            matches += [Report.description.ilike(pattern, escape="\\"),
                        Report.address.ilike(pattern, escape="\\")]
        conds.append(or_(*matches))
    return conds


def _ordered(query: Select[Any], sort: str) -> Select[Any]:
    if sort == "old":
        return query.order_by(Report.created_at.asc(), Report.id.asc())
    if sort == "due":
        # Reports without a due date last, on every backend.
        return query.order_by(Report.due_at.is_(None), Report.due_at.asc(), Report.id.asc())
    return query.order_by(Report.created_at.desc(), Report.id.desc())


async def status_counts(session: AsyncSession, scope: QueueScope) -> dict[str, int]:
    query = select(Report.status, func.count())
    if scope.agency_id is not None:
        query = query.where(Report.agency_id == scope.agency_id)
    rows = await session.execute(query.group_by(Report.status))
    return {status: int(n) for status, n in rows}


async def report_channels(session: AsyncSession) -> list[str]:
    """The channels reports came from (an index-only scan of ix_reports_channel_created)."""
    rows = await session.execute(select(Report.channel).distinct().order_by(Report.channel))
    return list(rows.scalars())


async def _count(session: AsyncSession, conds: list[Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(Report).where(*conds))).scalar_one())


async def _rows(session: AsyncSession, conds: list[Any], sort: str, offset: int, limit: int) -> list[Report]:
    if limit <= 0:
        return []
    query = _ordered(select(Report).where(*conds), sort).offset(offset).limit(limit)
    return list((await session.execute(query)).scalars())


async def list_reports(session: AsyncSession, flt: QueueFilter, scope: QueueScope, *, now: datetime,
                       page: int = 1, page_size: int = 50,
                       overdue_statuses: Sequence[str] = ("forwarded", "in_progress")) -> QueuePage:
    """One page of the queue, its total and the per-status counts of the scope."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    offset = min((page - 1) * page_size, MAX_OFFSET)
    sort = flt.sort if flt.sort in SORTS else "new"
    counts = await status_counts(session, scope)
    if scope.triage_first and not flt.status:
        # Triage reports first, then every other one, each part in the chosen order.
        first = _conditions(replace(flt, status="triage"), scope, now, overdue_statuses)
        rest = [*_conditions(flt, scope, now, overdue_statuses), Report.status != "triage"]
        n_first = await _count(session, first)
        total = n_first + await _count(session, rest)
        reports = await _rows(session, first, sort, offset, page_size)
        reports += await _rows(session, rest, sort, max(0, offset - n_first), page_size - len(reports))
    else:
        conds = _conditions(flt, scope, now, overdue_statuses)
        total = await _count(session, conds)
        reports = await _rows(session, conds, sort, offset, page_size)
    return QueuePage(reports=reports, total=total, page=page, page_size=page_size, counts=counts)
