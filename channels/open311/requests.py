"""Reading service requests: the GET requests query (filters, the spec's default window) and
each report as a GeoReport v2 ``request`` without personal data.

The public form is the one the portal shows (``store.serialize.report_dict(public=True)``:
phones, emails and the citizen's name masked, only public events); from it ``status_notes``
takes the latest public note a person wrote (an agency's result, the center's reason), never
the system's routing words. The page's contacts, attachments, events and agency names are
loaded in three queries, not three per report.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.open311.render import w3c
from normalizer.schema import CATEGORIES, OPEN_STATUSES
from normalizer.text import fold
from store.models import Attachment, Contact, Report, ReportEvent
from store.params import MAX_OFFSET
from store.public_models import ReportModeration
from store.public_reports import PendingReport, photo_url, public_conditions, public_photos
from store.serialize import public_text, public_text_for, report_dict

DEFAULT_WINDOW = timedelta(days=90)  # "the range defaults to most recent 90 days"
MAX_WINDOW = timedelta(days=90)      # "may not span more than 90 days"
MAX_REQUESTS = 1000                  # "or first 1000 requests returned"
# Every field of a GeoReport v2 request, in the spec's order (as_request fills them all).
REQUEST_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url")
# Events by these actors carry the system's own words ("đúng lĩnh vực và địa bàn",
# "tiếp nhận qua web"): public on the timeline, but not notes on the request's status.
NOT_STATUS_NOTES = ("system", "citizen")
# address_id and zipcode are references (an address database's key, a postal code), given back
# only when they look like one: no spaces, letters, digits and . _ : / -, and nothing masking
# would change (a phone number, an email); free text someone typed there is not shown.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def _names_citizen(text: str, name: str | None) -> bool:
    """A reference that spells the citizen's name, run together or split by case or by
    ``. _ : / -`` ("TranThiMai", "tran.thi.mai", "tranthimai" for Trần Thị Mai): the masking
    public text gets, applied to the reference's words, and the whole name without spaces."""
    if not name or not name.strip():
        return False
    spread = re.sub(r"[._:/-]+", " ", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text))
    if public_text_for(spread, name) != spread:
        return True

    def letters(value: str) -> str:
        return re.sub(r"[^a-z]", "", fold(value).lower())
    whole = letters(name)
    return len(whole) >= 4 and whole in letters(text)


def public_reference(value: Any, contact_name: str | None = None) -> str | None:
    """``value`` if it is a plain reference that carries no personal data, else None."""
    text = str(value or "").strip()
    if not text or not _REFERENCE.fullmatch(text):
        return None
    if public_text_for(text, contact_name) != text or _names_citizen(text, contact_name):
        return None
    return text


# A request placed only by its address_id (no address_string) keeps it as its address text,
# so the agency reading the report sees where it is; public answers give it as address_id
# (when a plain reference), never as this text.
ADDRESS_ID_LABEL = "Mã địa chỉ (address_id): "
ADDRESS_ID_MAX = 200


def address_from_id(address_id: str) -> str:
    return ADDRESS_ID_LABEL + address_id.strip()[:ADDRESS_ID_MAX]


class QueryError(ValueError):
    """A bad GET requests query: a 400 with this description."""


# "2026-12-03T00:00:00+07:00" sent with its "+" unencoded reaches us with a space there (a
# query string's "+" is a space): taken as the "+" the client meant.
_SPACED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def _when(raw: str, key: str) -> datetime:
    try:
        value = datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1+\2", raw.strip()))
    except ValueError:
        raise QueryError(f"{key} must be a W3C datetime, e.g. 2026-01-01T00:00:00Z") from None
    if value.tzinfo is None:
        raise QueryError(f"{key} must carry a time zone (Z or ±hh:mm)")
    return value


def asked_ids(query: Any) -> list[str]:
    """The codes of ``service_request_id`` (comma separated), at most ``MAX_REQUESTS``."""
    return [c.strip() for c in (query.get("service_request_id") or "").split(",")
            if c.strip()][:MAX_REQUESTS]


