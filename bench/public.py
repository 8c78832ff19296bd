"""Public portal benchmark: the portal's pages and open data over 100,000 reports.

Seeds N reports (bulk insert, a year of history over five agencies, every status, wards,
coordinates, ratings; ~90 % public), their folded search text and the working-day calendar,
then times requests through the real app on loopback (workers off): the list (plain, each
filter, full text with and without diacritics, a deep page), the agencies, an agency page,
home, a report page, JSON/CSV/Atom exports, the map clusters — with the default caching (30 s,
served stale while one task recomputes) and, as ``uncached_*``, with every cache off. The
search-text job is timed too (masking + folding per report).

    .venv/bin/python bench/public.py [--reports 100000] [--requests 60] [--db URL]

Prints one JSON line: p50/p95 in milliseconds per page.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.seed import AGENCIES, CATEGORY_AGENCY, STREETS, TEXTS  # noqa: E402


def _settings(db_url: str, media: str, cache_seconds: float) -> Any:
    from hub.settings import Settings

    return Settings.model_validate({
        "database": {"url": db_url}, "storage": {"media_dir": media},
        "workers": {"enabled": False}, "log_format": "text", "log_level": "WARNING",
        "portal": {"stats_cache_seconds": cache_seconds}, "agencies": AGENCIES})


async def _seed(sessions: Any, n: int) -> dict[str, Any]:
    from sqlalchemy import insert, select

    from normalizer.places import list_wards
    from normalizer.text import fold
    from store.models import Report, utcnow
    from store.public_models import ReportSearch, ReportWord
    from store.public_reports import search_words

    rnd = random.Random(16)
    now = utcnow()
    wards = list_wards()
    categories = list(CATEGORY_AGENCY)
    rows = []
    for i in range(n):
        category = rnd.choice(categories)
        created = now - timedelta(minutes=rnd.randrange(0, 365 * 24 * 60))
        public = rnd.random() < 0.9
        status = rnd.choice(["forwarded", "in_progress", "resolved", "resolved", "closed", "rejected"]) \
            if public else rnd.choice(["received", "triage"])
        forwarded = created + timedelta(minutes=rnd.randrange(5, 600)) if public else None
        resolved = forwarded + timedelta(hours=rnd.randrange(2, 24 * 15)) \
            if forwarded and status in ("resolved", "closed") else None
        text = rnd.choice(TEXTS).format(street=rnd.choice(STREETS), n=rnd.randrange(1, 200))
        rows.append({
            "code": f"PA-2026-{i + 1:06d}", "channel": rnd.choice(["zalo", "messenger", "web", "hotline", "email"]),
            "status": status, "category": category, "description": text, "ward": rnd.choice(wards),
            "lat": 16.40 + rnd.random() * 0.12, "lon": 107.52 + rnd.random() * 0.14,
            "agency_id": CATEGORY_AGENCY[category] if public and status != "rejected" else None,
            "created_at": created, "updated_at": resolved or forwarded or created, "last_message_at": created,
            "forwarded_at": forwarded, "resolved_at": resolved,
            "due_at": forwarded + timedelta(days=rnd.choice([3, 5, 7, 10])) if forwarded else None,
            "rating_score": rnd.choice([None, None, 3, 4, 5, 2, 1]) if resolved else None,
            "external_ids": [], "reply_context": {}, "extra": {}})
    started = time.perf_counter()
    # One transaction with the search text, so the portal's search job never sees half of it.
    async with sessions() as session, session.begin():
        for chunk in range(0, n, 5000):
            await session.execute(insert(Report), rows[chunk:chunk + 5000])
        seeded = time.perf_counter() - started
        ids = (await session.execute(select(Report.id, Report.description, Report.ward, Report.updated_at)
                                     .where(Report.forwarded_at.is_not(None)))).all()
        search = [{"report_id": i, "text": fold(f"{d} {w}"), "source_updated_at": u} for i, d, w, u in ids]
        for chunk in range(0, len(search), 5000):
            await session.execute(insert(ReportSearch), search[chunk:chunk + 5000])
        words = [{"word": w, "report_id": row["report_id"]} for row in search for w in search_words(row["text"])]
        for chunk in range(0, len(words), 20000):
            await session.execute(insert(ReportWord), words[chunk:chunk + 20000])
    return {"seed_seconds": round(seeded, 1), "public": len(ids)}


async def _time(client: Any, path: str, n: int) -> dict[str, float]:
    await (await client.get(path)).read()  # warm-up (templates compiled, caches filled)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        resp = await client.get(path)
        await resp.read()
        assert resp.status == 200, (path, resp.status)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": round(statistics.median(times), 1),
            "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1)}


async def _search_job_rate(sessions: Any, sample: int) -> float:
    """Reports per second the search-text job masks and folds (its rows are dropped first)."""
    from sqlalchemy import delete, select

    from store.public_models import ReportSearch
    from store.public_reports import refresh_search_index
    from store.serialize import public_text_for

    async with sessions() as session, session.begin():
        ids = list((await session.execute(select(ReportSearch.report_id).limit(sample))).scalars())
        await session.execute(delete(ReportSearch).where(ReportSearch.report_id.in_(ids)))
    started = time.perf_counter()
    done = 0
    while done < sample:
        async with sessions() as session, session.begin():
            n = await refresh_search_index(session, public_text_for, batch=500)
        if not n:
            break
        done += n
    return round(done / (time.perf_counter() - started))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from aiohttp.test_utils import TestClient, TestServer

    from hub.app import create_app
    from web.context import WEB_CONTEXT
    from web.portal import sync_calendar

    tmp = tempfile.mkdtemp(prefix="bench-public-")
    db_url = args.db or f"sqlite+aiosqlite:///{tmp}/hub.db"
    out: dict[str, Any] = {"report_count": args.reports, "requests_per_page": args.requests, "db": db_url.split(":")[0]}
    pages = {
        "reports": "/reports", "reports_category": "/reports?category=environment",
        "reports_ward": "/reports?ward=Phường Phú Xuân", "reports_status_open": "/reports?status=open",
        "reports_agency_status": "/reports?agency=cong-an&status=done",
        "reports_q_diacritics": "/reports?q=ổ gà", "reports_q_plain": "/reports?q=o ga le loi",
        "reports_page_200": "/reports?page=200", "home": "/", "agency": "/agencies/moi-truong",
        "report": "/r/PA-2026-000010", "json_100": "/api/public/reports.json",
        "csv_1000": "/api/public/reports.csv", "atom": "/reports.atom",
        "map": "/api/public/map.json?zoom=13&bbox=16.38,107.50,16.54,107.68",
    }
    # The portal as configured by default (statistics and counts cached 30 s, served stale while
    # one task recomputes), then with every cache off: what a reader would wait for without it.
    for cache in (30.0, 0.0):
        app = create_app(_settings(db_url, f"{tmp}/media", cache))
        async with TestClient(TestServer(app)) as client:
            ctx = client.app[WEB_CONTEXT]
            if cache:
                out.update(await _seed(ctx.sessions, args.reports))
                await sync_calendar(ctx)
                for name, path in pages.items():
                    out[name] = await _time(client, path, args.requests)
                out["agencies"] = await _time(client, "/agencies", args.requests)
                out["search_job_reports_per_s"] = await _search_job_rate(ctx.sessions, 2000)
            else:
                for name, path in (("agencies", "/agencies"), ("agency", "/agencies/moi-truong"),
                                   ("reports", "/reports"), ("reports_status_open", "/reports?status=open"),
                                   ("reports_q_plain", "/reports?q=o ga le loi"), ("home", "/"),
                                   ("map", pages["map"])):
                    out[f"uncached_{name}"] = await _time(client, path, max(5, args.requests // 4))
    targets = [k for k in ("reports", "reports_category", "reports_ward", "reports_status_open",
                           "reports_agency_status", "reports_q_diacritics", "reports_q_plain",
                           "reports_page_200", "agencies", "agency")]
    out["p95_max_reports_and_agencies_ms"] = max(out[k]["p95"] for k in targets)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
