"""The console's report queue: filters, scope, counts per status and SQL paging.

Paging is LIMIT/OFFSET over an indexed order (created_at within status, agency, channel,
category or ward: see the indexes at the end of store.models), so a page costs the same on
100,000 reports as on 100. The center's default view puts triage first: two index range scans
(triage, then the rest) instead of one sort over every row.

Word search reads ``console_search``: each report's description, address and ward folded (lower
case, no diacritics, đ→d), so "o ga le loi" finds "Ổ gà … Lê Lợi" on every backend and one
short ASCII LIKE per word and row replaces ten case-variant ILIKEs over the raw text (migration
0006). A periodic job (``refresh_search_text``) keeps it current from a cursor over
``reports.updated_at``; reports newer than the last run are matched on their raw text.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Select, Text, and_, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from normalizer.text import fold
from store.models import Base, ChannelState, Report, utcnow

SORTS = ("new", "old", "due")
SEARCH_CURSOR = "console-search-cursor"
MAX_WORDS = 8
# A word search counts its matches up to here ("more than 1,000"), not every one.
COUNT_CAP = 1000


class ConsoleSearch(Base):
    """Folded description, address and ward of every report (the console's word search)."""

    __tablename__ = "console_search"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    # Byte-wise on PostgreSQL: LIKE over folded ASCII needs no locale rules (2–3× faster).
    text: Mapped[str] = mapped_column(Text().with_variant(Text(collation="C"), "postgresql"), default="")
CODE_RE = re.compile(r"^PA-\d{4}-\d{3,}$", re.IGNORECASE)
MAX_PAGE_SIZE = 200
MAX_OFFSET = 100_000
# How far back the raw-text fallback looks (the search job runs every few seconds).
RECENT = timedelta(minutes=10)


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
    capped: bool = False  # a word search counts at most COUNT_CAP matches

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
                overdue_statuses: Sequence[str], *, walk_created: bool = False) -> list[Any]:
    """``walk_created``: for a page in created_at order on SQLite, keep the planner off the
    indexes of the broad conditions (overdue's status/due_at, the word search's id list) so it
    walks ix_reports_created_at and stops at the page instead of sorting every match (30,000
    overdue reports: 150 ms → 15 ms). PostgreSQL chooses that plan from its statistics."""
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
        status = Report.status.op("||")("") if walk_created else Report.status
        conds.extend([Report.due_at < now, status.in_(overdue_statuses)])
    if flt.q and flt.q.strip():
        text = flt.q.strip()
        if CODE_RE.match(text):  # a tracking code read out by a caller: one index lookup
            conds.append(Report.code == text.upper())
            return conds
        match = _word_match(text, now, walk_created=walk_created)
        if match is not None:
            conds.append(match)
    return conds


def search_text(description: str | None, address: str | None, ward: str | None) -> str:
    return " ".join(fold(t) for t in (description, address, ward) if t)


def _word_match(text: str, now: datetime, *, walk_created: bool = False) -> Any:
    """Every word of ``text`` in the folded search text, or — for reports changed since the
    search job's last run (a few seconds' worth, an index range on updated_at) — the text as
    typed in the raw description or address. One ``id IN (… UNION ALL …)``, which both backends
    plan as a semi-join (with a trigram index on PostgreSQL when pg_trgm is available)."""
    words = list(dict.fromkeys(fold(text).split()))[:MAX_WORDS]
    if not words:
        return None
    folded = select(ConsoleSearch.report_id).where(
        *[ConsoleSearch.text.like(f"%{_escape_like(w)}%", escape="\\") for w in words])
    raw = []
    for variant in case_variants(text.strip()):
        pattern = f"%{_escape_like(variant)}%"
        raw += [Report.description.ilike(pattern, escape="\\"), Report.address.ilike(pattern, escape="\\")]
    recent = select(Report.id).where(Report.updated_at >= now - RECENT, or_(*raw))
    report_id = Report.id.op("+")(0) if walk_created else Report.id
    return report_id.in_(union_all(folded, recent))


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


async def _count(session: AsyncSession, conds: list[Any], cap: int | None = None) -> int:
    if cap is not None:
        inner = select(Report.id).where(*conds).limit(cap + 1).subquery()
        return int((await session.execute(select(func.count()).select_from(inner))).scalar_one())
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
    words = bool(flt.q and flt.q.strip() and not CODE_RE.match(flt.q.strip()))
    walk = (session.bind.dialect.name == "sqlite" and sort in ("new", "old")
            and (words or flt.overdue))
    if words:
        # A word search lists its matches newest (or as sorted) first, triage or not, and counts
        # at most COUNT_CAP of them: a common word would otherwise count half the table.
        conds = _conditions(flt, scope, now, overdue_statuses)
        total = await _count(session, conds, cap=COUNT_CAP)
        reports = await _rows(session, _conditions(flt, scope, now, overdue_statuses, walk_created=walk),
                              sort, offset, page_size)
        return QueuePage(reports=reports, total=min(total, COUNT_CAP), page=page, page_size=page_size,
                         counts=counts, capped=total > COUNT_CAP)
    if scope.triage_first and not flt.status:
        # Triage reports first, then every other one, each part in the chosen order.
        first = _conditions(replace(flt, status="triage"), scope, now, overdue_statuses)
        rest = [*_conditions(flt, scope, now, overdue_statuses), Report.status != "triage"]
        n_first = await _count(session, first)
        total = n_first + await _count(session, rest)
        if walk:
            first = _conditions(replace(flt, status="triage"), scope, now, overdue_statuses, walk_created=True)
            rest = [*_conditions(flt, scope, now, overdue_statuses, walk_created=True), Report.status != "triage"]
        reports = await _rows(session, first, sort, offset, page_size)
        reports += await _rows(session, rest, sort, max(0, offset - n_first), page_size - len(reports))
    else:
        conds = _conditions(flt, scope, now, overdue_statuses)
        total = await _count(session, conds)
        if walk:
            conds = _conditions(flt, scope, now, overdue_statuses, walk_created=True)
        reports = await _rows(session, conds, sort, offset, page_size)
    return QueuePage(reports=reports, total=total, page=page, page_size=page_size, counts=counts)


# --- the folded search text -------------------------------------------------------------------

async def refresh_search_text(session: AsyncSession, batch: int = 2000) -> int:
    """(Re)fold the reports changed since the last run, in ``updated_at`` order from a stored
    cursor (an index range scan, not a comparison of every report). Returns rows written."""
    state = await session.get(ChannelState, SEARCH_CURSOR)
    if state is None:
        state = ChannelState(key=SEARCH_CURSOR, value={})
        session.add(state)
    at_raw, last_id = (state.value or {}).get("at"), int((state.value or {}).get("id", 0))
    query = select(Report.id, Report.updated_at, Report.description, Report.address, Report.ward)
    if at_raw:
        at = datetime.fromisoformat(at_raw)
        query = query.where(or_(Report.updated_at > at, and_(Report.updated_at == at, Report.id > last_id)))
    rows = (await session.execute(query.order_by(Report.updated_at, Report.id).limit(batch))).all()
    if not rows:
        return 0
    values = [{"report_id": rid, "text": search_text(d, a, w)} for rid, _, d, a, w in rows]
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    stmt = upsert(ConsoleSearch)
    await session.execute(stmt.on_conflict_do_update(index_elements=["report_id"],
                                                     set_={"text": stmt.excluded.text}), values)
    rid, updated = rows[-1][0], rows[-1][1]
    state.value = {"at": updated.isoformat(), "id": rid}
    state.updated_at = utcnow()
    return len(rows)
