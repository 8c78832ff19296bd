"""What the public portal may read: reports that left triage (forwarded at least once) and that
the center has not hidden, filtered and paged in SQL; one report with its photos and public
events; the center's moderation; the folded search text; map clusters.

Masking is not done here (store.serialize.public_text is): these are queries only.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, delete, exists, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.text import fold
from store.models import Attachment, Contact, Report, ReportEvent, utcnow
from store.public_models import ReportModeration, ReportSearch, ReportWord
from store.serialize import note_is_public

MAX_PAGE_SIZE = 1000
MAX_OFFSET = 100_000
# Status groups a citizen filters by, beside the exact statuses.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    # "triage"/"returned": forwarded once, now back with the center to find the right agency.
    "open": ("forwarded", "in_progress", "returned", "triage"),
    "done": ("resolved", "closed"),
}
# Events a citizen may read: status changes and (issue 15) agency replies, when public.
PUBLIC_EVENT_KINDS = ("status", "reply")


@dataclass(frozen=True, slots=True)
class PublicFilter:
    category: str | None = None
    ward: str | None = None
    status: str | None = None
    agency: str | None = None
    q: str | None = None

    def active(self) -> dict[str, str]:
        return {k: v for k in ("category", "ward", "status", "agency", "q")
                if (v := getattr(self, k))}


@dataclass(slots=True)
class PublicPage:
    reports: list[Report]
    total: int
    page: int
    page_size: int
    names: dict[int, str | None] = field(default_factory=dict)  # report id → citizen's name

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _not_hidden() -> Any:
    # NOT IN over the (few) hidden ids: evaluated once, not a lookup per report.
    return Report.id.not_in(select(ReportModeration.report_id).where(ReportModeration.hidden.is_(True)))


def public_conditions() -> list[Any]:
    """A report is public once it was forwarded to an agency, unless the center hid it."""
    return [Report.forwarded_at.is_not(None), _not_hidden()]


def filter_conditions(flt: PublicFilter, rarest: str | None = None) -> list[Any]:
    """SQL conditions of ``flt``. For ``q``, every word must be among the report's words (the
    last may be a prefix): the ``rarest`` word (see ``rarest_word``), when given, picks the
    candidate reports through the word index; every other word is one primary-key probe per
    candidate."""
    conds = public_conditions()
    if flt.category:
        conds.append(Report.category == flt.category)
    if flt.ward:
        conds.append(Report.ward == flt.ward)
    if flt.status:
        conds.append(Report.status.in_(STATUS_GROUPS.get(flt.status, (flt.status,))))
    if flt.agency:
        conds.append(Report.agency_id == flt.agency)
    if flt.q and flt.q.strip():
        text = flt.q.strip()
        words = search_words(text)[:MAX_QUERY_WORDS]
        matches = [Report.code == text.upper()]
        if words:
            prefix = words[-1]
            driver = rarest if rarest in words else None
            found = []
            for word in words:
                is_prefix = word == prefix
                match = _word_match(word, is_prefix)
                if word == driver:
                    found.append(Report.id.in_(select(ReportWord.report_id).where(match)))
                else:
                    found.append(exists().where(ReportWord.report_id == Report.id, match))
            matches.append(and_(*found))
        conds.append(or_(*matches))
    return conds


async def rarest_word(session: AsyncSession, flt: PublicFilter) -> tuple[str | None, int]:
    """The word of ``q`` found in the fewest reports and that number (index range counts,
    capped at RARITY_CAP)."""
    if not flt.q or not flt.q.strip():
        return None, 0
    words = search_words(flt.q)[:MAX_QUERY_WORDS]
    best, best_n = None, RARITY_CAP + 1
    for i, word in enumerate(words):
        capped = select(ReportWord.report_id).where(_word_match(word, i == len(words) - 1)) \
            .limit(RARITY_CAP).subquery()
        n = (await session.execute(select(func.count()).select_from(capped))).scalar_one()
        if n < best_n:
            best, best_n = word, n
    return best, best_n


async def _page_driver(session: AsyncSession, flt: PublicFilter) -> str | None:
    """For a page of results: a rare word drives through its index entries; when every word is
    common, None — the newest reports are walked in order and probed, and the first page is
    found after a few hundred probes instead of sorting thousands of candidates."""
    word, n = await rarest_word(session, flt)
    return word if n < RARITY_CAP else None


RARITY_CAP = 5000


def _word_match(word: str, prefix: bool) -> Any:
    """A word, or (``prefix``) every word starting with it, as an index range: words are
    [a-z0-9] only, so the range ends at the prefix with its last character incremented."""
    if not prefix:
        return ReportWord.word == word
    return and_(ReportWord.word >= word, ReportWord.word < word[:-1] + chr(ord(word[-1]) + 1))


_WORDS = re.compile(r"[a-z0-9]+")
MAX_QUERY_WORDS = 8
MAX_WORDS_PER_REPORT = 300


def search_words(text: str) -> list[str]:
    """Folded words in order, no repeats (lower case, no diacritics, đ→d)."""
    return list(dict.fromkeys(w[:64] for w in _WORDS.findall(fold(text))))


def _listing(conds: Sequence[Any]) -> Select[Any]:
    """Newest published first (the order of the ix_portal_*_forwarded indexes)."""
    return (select(Report).where(*conds)
            .order_by(Report.forwarded_at.desc(), Report.id.desc()))


async def contact_names(session: AsyncSession, reports: Sequence[Report]) -> dict[int, str | None]:
    """Citizens' names (for masking them), one query for a page of reports."""
    ids = {r.contact_id for r in reports if r.contact_id}
    if not ids:
        return {}
    rows = await session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(ids)))
    by_contact = dict(rows.all())
    return {r.id: by_contact.get(r.contact_id) for r in reports if r.contact_id}


