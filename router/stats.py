"""Public per-agency statistics: received, resolved, on time, median days to resolve,
satisfaction. Counts only — no description, place or person ever enters them.

``agency_stats`` aggregates in SQL; ``aggregate`` is the same definition over rows in Python,
the reference the tests check the SQL against."""
from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

OPEN_AT_AGENCY = ("forwarded", "in_progress")
RESOLVED = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class StatRow:
    agency_id: str | None
    status: str
    forwarded_at: datetime | None
    due_at: datetime | None
    resolved_at: datetime | None
    rating: int | None


def aggregate(rows: Iterable[StatRow], agencies: Sequence[tuple[str, str]],
              now: datetime) -> dict[str, Any]:
    """Pure: rows → {"agencies": [...], "total": {...}}. ``agencies`` is (id, name) in display
    order; reports of agencies no longer configured are counted in the total only."""
    per: dict[str, dict[str, Any]] = {
        aid: {"received": 0, "open": 0, "overdue": 0, "resolved": 0, "on_time": 0,
              "_days": [], "_ratings": []} for aid, _ in agencies}
    total = {"reports": 0, "in_triage": 0, "resolved": 0, "ratings": 0}
    all_ratings: list[int] = []
    for row in rows:
        total["reports"] += 1
        if row.agency_id is None and row.status in ("received", "triage", "returned"):
            total["in_triage"] += 1
        if row.status in RESOLVED:
            total["resolved"] += 1
        if row.rating is not None:
            all_ratings.append(row.rating)
        bucket = per.get(row.agency_id or "")
        if bucket is None:
            continue
        bucket["received"] += 1
        if row.status in OPEN_AT_AGENCY:
            bucket["open"] += 1
            if row.due_at is not None and row.due_at < now:
                bucket["overdue"] += 1
        if row.status in RESOLVED and row.resolved_at is not None:
            bucket["resolved"] += 1
            if row.due_at is not None and row.resolved_at <= row.due_at:
                bucket["on_time"] += 1
            if row.forwarded_at is not None:
                bucket["_days"].append((row.resolved_at - row.forwarded_at).total_seconds() / 86400)
        if row.rating is not None:
            bucket["_ratings"].append(row.rating)
    out = []
    for aid, name in agencies:
        b = per[aid]
        days, ratings = b.pop("_days"), b.pop("_ratings")
        out.append({
            "agency": aid, "name": name, **b,
            "on_time_rate": round(b["on_time"] / b["resolved"], 3) if b["resolved"] else None,
            "median_days_to_resolve": round(statistics.median(days), 1) if days else None,
            "satisfaction": {"average": round(statistics.fmean(ratings), 2) if ratings else None,
                             "ratings": len(ratings)},
        })
    total["ratings"] = len(all_ratings)
    total["satisfaction"] = round(statistics.fmean(all_ratings), 2) if all_ratings else None
    return {"agencies": out, "total": total}


async def agency_stats(session: AsyncSession, agencies: Sequence[tuple[str, str]], now: datetime,
                       since: datetime | None = None) -> dict[str, Any]:
    """The same figures as ``aggregate`` (kept as the readable reference the tests compare
    with), aggregated in SQL: a few GROUP BY queries instead of every row in Python. The median
    counts working days (weekends and configured holidays skipped: store.public_stats)."""
    from store.public_stats import agency_counts, median_working_days, totals

    counts = await agency_counts(session, now, since)
    medians = await median_working_days(session, since)
    out = []
    for aid, name in agencies:
        c = counts.get(aid) or {"received": 0, "open": 0, "overdue": 0, "resolved": 0, "on_time": 0,
                                "rating": None, "ratings": 0}
        out.append({
            "agency": aid, "name": name, "received": c["received"], "open": c["open"],
            "overdue": c["overdue"], "resolved": c["resolved"], "on_time": c["on_time"],
            "on_time_rate": round(c["on_time"] / c["resolved"], 3) if c["resolved"] else None,
            "median_days_to_resolve": medians.get(aid),
            "satisfaction": {"average": round(c["rating"], 2) if c["rating"] is not None else None,
                             "ratings": c["ratings"]},
        })
    return {"agencies": out, "total": await totals(session, since)}