def request_filters(query: Any, now: datetime) -> tuple[list[Any], int, int]:
    """The WHERE conditions, limit and offset of GET requests (``page_size``/``limit``, 1-based
    ``page``). ``service_request_id`` overrides every
    other argument, as the spec says; otherwise the window defaults to the last 90 days."""
    ids = asked_ids(query)
    if ids:
        return [Report.code.in_(ids)], MAX_REQUESTS, 0
    conds: list[Any] = []
    codes = [c.strip() for c in (query.get("service_code") or "").split(",") if c.strip()]
    if codes:
        conds.append(Report.category.in_(codes))
    statuses = {s.strip() for s in (query.get("status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise QueryError("status must be open, closed or both (comma separated)")
    if statuses == {"open"}:
        conds.append(Report.status.in_(OPEN_STATUSES))
    elif statuses == {"closed"}:
        conds.append(Report.status.not_in(OPEN_STATUSES))
    start = _when(query["start_date"], "start_date") if (query.get("start_date") or "").strip() else None
    end = _when(query["end_date"], "end_date") if (query.get("end_date") or "").strip() else None
    if start is None:
        start = (end or now) - DEFAULT_WINDOW
    elif end is not None and end - start > MAX_WINDOW:
        raise QueryError("start_date and end_date may not span more than 90 days")
    elif end is not None and end < start:
        raise QueryError("end_date is before start_date")
    conds.append(Report.created_at >= start)
    if end is not None:
        conds.append(Report.created_at <= end)
    limit = min(_positive(query.get("page_size") or query.get("limit"), "page_size/limit",
                          MAX_REQUESTS), MAX_REQUESTS)
    page = _positive(query.get("page"), "page", 1)
    return conds, limit, (min(page, MAX_OFFSET // limit) - 1) * limit


def _positive(raw: str | None, key: str, default: int) -> int:
    """A whole number from 1; 0, a negative number or anything else is a QueryError, never
    quietly another page or size."""
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{key} must be a whole number from 1") from None
    if value < 1:
        raise QueryError(f"{key} must be a whole number from 1")
    return value


async def find_requests(session: AsyncSession, conds: list[Any], limit: int,
                        offset: int = 0) -> list[Report]:
    """Public reports only, as on the portal: forwarded at least once and not hidden (a report
    still in triage is in no list; ``pending_request`` answers for its code alone). Newest
    first, then by id: a stable order, so paging through gives each report once."""
    query = select(Report).where(Report.code.is_not(None), and_(*conds), *public_conditions())
    return list((await session.execute(
        query.order_by(Report.created_at.desc(), Report.id.desc()).offset(offset).limit(limit))).scalars())


@lru_cache(maxsize=1)
def _ward_centres() -> dict[str, tuple[float, float]]:
    from normalizer.places import DATA

    units = json.loads(DATA.read_text(encoding="utf-8"))["units"]
    return {u["name"]: (u["lat"], u["lon"]) for u in units}


# status_notes of a report the center merged into another: which one to follow instead (the
# portal words it on the report's page; Open311 clients only have this field).
DUPLICATE_NOTE = "Trùng với phản ánh {original}; mời theo dõi phản ánh đó."


def merged_note(status: str, duplicate_of: str | None) -> str | None:
    return DUPLICATE_NOTE.format(original=duplicate_of) if status == "duplicate" and duplicate_of else None


def pending_request(found: PendingReport) -> dict[str, Any]:
    """A report not public (still in triage, or refused or merged before it was forwarded): its
    code, whether it is open and ``status_notes`` — the center's latest note for the citizen
    (masked: a refusal's reason) or the report it was merged into; every other field null — the
    citizen's text and place become public only once the center forwards it."""
    note = merged_note(found.status, found.duplicate_of) or (
        public_text_for(found.note, found.contact_name) if found.note else None)
    return {key: None for key in REQUEST_FIELDS} | {
        "service_request_id": found.code, "status": "open" if found.status in OPEN_STATUSES else "closed",
        "status_notes": note}


async def public_requests(session: AsyncSession, reports: list[Report],
                          zone: ZoneInfo, decimals: int, base_url: str = "") -> list[dict[str, Any]]:
    """``media_url`` is the hub's own public copy of the report's first photo the center did
    not hide (as FixMyStreet serves its copy), never the URL the client sent: that one is the
    client's, may name the citizen and is not ours to publish."""
    if not reports:
        return []
    ids = [r.id for r in reports]
    contact_ids = {r.contact_id for r in reports if r.contact_id}
    contacts = {c.id: c for c in (await session.execute(
        select(Contact).where(Contact.id.in_(contact_ids)))).scalars()} if contact_ids else {}
    attachments: dict[int, list[Attachment]] = defaultdict(list)
    for att in (await session.execute(select(Attachment).where(
            Attachment.report_id.in_(ids)).order_by(Attachment.id))).scalars():
        attachments[att.report_id].append(att)
    events: dict[int, list[ReportEvent]] = defaultdict(list)
    for event in (await session.execute(select(ReportEvent).where(
            ReportEvent.report_id.in_(ids)).order_by(ReportEvent.id))).scalars():
        events[event.report_id].append(event)
    hidden = {row.report_id: set(row.hidden_photos or []) for row in (await session.execute(
        select(ReportModeration).where(ReportModeration.report_id.in_(ids)))).scalars()}
    out = []
    for report in reports:
        contact = contacts.get(report.contact_id) if report.contact_id else None
        public = report_dict(report, contact=contact, attachments=attachments[report.id],
                             events=events[report.id], base_url="", public=True)
        photos = public_photos(attachments[report.id], hidden.get(report.id, set()))
        media = photo_url(base_url, report.code, photos[0].sha256) if photos and report.code else None
        out.append(as_request(report, public, contact, zone, decimals, media_url=media))
    return out


def _names_ward(address: str, ward: str) -> bool:
    """The address already names the ward, compared without case or diacritics ("phường
    Thuận Hoà" and "PHUONG THUAN HOA" name "Phường Thuận Hóa"), as whole words ("Phường Phú
    Hội Tây" does not name "Phường Phú Hội"): the name ends the address, a punctuation mark or
    a larger unit's word follows it ("…, phường Thuận Hóa thành phố Huế")."""
    follows = r"(?:$|\s*[^\w\s]|\s+(?:thanh pho|tp|tinh|quan|huyen|thi xa|hue)\b)"
    return re.search(rf"(?<!\w){re.escape(fold(ward))}{follows}", fold(address)) is not None


def as_request(report: Report, public: dict[str, Any], contact: Contact | None,
               zone: ZoneInfo, decimals: int, media_url: str | None = None) -> dict[str, Any]:
    """One GeoReport v2 ``request``, every field of the spec present (null when unknown).
    ``media_url`` is the public photo's URL (``public_requests``); ``address_id`` and
    ``zipcode`` come back only as plain references (``public_reference``)."""
    notes = [e["note"] for e in public["events"]
             if e.get("note") and e.get("actor") not in NOT_STATUS_NOTES]
    given = (report.extra or {}).get("open311") or {}
    name = contact.name if contact is not None else None
    code = report.category or "other"
    address = public_text(report.address, contact) if report.address else None
    if report.address and report.address.startswith(ADDRESS_ID_LABEL):
        address = None  # only the address_id, given below when it is a plain reference
    if report.ward and not (address and _names_ward(address, report.ward)):
        address = f"{address}, {report.ward}" if address else report.ward
    lat, lon = report.lat, report.lon
    if (lat is None or lon is None) and report.ward in _ward_centres():
        # An address-only report is shown at its ward's centre (the ward was resolved from
        # the address): clients that draw a map need a point.
        lat, lon = _ward_centres()[report.ward]
    if lat is not None and lon is not None:  # rounded, as on every public answer
        lat, lon = round(lat, decimals), round(lon, decimals)
    return {
        "service_request_id": report.code,
        "status": "open" if report.status in OPEN_STATUSES else "closed",
        "status_notes": merged_note(report.status, report.duplicate_of) or (notes[-1] if notes else None),
        "service_name": CATEGORIES.get(code, CATEGORIES["other"]),
        "service_code": code,
        "description": public["description"],
        # The agency's id, as on the portal's /agencies/{id} and in the report JSON.
        "agency_responsible": report.agency_id,
        "service_notice": None,
        "requested_datetime": w3c(report.created_at, zone),
        "updated_datetime": w3c(report.updated_at, zone),
        "expected_datetime": w3c(report.due_at, zone),
        "address": address,
        "address_id": public_reference(given.get("address_id"), name),
        "zipcode": public_reference(given.get("zipcode"), name),
        "lat": lat,
        "long": lon,
        "media_url": media_url,
    }

