"""Which agency gets a report: pure function over settings data.

The most specific rule wins: category+area over category over area. No match, or a
classification below the triage threshold, sends the report to the center's triage queue.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from normalizer.places import ward_key
from normalizer.schema import CATEGORIES

# (a ward name's key is folded text: the same few names are keyed for every report)
_area_key = lru_cache(maxsize=4096)(ward_key)


@dataclass(frozen=True, slots=True)
class AgencyRule:
    id: str
    categories: tuple[str, ...]
    areas: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgencyIndex:
    rules: list[AgencyRule]
    by_id: dict[str, Any]  # the first agency of a repeated id, as a scan of the list finds it


# The index of the agencies list it was made from: settings do not change while they are loaded,
# and a reload brings a new list. Asked for every report routed.
_index: tuple[object, AgencyIndex] = (None, AgencyIndex([], {}))


def agency_index(agencies: Sequence[Any]) -> AgencyIndex:
    """The routing rules of the configured agencies (``AgencySettings``), and the agencies by id."""
    global _index
    if _index[0] is not agencies:
        by_id: dict[str, Any] = {}
        for agency in agencies:
            by_id.setdefault(agency.id, agency)
        _index = (agencies, AgencyIndex(
            [AgencyRule(a.id, tuple(a.categories), tuple(a.areas)) for a in agencies], by_id))
    return _index[1]


@dataclass(frozen=True, slots=True)
class RouteDecision:
    agency_id: str | None  # None → triage
    reason: str


def choose_agency(category: str | None, confidence: float | None, ward: str | None,
                  rules: Sequence[AgencyRule], threshold: float) -> RouteDecision:
    if not category or category == "other":
        return RouteDecision(None, "chưa rõ lĩnh vực: Trung tâm phân loại")
    if confidence is None or confidence < threshold:
        return RouteDecision(None, f"độ tin cậy phân loại {confidence or 0:.2f} dưới ngưỡng "
                                   f"{threshold:.2f}: Trung tâm xem xét")
    wanted = _area_key(ward) if ward else None
    best: tuple[int, str] | None = None
    for rule in rules:
        cat_match = category in rule.categories
        area_match = wanted is not None and wanted in {_area_key(a) for a in rule.areas}
        if rule.categories and not cat_match:
            continue
        if rule.areas and not area_match:
            continue
        if not rule.categories and not rule.areas:
            continue
        score = (2 if cat_match else 0) + (1 if area_match else 0)
        if best is None or score > best[0]:
            best = (score, rule.id)
    if best is None:
        label = CATEGORIES.get(category, category)
        return RouteDecision(None, f"chưa có đơn vị phụ trách lĩnh vực {label}"
                                   + (f" tại {ward}" if ward else " (chưa rõ địa bàn)"))
    return RouteDecision(best[1], "đúng lĩnh vực và địa bàn" if best[0] == 3
                         else "đúng lĩnh vực" if best[0] == 2 else "đúng địa bàn")