async def count_public(session: AsyncSession, flt: PublicFilter, cap: int | None = None) -> int:
    """How many public reports match; with ``cap``, counting stops past it (``cap + 1`` means
    "more than cap") — a full-text count over common words would otherwise read every match."""
    if cap is None:
        query = select(func.count()).select_from(Report).where(
            *filter_conditions(flt, (await rarest_word(session, flt))[0]))
    else:
        # Driven by the rarest word's index entries: bounded by how many reports contain it.
        ids = select(Report.id).where(*filter_conditions(flt, (await rarest_word(session, flt))[0]))
        query = select(func.count()).select_from(ids.limit(cap + 1).subquery())
    return int((await session.execute(query)).scalar_one())


async def list_public(session: AsyncSession, flt: PublicFilter, *, page: int = 1,
                      page_size: int = 20, with_total: bool = True) -> PublicPage:
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    offset = min((page - 1) * page_size, MAX_OFFSET)
    conds = filter_conditions(flt, await _page_driver(session, flt))
    reports = list((await session.execute(_listing(conds).offset(offset).limit(page_size))).scalars())
    total = await count_public(session, flt) if with_total else len(reports)
    return PublicPage(reports, total, page, page_size, await contact_names(session, reports))


async def iter_public(session: AsyncSession, flt: PublicFilter, *, limit: int,
                      batch: int = 500) -> list[PublicPage]:
    """Up to ``limit`` reports matching ``flt`` (exports), newest published first, in keyset
    batches."""
    pages: list[PublicPage] = []
    conds = filter_conditions(flt, await _page_driver(session, flt))
    last: tuple[datetime, int] | None = None
    remaining = limit
    while remaining > 0:
        query = select(Report).where(*conds)
        if last is not None:
            query = query.where(or_(Report.forwarded_at < last[0],
                                    and_(Report.forwarded_at == last[0], Report.id < last[1])))
        query = query.order_by(Report.forwarded_at.desc(), Report.id.desc()).limit(min(batch, remaining))
        rows = list((await session.execute(query)).scalars())
        if not rows:
            break
        pages.append(PublicPage(rows, len(rows), 1, len(rows), await contact_names(session, rows)))
        remaining -= len(rows)
        last = (rows[-1].forwarded_at, rows[-1].id)
        if len(rows) < batch:
            break
    return pages


def public_photos(attachments: Sequence[Attachment], hidden: Sequence[str] | set[str]) -> list[Attachment]:
    """The photos of a report the public may see: stored images the center did not hide."""
    return [a for a in attachments if a.kind == "image" and a.state == "stored" and a.sha256
            and a.sha256 not in hidden]


def photo_url(base_url: str, code: str, sha256: str) -> str:
    """The public copy of a report's photo (blurred, no EXIF), as the portal serves it."""
    return f"{base_url.rstrip('/')}/r/{code}/photos/{sha256}.jpg"


@dataclass(slots=True)
class PublicReport:
    report: Report
    contact_name: str | None
    photos: list[Attachment]  # stored images the center did not hide
    events: list[ReportEvent]
    # staff logins among the events' actors ("user:…") → the agency id they work for, or
    # "center" for the center's own staff (the page credits a reply to the right sender)
    staff: dict[str, str] = field(default_factory=dict)


