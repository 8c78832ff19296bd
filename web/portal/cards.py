"""A public report as the portal shows it in lists, feeds and exports: masked, rounded,
labelled in Vietnamese. Masking runs phonenumbers over the text, so results are cached per
report version (id, updated_at)."""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from normalizer.schema import CATEGORIES
from router.templates import status_label
from router.views import due_state
from store.models import Report
from store.serialize import public_text_for

CATEGORY_LABELS: dict[str, str] = {key: label.split(" (")[0] for key, label in CATEGORIES.items()}
# CSV/JSON columns of the open data export, in order (documented in docs/portal.md).
COLUMNS = ("code", "url", "created_at", "updated_at", "status", "status_label", "category",
           "category_label", "agency", "agency_name", "ward", "address", "lat", "lon",
           "due_at", "due", "resolved_at", "rating", "description")


class MaskCache:
    """LRU of masked texts keyed by (report id, updated_at, field)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    def get(self, key: tuple[Any, ...], text: str | None, name: str | None) -> str:
        if not text:
            return ""
        hit = self.items.get(key)
        if hit is not None:
            self.items.move_to_end(key)
            return hit
        value = public_text_for(text, name)
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def rounded(value: float | None, decimals: int) -> float | None:
    return round(value, decimals) if value is not None else None


def card(report: Report, name: str | None, agencies: dict[str, str], *, base_url: str,
         decimals: int, now: datetime, masks: MaskCache) -> dict[str, Any]:
    version = (report.id, report.updated_at)
    description = masks.get((*version, "d"), report.description, name)
    return {
        "code": report.code,
        "url": f"{base_url.rstrip('/')}/r/{report.code}",
        "created_at": report.created_at,
        "updated_at": report.updated_at,
        "status": report.status,
        "status_label": status_label(report.status, report.extra),
        "category": report.category,
        "category_label": CATEGORY_LABELS.get(report.category or "other", ""),
        "agency": report.agency_id,
        "agency_name": agencies.get(report.agency_id or "", None),
        "ward": report.ward,
        "address": masks.get((*version, "a"), report.address, name) or None,
        "lat": rounded(report.lat, decimals),
        "lon": rounded(report.lon, decimals),
        "due_at": report.due_at,
        "due": due_state(report, now),
        "resolved_at": report.resolved_at,
        "rating": report.rating_score,
        "description": description,
        "title": _title(description, report),
    }


def _title(description: str, report: Report) -> str:
    """A one-line title: the first sentence of the (masked) description, ≤ 90 characters."""
    first = description.strip().split("\n", 1)[0]
    for stop in (". ", "! ", "? "):
        if stop in first:
            first = first.split(stop, 1)[0]
    if len(first) > 90:
        first = first[:87].rsplit(" ", 1)[0] + "…"
    return first or CATEGORY_LABELS.get(report.category or "other", "Phản ánh")


def export_row(item: dict[str, Any]) -> dict[str, Any]:
    """The open data row: ISO times (UTC offset of Vietnam), no title."""
    def iso(value: Any) -> Any:
        from web.portal.render import iso_time

        return iso_time(value) if isinstance(value, datetime) else value
    return {k: iso(item[k]) for k in COLUMNS}
