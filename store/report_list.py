"""The console's report queue: filters, scope, counts per status and SQL paging.

Paging is LIMIT/OFFSET over an indexed order (created_at within status, agency, channel,
category or ward: see the indexes at the end of store.models), so a page costs the same on
100,000 reports as on 100. The center's default view puts triage (and returned) first: two index range scans
(triage, then the rest) instead of one sort over every row.

Word search reads ``console_search``: each report's description, address and ward folded (lower
case, no diacritics, đ→d), so "o ga le loi" finds "Ổ gà … Lê Lợi" on every backend, every word
anywhere in the text (migration 0006). A periodic job (``refresh_search_text``) keeps it current
from a cursor over ``reports.updated_at``; reports newer than the last run are matched on their
raw text. Migration 0008 indexes it, so no search scans the text: words of three characters or
more through trigrams (SQLite FTS5's trigram tokenizer, PostgreSQL pg_trgm), shorter ones through
``grams`` (every character and pair of adjacent characters within the text's words, which is
exact for a word of one or two characters). One query then lists the matches in the chosen
order up to what the page and the bounded count need (see ``_search``).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from math import isqrt
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import ForeignKey, Select, Text, and_, bindparam, case, func, literal_column, or_, select
from sqlalchemy import table as sa_table
from sqlalchemy import text as sa_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from normalizer.phones import normalize_phone
from normalizer.text import fold
from store.models import Base, ChannelState, Contact, Report, utcnow

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
    # search_grams(text): what the trigram indexes cannot answer, words of one or two characters.
    grams: Mapped[str] = mapped_column(Text, default="", server_default="")


# The SQLite index of console_search (migration 0008): an FTS5 table with the trigram tokenizer
# over (text, grams), its content read from console_search and kept by triggers.
FTS_TABLE = "console_search_fts"
CODE_RE = re.compile(r"^PA-\d{4}-\d{3,}$", re.IGNORECASE)
MAX_PAGE_SIZE = 200
MAX_OFFSET = 100_000
# How far back the raw-text fallback looks (the search job runs every few seconds).
RECENT = timedelta(minutes=10)
# Control characters (C0, DEL, C1) and lone surrogates: none is part of a word, a NUL ends
# FTS5's query string ("unterminated string") and PostgreSQL refuses it in text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


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
    # May find reports by the citizen's phone (staff who see contact data; never a public page).
    contacts: bool = False


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


def clean_query(q: str | None) -> str:
    """The search text with each control character a space, stripped: what every MATCH and
    LIKE of a search is built from ("" for a text of control characters only)."""
    if not q:
        return ""
    return _CONTROL.sub(" ", q).strip()


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
        # Words are matched by _word_search, not by a condition here.
    return conds


def search_text(description: str | None, address: str | None, ward: str | None) -> str:
    return " ".join(fold(t) for t in (description, address, ward) if t)


def search_grams(text: str) -> str:
    """Every character and every pair of adjacent characters within the words of a folded text,
    each once, written ``|c `` and ``|cd `` (a space after each). A query word of one or two
    characters (it has no space) is in the text exactly when its entry is; FTS5's trigram
    tokenizer sees the entry as the trigram "|c " or "|cd", and no other part of this column
    makes a trigram of that shape (every entry starts with "|" and ends before a space)."""
    seen: dict[str, None] = {}
    for word in text.split():
        for i, ch in enumerate(word):
            seen["|" + ch] = None
            if i + 1 < len(word):
                seen["|" + word[i:i + 2]] = None
    return "".join(entry + " " for entry in seen)


def search_words(q: str) -> list[str]:
    """The folded words a report must all contain (the first MAX_WORDS different ones), less
    those inside another one ("o" is in "loi"): the same matches with fewer conditions."""
    words = list(dict.fromkeys(fold(clean_query(q)).split()))[:MAX_WORDS]
    return [w for w in words if not any(w != other and w in other for other in words)]


def fts_query(words: Sequence[str]) -> str:
    """The FTS5 query of console_search_fts: every word as a substring (a phrase of trigrams in
    the text, exact with detail=full), a word of one or two characters as its grams entry."""
    parts = []
    for word in words:
        quoted = word.replace('"', '""')
        if len(word) >= 3:
            parts.append(f'text : "{quoted}"')
        else:
            parts.append(f'grams : "|{quoted}{" " if len(word) == 1 else ""}"')
    return " AND ".join(parts)


def _folded_conditions(words: Sequence[str], dialect: str) -> list[Any]:
    """Conditions on console_search: its text holds every word."""
    if dialect != "postgresql":  # SQLite without FTS5's trigram tokenizer (before 3.34): a scan
        return [ConsoleSearch.text.like(f"%{_escape_like(w)}%", escape="\\") for w in words]
    # Trigrams (pg_trgm's GIN index) for the longer words, the grams array's GIN index for the
    # short ones: a bitmap AND of both. The ' ' literal: the index's expression exactly.
    conds = [ConsoleSearch.text.like(f"%{_escape_like(w)}%", escape="\\") for w in words if len(w) >= 3]
    short = [f"|{w}" for w in words if len(w) < 3]
    if short:
        conds.append(func.string_to_array(ConsoleSearch.grams, literal_column("' '"))
                     .op("@>")(bindparam("grams", short, type_=ARRAY(Text))))
    return conds


def _fts_match(words: Sequence[str]) -> Select[Any]:
    """Ids of the reports whose folded text holds every word, from console_search_fts alone."""
    return select(literal_column("rowid")).select_from(sa_table(FTS_TABLE)).where(
        literal_column(FTS_TABLE).op("MATCH")(fts_query(words)))


async def _recent_ids(session: AsyncSession, text: str, now: datetime) -> list[int]:
    """Reports changed since the search job's last run (a few seconds' worth, an index range on
    updated_at) whose raw description or address holds the text as typed."""
    raw = []
    text = clean_query(text)
    if not text:
        return []
    for variant in case_variants(text):
        pattern = f"%{_escape_like(variant)}%"
        raw += [Report.description.ilike(pattern, escape="\\"), Report.address.ilike(pattern, escape="\\")]
    rows = await session.execute(select(Report.id).where(Report.updated_at >= now - RECENT, or_(*raw)))
    return list(rows.scalars())


_FTS_PRESENT: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()


async def _has_fts(session: AsyncSession) -> bool:
    """console_search_fts exists (migration 0008 on a SQLite with FTS5's trigram tokenizer)."""
    engine = session.bind.engine if hasattr(session.bind, "engine") else session.bind
    present = _FTS_PRESENT.get(engine)
    if present is None:
        found = await session.execute(sa_text("SELECT 1 FROM sqlite_master WHERE name = :n"), {"n": FTS_TABLE})
        present = _FTS_PRESENT[engine] = found.first() is not None
    return present


# PostgreSQL's planner settings for a word search's statements (see _word_search), set for the
# transaction with set_config(…, true) and put back after them.
PG_SEARCH_SETTINGS = {
    "enable_seqscan": "off", "max_parallel_workers_per_gather": "0",
    # A plan for these values, not the generic one PostgreSQL adopts after five runs of a
    # prepared statement (asyncpg prepares every statement): it estimates a LIKE on a parameter
    # at a few rows, takes the index's matches and sorts them, 92 ms where the walk takes 9.
    "plan_cache_mode": "force_custom_plan"}


async def _word_search(session: AsyncSession, flt: QueueFilter, scope: QueueScope, now: datetime,
                       overdue_statuses: Sequence[str], sort: str, offset: int, limit: int,
                       counts: dict[str, int]) -> tuple[list[Report], int]:
    if session.bind.dialect.name != "postgresql":
        return await _search(session, flt, scope, now, overdue_statuses, sort, offset, limit, counts)
    names = list(PG_SEARCH_SETTINGS)
    previous = (await session.execute(sa_text("SELECT " + ", ".join(
        [*(f"current_setting('{n}')" for n in names),
         *(f"set_config('{n}', '{v}', true)" for n, v in PG_SEARCH_SETTINGS.items())])))).one()[:len(names)]
    try:
        return await _search(session, flt, scope, now, overdue_statuses, sort, offset, limit, counts)
    finally:
        await session.execute(sa_text("SELECT " + ", ".join(
            f"set_config('{n}', :v{i}, true)" for i, n in enumerate(names))),
            {f"v{i}": v for i, v in enumerate(previous)})


async def _search(session: AsyncSession, flt: QueueFilter, scope: QueueScope, now: datetime,
                  overdue_statuses: Sequence[str], sort: str, offset: int, limit: int,
                  counts: dict[str, int]) -> tuple[list[Report], int]:
    """A page of the reports matching every word of ``flt.q`` (folded), or changed since the
    search job's last run and holding the text as typed, with the filters; and the number of
    matches up to ``max(offset + limit, COUNT_CAP + 1)``.

    One query lists the matching ids in the page's order up to that many: the page and the
    bounded count from one pass. There are two ways to run it: take the index's matches and
    sort them (a row lookup each), or walk the order's index and keep the rows among the
    matches until there are enough. SQLite walks when that reads fewer rows (the matches'
    share of the reports known from the index); PostgreSQL's planner makes the same choice from
    its statistics, given a join, with two plans ruled out (PG_SEARCH_SETTINGS): a hash join
    against a scan of every report (it underestimates how often a report holds several of the words, as "lê" and
    "lợi" do: 150 ms instead of 55) and a parallel walk (each worker walks its share of the
    order: 37,000 rows read instead of 940 for a page, 205 ms instead of 9).

    Without a filter the count comes from the index alone (SQLite: FTS5's exact count;
    PostgreSQL: its matches up to the cap), and the ordered query stops at the page."""
    words = search_words(flt.q or "")
    need = max(offset + limit, COUNT_CAP + 1)
    dialect = session.bind.dialect.name
    keys = _sort_keys(sort)
    if not words:  # nothing left once folded (e.g. only marks): every report, as before
        query = _ordered(select(Report.id, *keys).where(*_conditions(flt, scope, now, overdue_statuses)), sort)
        return await _page_of(session, (await session.execute(query.limit(need))).all(), offset, limit)
    recent = await _recent_ids(session, (flt.q or "").strip(), now)
    fts = dialect == "sqlite" and await _has_fts(session)
    folded = _fts_match(words) if fts else select(ConsoleSearch.report_id).where(
        *_folded_conditions(words, dialect))
    total = None
    unfiltered = scope.agency_id is None and replace(flt, q=None, sort="new") == QueueFilter()
    if unfiltered:
        # No filter: the count is the index's (SQLite: FTS5 alone; PostgreSQL: up to the cap,
        # when the page is full), so the ordered query stops at the page instead of at the cap.
        need = offset + limit
    matches = enough = reports = 0
    if fts:
        # Counted only as far as it matters: past COUNT_CAP for the page's count, and past the
        # point where probing the rows of the order's walk is surely the cheapest plan
        # ("đường", in half the reports: 2 ms instead of 50 for an exact count).
        reports = int((await session.execute(select(func.max(Report.id)))).scalar() or 0)  # ids count reports
        enough = max(COUNT_CAP + 1, isqrt(COST["probe"] * need * reports) + 1)
        matches = await _count_of(session, folded.limit(enough))
    if unfiltered and fts:
        total = matches
        if recent:  # plus those changed since the job's last run that the index does not hold
            total += len(recent) - await _count_of(session, folded.where(literal_column("rowid").in_(recent)))
        if not total:
            return [], 0
    if dialect == "postgresql":
        query = select(Report.id, *keys).join(ConsoleSearch, ConsoleSearch.report_id == Report.id).where(
            *_conditions(flt, scope, now, overdue_statuses), *_folded_conditions(words, dialect))
        rows = (await session.execute(_ordered(query, sort).limit(need))).all()
    else:
        plan = "walk" if sort in ("new", "old") else "sort"  # without FTS5: a scan either way
        if fts:
            if not matches and not recent:
                return [], 0
            plan = await _sqlite_plan(session, flt, scope, now, overdue_statuses, counts, sort=sort,
                                      matches=matches, at_least=matches >= enough, need=need, reports=reports)
        if plan == "probe":  # each row of the walk looks its folded text up (primary key)
            match = select(literal_column("1")).where(
                ConsoleSearch.report_id == Report.id, *_folded_conditions(words, dialect)).scalar_subquery().is_not(None)
        else:  # "+ 0": the matches are not read through the primary key, the order is walked
            match = (Report.id.op("+")(0) if plan == "walk" else Report.id).in_(folded)
        query = select(Report.id, *keys).where(
            *_conditions(flt, scope, now, overdue_statuses, walk_created=plan != "sort"), match)
        rows = (await session.execute(_ordered(query, sort).limit(need))).all()
    if recent:  # the few reports changed since the job's last run, merged in the same order
        extra = select(Report.id, *keys).where(*_conditions(flt, scope, now, overdue_statuses),
                                               Report.id.in_(recent))
        merged = {row[0]: row for row in [*rows, *(await session.execute(extra)).all()]}
        rows = sorted(merged.values(), key=_sort_key(sort), reverse=sort == "new")[:need]
    if unfiltered and total is None and len(rows) == need:  # more than the page: count them
        # (fewer: the list is every match, its length the count; a rare word needs no count)
        total = await _count_of(session, folded.limit(COUNT_CAP + 1))
        if recent:
            total += len(recent) - await _count_of(session, folded.where(ConsoleSearch.report_id.in_(recent)))
    page, found = await _page_of(session, rows, offset, limit)
    return page, found if total is None else total


# Reports still waiting for someone: the deadline order lists them first.
OPEN_STATUSES = ("received", "triage", "forwarded", "in_progress", "returned")
# The center's "triage first" view: what waits for the center (a returned report is back with it).
CENTER_FIRST = ("triage", "returned")


def _sort_keys(sort: str) -> list[Any]:
    return [Report.due_at, Report.status] if sort == "due" else [Report.created_at]


def _sort_key(sort: str) -> Any:
    """_ordered's order in Python, for rows (id, created_at) or (id, due_at, status)."""
    if sort == "due":
        return lambda row: (row[2] not in OPEN_STATUSES, row[1] is None,
                            row[1] or datetime.min.replace(tzinfo=UTC), row[0])
    return lambda row: (row[1], row[0])


async def _page_of(session: AsyncSession, rows: Sequence[Any], offset: int,
                   limit: int) -> tuple[list[Report], int]:
    page_ids = [row[0] for row in rows[offset:offset + limit]]
    if not page_ids:
        return [], len(rows)
    found = {r.id: r for r in (await session.execute(select(Report).where(Report.id.in_(page_ids)))).scalars()}
    return [found[i] for i in page_ids if i in found], len(rows)


# What SQLite's three plans cost per row (bench/console.py's data, relative): "sort" reads each
# of the index's matches through the primary key and sorts them; "walk" steps through the
# order's index and keeps the rows among the index's matches (listed once: "materialize" per
# match); "probe" steps through the order's index and looks each row's folded text up.
COST = {"sort": 10, "materialize": 2, "step": 1, "probe": 8}


async def _count_of(session: AsyncSession, query: Select[Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())


async def _sqlite_plan(session: AsyncSession, flt: QueueFilter, scope: QueueScope, now: datetime,
                       overdue_statuses: Sequence[str], counts: dict[str, int], sort: str, matches: int,
                       at_least: bool, need: int, reports: int) -> str:
    """The cheapest of "sort", "walk" and "probe" for ``need`` rows of ``matches`` (a lower
    bound when ``at_least``: the count stopped where probing is surely cheapest). A walk reads
    about need / share rows, share = matches / reports, never more than the filters' range."""
    if sort not in ("new", "old"):
        return "sort"  # no index walks the due order
    if at_least:
        return "probe"
    matches = max(matches, 1)
    walked = need * reports / matches
    if replace(flt, q=None, status=None) == QueueFilter(sort=flt.sort):
        walked = min(walked, counts.get(flt.status, 0) if flt.status else sum(counts.values()))
    elif walked > matches:  # the range's size, counted as far as it matters
        in_range = select(Report.id).where(*_conditions(replace(flt, q=None), scope, now, overdue_statuses))
        walked = min(walked, await _count_of(session, in_range.limit(int(walked) + 1)))
    costs = {"sort": COST["sort"] * matches, "walk": COST["materialize"] * matches + COST["step"] * walked,
             "probe": COST["probe"] * walked}
    return min(costs, key=costs.__getitem__)


def _ordered(query: Select[Any], sort: str) -> Select[Any]:
    if sort == "old":
        return query.order_by(Report.created_at.asc(), Report.id.asc())
    if sort == "due":
        # Open reports first, then the rest (resolved, closed…); in each, by deadline and those
        # without one last, on every backend.
        return query.order_by(case((Report.status.in_(OPEN_STATUSES), 0), else_=1),
                              Report.due_at.is_(None), Report.due_at.asc(), Report.id.asc())
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


_PHONE_CHARS = re.compile(r"^\+?[0-9][0-9 .()-]{7,18}$")


def phone_query(q: str | None) -> str | None:
    """The number a query is, in the form contacts keep it (``+84…``), or None."""
    text = (q or "").strip()
    if not _PHONE_CHARS.match(text) or sum(c.isdigit() for c in text) < 9:
        return None
    return normalize_phone(text)


async def list_reports(session: AsyncSession, flt: QueueFilter, scope: QueueScope, *, now: datetime,
                       page: int = 1, page_size: int = 50,
                       overdue_statuses: Sequence[str] = ("forwarded", "in_progress")) -> QueuePage:
    """One page of the queue, its total and the per-status counts of the scope."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    offset = min((page - 1) * page_size, MAX_OFFSET)
    sort = flt.sort if flt.sort in SORTS else "new"
    if flt.q:  # control characters are no part of a search: only them is no search
        flt = replace(flt, q=clean_query(flt.q) or None)
    counts = await status_counts(session, scope)
    phone = phone_query(flt.q) if scope.contacts else None
    if phone is not None:
        # A phone number ("0914 222 333", "+84914222333"): the reports of the citizen with that
        # contact phone or reply address, in the chosen order (the index on contacts.phone).
        local = "0" + phone[3:] if phone.startswith("+84") else phone
        conds = [*_conditions(replace(flt, q=None), scope, now, overdue_statuses), or_(
            Report.contact_id.in_(select(Contact.id).where(Contact.phone.in_((phone, local)))),
            Report.reply_address.in_((phone, local)))]
        total = await _count(session, conds)
        reports = await _rows(session, conds, sort, offset, page_size)
        return QueuePage(reports=reports, total=total, page=page, page_size=page_size, counts=counts)
    words = bool(flt.q and flt.q.strip() and not CODE_RE.match(flt.q.strip()))
    if words:
        # A word search lists its matches newest (or as sorted) first, triage or not, and counts
        # at most COUNT_CAP of them: a common word would otherwise count half the table.
        reports, found = await _word_search(session, flt, scope, now, overdue_statuses, sort, offset,
                                            page_size, counts)
        return QueuePage(reports=reports, total=min(found, COUNT_CAP), page=page, page_size=page_size,
                         counts=counts, capped=found > COUNT_CAP)
    walk = session.bind.dialect.name == "sqlite" and sort in ("new", "old") and flt.overdue
    if scope.triage_first and not flt.status:
        # Triage and returned reports (waiting for the center) first, then every other one, each
        # part in the chosen order.
        first = [*_conditions(flt, scope, now, overdue_statuses), Report.status.in_(CENTER_FIRST)]
        rest = [*_conditions(flt, scope, now, overdue_statuses), Report.status.not_in(CENTER_FIRST)]
        n_first = await _count(session, first)
        total = n_first + await _count(session, rest)
        if walk:
            first = [*_conditions(flt, scope, now, overdue_statuses, walk_created=True),
                     Report.status.in_(CENTER_FIRST)]
            rest = [*_conditions(flt, scope, now, overdue_statuses, walk_created=True),
                    Report.status.not_in(CENTER_FIRST)]
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
    values = []
    for rid, _, d, a, w in rows:
        text = search_text(d, a, w)
        values.append({"report_id": rid, "text": text, "grams": search_grams(text)})
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    stmt = upsert(ConsoleSearch)
    # A report whose words did not change (a new status, a reminder) is left as it is: no write,
    # no index update (on SQLite the triggers of migration 0008 re-index a changed row).
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["report_id"], set_={"text": stmt.excluded.text, "grams": stmt.excluded.grams},
        where=ConsoleSearch.text != stmt.excluded.text), values)
    rid, updated = rows[-1][0], rows[-1][1]
    state.value = {"at": updated.isoformat(), "id": rid}
    state.updated_at = utcnow()
    return len(rows)


# --- what an agency handed back ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReturnedReport:
    """A report an agency returned to the center, as that agency may still see it: no citizen
    data (no description, address, coordinates or contact), only what places the report and
    what became of it."""

    code: str
    category: str | None
    ward: str | None
    created_at: datetime
    returned_at: datetime | None
    reason: str | None  # the note the return was made with (the agency's own words)
    returned_by: str | None  # the event's actor: the agency id or "user:<name>"
    status: str  # now
    agency_id: str | None  # the agency holding it now (None: the center)
    rerouted_at: datetime | None  # forwarded again after the return (to ``agency_id``)
    duplicate_of: str | None


def returned_by_condition(session: AsyncSession, agency_id: str) -> Any:
    """``agency_id`` is in the report's ``extra.returned_by`` (router.lifecycle.change_status
    adds the agency that held a report when it was returned; router.assign never routes it back
    there by rule). Checked by the database's JSON functions (json_each on SQLite,
    json_array_elements_text on PostgreSQL), row by row: use it only on reports already narrowed
    by an index (last_returns)."""
    if session.bind.dialect.name == "postgresql":
        values = func.json_array_elements_text(Report.extra["returned_by"]).table_valued("value")
    else:
        values = func.json_each(Report.extra, "$.returned_by").table_valued("value")
    return select(literal_column("1")).select_from(values).where(values.c.value == agency_id).exists()


def last_returns() -> Any:
    """Each returned report's id and the time of its last return, as a subquery. It reads the
    return events through the index ix_report_events_status_to (only status events carry
    status_to), so the hub's returned reports and not every report; join it to ``Report`` and
    filter with returned_by_condition for one agency's (the event's actor may be the center or
    an account since moved: ``extra.returned_by`` says which agency held the report)."""
    from store.models import ReportEvent

    return (select(ReportEvent.report_id, func.max(ReportEvent.at).label("at"))
            .where(ReportEvent.status_to == "returned")
            .group_by(ReportEvent.report_id).subquery("last_return"))


async def count_returned(session: AsyncSession, agency_id: str) -> int:
    """How many reports ``agency_id`` returned to the center."""
    last = last_returns()
    return int((await session.execute(
        select(func.count()).select_from(last).join(Report, Report.id == last.c.report_id)
        .where(returned_by_condition(session, agency_id)))).scalar_one())


async def returned_by_agency(session: AsyncSession, agency_id: str, *, limit: int = 50,
                             offset: int = 0, total: int | None = None,
                             ) -> tuple[list[ReturnedReport], int]:
    """The reports ``agency_id`` returned to the center, the latest return first, and their
    count (``total``: already counted by count_returned, not counted again). The return shown
    is the last one made by the agency (its id or one of its accounts as the actor); without
    such an event (the center took it back, an account since moved) no reason and no actor:
    another agency's or the center's note is not this agency's to read."""
    from store.models import Account, ReportEvent

    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, min(offset, MAX_OFFSET))
    if total is None:
        total = await count_returned(session, agency_id)
    if not total:
        return [], 0
    last = last_returns()
    rows = (await session.execute(
        select(Report).select_from(last).join(Report, Report.id == last.c.report_id)
        .where(returned_by_condition(session, agency_id))
        .order_by(last.c.at.desc(), Report.id.desc())
        .limit(limit).offset(offset))).scalars().all()
    if not rows:
        return [], total
    events = (await session.execute(
        select(ReportEvent).where(ReportEvent.report_id.in_([r.id for r in rows]),
                                  ReportEvent.kind == "status", ReportEvent.status_to == "returned")
        .order_by(ReportEvent.id))).scalars().all()
    officers = {f"user:{u}" for u in (await session.execute(
        select(Account.username).where(Account.agency_id == agency_id))).scalars()}
    ours = {agency_id, *officers}
    last: dict[int, Any] = {}  # each report's last return, whoever made it
    chosen: dict[int, Any] = {}  # each report's last return made by this agency
    for event in events:  # in order: the later wins
        last[event.report_id] = event
        if event.actor in ours:
            chosen[event.report_id] = event
    result = []
    for r in rows:
        event = chosen.get(r.id)
        at = event.at if event is not None else (last[r.id].at if r.id in last else None)
        rerouted = r.forwarded_at if r.agency_id and r.forwarded_at and (at is None or r.forwarded_at >= at) else None
        result.append(ReturnedReport(
            code=r.code or "", category=r.category, ward=r.ward, created_at=r.created_at,
            returned_at=at, reason=event.note if event is not None else None,
            returned_by=event.actor if event is not None else None, status=r.status,
            agency_id=r.agency_id, rerouted_at=rerouted, duplicate_of=r.duplicate_of))
    return result, total