async def public_report(session: AsyncSession, code: str) -> PublicReport | None:
    """The report with this code if it is public (a hidden or untriaged one is None, like a
    missing code)."""
    report = (await session.execute(select(Report).where(
        Report.code == code, *public_conditions()))).scalar_one_or_none()
    if report is None:
        return None
    moderation = await session.get(ReportModeration, report.id)
    hidden = set(moderation.hidden_photos or []) if moderation else set()
    attachments = (await session.execute(select(Attachment).where(
        Attachment.report_id == report.id, Attachment.state == "stored",
        Attachment.kind == "image").order_by(Attachment.id))).scalars().all()
    photos = public_photos(attachments, hidden)
    events = list((await session.execute(select(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.public.is_(True),
        ReportEvent.kind.in_(PUBLIC_EVENT_KINDS)).order_by(ReportEvent.id))).scalars())
    name = None
    if report.contact_id:
        name = (await session.execute(select(Contact.name).where(
            Contact.id == report.contact_id))).scalar_one_or_none()
    return PublicReport(report, name, photos, events, await staff_of(session, events))


async def staff_of(session: AsyncSession, events: Sequence[ReportEvent]) -> dict[str, str]:
    """``{"user:<login>": agency id or "center"}`` for the staff logins acting in ``events``."""
    from store.models import Account

    logins = {e.actor.removeprefix("user:") for e in events if e.actor.startswith("user:")}
    if not logins:
        return {}
    rows = await session.execute(select(Account.username, Account.role, Account.agency_id).where(
        Account.username.in_(logins)))
    return {f"user:{username}": (agency_id if role == "agency" and agency_id else "center")
            for username, role, agency_id in rows}


async def pending_statuses(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    """Code → status of these reports, for those ``public_report`` does not give (still in
    triage, never forwarded): a citizen holding the code may see where it stands, nothing
    more. Missing codes and reports the center hid are left out. One query."""
    if not codes:
        return {}
    rows = await session.execute(select(Report.code, Report.status).where(
        Report.code.in_(list(codes)), _not_hidden()))
    return {code: status for code, status in rows}


@dataclass(slots=True)
class PendingReport:
    """A report that is not public — never forwarded, or hidden by the center — as the citizen
    holding its code may read it: where it stands, the latest note written for the citizen (a
    refusal's reason, an agency's reply or result; unmasked here, with its status or "reply"
    as ``note_kind``) and the report a duplicate joined. Never its text, place or photos."""
    code: str
    status: str
    hidden: bool = False
    note: str | None = None
    note_kind: str | None = None
    duplicate_of: str | None = None
    contact_name: str | None = None
    withdrawn: bool = False  # the citizen withdrew it (router.commands.cancel_report)


async def pending_report(session: AsyncSession, code: str) -> PendingReport | None:
    """One report's ``pending_statuses`` with the latest note for the citizen and the report a duplicate
    joined; hidden reports too (a web citizen reads their updates only on this page)."""
    row = (await session.execute(select(Report).where(Report.code == code))).scalar_one_or_none()
    if row is None:
        return None
    moderation = await session.get(ReportModeration, row.id)
    found = PendingReport(row.code or code, row.status, hidden=bool(moderation and moderation.hidden),
                          duplicate_of=row.duplicate_of if row.status == "duplicate" else None,
                          withdrawn=row.status == "rejected" and bool(
                              (row.extra or {}).get("withdrawn")))
    events = (await session.execute(select(ReportEvent).where(
        ReportEvent.report_id == row.id, ReportEvent.public.is_(True),
        ReportEvent.kind.in_(PUBLIC_EVENT_KINDS), ReportEvent.note.is_not(None))
        .order_by(ReportEvent.id.desc()).limit(20))).scalars()
    for event in events:
        if note_is_public(event.kind, event.status_to, event.actor):
            found.note, found.note_kind = event.note, (
                "reply" if event.kind == "reply" else event.status_to)
            break
    if row.contact_id and found.note:
        found.contact_name = (await session.execute(select(Contact.name).where(
            Contact.id == row.contact_id))).scalar_one_or_none()
    return found


async def public_photo(session: AsyncSession, code: str, sha256: str) -> Attachment | None:
    found = await public_report(session, code)
    if found is None:
        return None
    return next((a for a in found.photos if a.sha256 == sha256), None)


# --- the center's moderation -------------------------------------------------------------------

class UnknownReport(LookupError):
    pass


async def _moderation_for(session: AsyncSession, code: str) -> ReportModeration:
    report_id = (await session.execute(select(Report.id).where(Report.code == code))).scalar()
    if report_id is None:
        raise UnknownReport(code)
    row = await session.get(ReportModeration, report_id)
    if row is None:
        row = ReportModeration(report_id=report_id, hidden=False, hidden_photos=[])
        session.add(row)
    return row


async def set_report_hidden(session: AsyncSession, code: str, hidden: bool, *, actor: str,
                            reason: str | None = None) -> None:
    row = await _moderation_for(session, code)
    row.hidden, row.reason, row.actor, row.updated_at = hidden, reason, actor, utcnow()


class UnknownPhoto(LookupError):
    """The hash is not one of the report's photos: a typo would otherwise be "hidden" while the
    real photo stays public. ``known`` lists the report's photo hashes."""

    def __init__(self, known: list[str]) -> None:
        super().__init__()
        self.known = known


async def set_photo_hidden(session: AsyncSession, code: str, sha256: str, hidden: bool, *,
                           actor: str) -> None:
    """Hide (or show again) one of the report's photos; UnknownPhoto for a hash the report has
    no photo of (showing may still clear a stale entry from the hidden list)."""
    row = await _moderation_for(session, code)
    known = list(dict.fromkeys((await session.execute(
        select(Attachment.sha256).where(Attachment.report_id == row.report_id,
                                        Attachment.sha256.is_not(None))
        .order_by(Attachment.id))).scalars()))
    if sha256 not in known and (hidden or sha256 not in (row.hidden_photos or [])):
        raise UnknownPhoto(known)
    current = [s for s in (row.hidden_photos or []) if s != sha256]
    row.hidden_photos = [*current, sha256] if hidden else current
    row.actor, row.updated_at = actor, utcnow()


# --- folded search text ------------------------------------------------------------------------

async def refresh_search_index(session: AsyncSession, masker: Any, batch: int = 500,
                               since: datetime | None = None) -> int:
    """(Re)fold the public text of public reports that changed since they were indexed.
    ``masker(text, name)`` masks personal data first, so nobody can find a report by searching
    for a phone number it hides. ``since`` limits the pass to reports updated from then on (the
    first pass of a process looks at all). Returns how many rows were written."""
    query = (select(Report.id, Report.description, Report.address, Report.ward, Report.updated_at,
                    Contact.name, ReportSearch.report_id)
             .outerjoin(Contact, Contact.id == Report.contact_id)
             .outerjoin(ReportSearch, ReportSearch.report_id == Report.id)
             .where(Report.forwarded_at.is_not(None),
                    or_(ReportSearch.report_id.is_(None),
                        ReportSearch.source_updated_at < Report.updated_at))
             .limit(batch))
    if since is not None:  # only what changed since the last pass (ix_portal_updated)
        query = query.where(Report.updated_at >= since)
    rows = (await session.execute(query)).all()
    if rows:
        await session.execute(delete(ReportWord).where(ReportWord.report_id.in_([r[0] for r in rows])))
    words_rows: list[dict[str, Any]] = []
    for report_id, description, address, ward, updated, name, indexed in rows:
        text = fold(" ".join(masker(t, name) for t in (description, address) if t) + " " + (ward or ""))
        if indexed is None:
            session.add(ReportSearch(report_id=report_id, text=text, source_updated_at=updated))
        else:
            row = await session.get(ReportSearch, report_id)
            if row is not None:
                row.text, row.source_updated_at = text, updated
        words_rows += [{"word": w, "report_id": report_id} for w in search_words(text)[:MAX_WORDS_PER_REPORT]]
    if words_rows:
        await session.execute(insert(ReportWord), words_rows)
    return len(rows)


# --- map ---------------------------------------------------------------------------------------

def _cell_size(zoom: int) -> float:
    """Degrees per cluster cell: about 60 px of map at this zoom."""
    return 360.0 / (2 ** max(0, min(zoom, 20))) / 256 * 60


async def map_clusters(session: AsyncSession, *, zoom: int, bbox: tuple[float, float, float, float] | None,
                       since: datetime, decimals: int = 3) -> list[dict[str, Any]]:
    """Open reports and those resolved since ``since``, grouped in SQL into grid cells (one
    marker per cell with its count; a single report keeps its code). Coordinates are rounded."""
    cell = _cell_size(zoom)
    conds = [*public_conditions(), Report.lat.is_not(None), Report.lon.is_not(None),
             or_(Report.status.in_(STATUS_GROUPS["open"]),
                 and_(Report.status.in_(STATUS_GROUPS["done"]), Report.resolved_at >= since))]
    if bbox is not None:
        south, west, north, east = bbox
        conds += [Report.lat.between(south, north), Report.lon.between(west, east)]
    gx = func.floor(Report.lon / cell)
    gy = func.floor(Report.lat / cell)
    query = (select(gx, gy, func.count(), func.avg(Report.lat), func.avg(Report.lon), func.min(Report.code),
                    func.sum(case((Report.status.in_(STATUS_GROUPS["done"]), 1), else_=0)))
             .where(*conds).group_by(gx, gy).limit(2000))
    out = []
    for _, _, n, lat, lon, code, done in (await session.execute(query)).all():
        item: dict[str, Any] = {"lat": round(lat, decimals), "lon": round(lon, decimals), "count": int(n),
                                "resolved": int(done or 0)}
        if n == 1:
            item["code"] = code
        out.append(item)
    return out

