"""Router benchmark: the agency API and the router's periodic work over a seeded database.

Seeds N reports (bulk insert) spread over the configured agencies and statuses, then measures
through the real app on loopback (workers off, so only the API is timed): the agency queue
page, one report, status changes (each = validation + event + citizen outbox row in one
transaction) with some concurrency, the public statistics, one SLA pass and one gauge refresh.

    .venv/bin/python bench/router.py [--reports 20000] [--changes 400] [--concurrency 8] [--db URL]

Prints one JSON line.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _settings(db_url: str, media: str):  # noqa: ANN202
    from hub.settings import Settings

    return Settings.model_validate({
        "database": {"url": db_url}, "storage": {"media_dir": media},
        "workers": {"enabled": False}, "log_format": "text", "log_level": "WARNING",
        "agencies": [
            {"id": "moi-truong", "name": "Công ty Môi trường", "categories": ["environment"]},
            {"id": "so-xay-dung", "name": "Sở Xây dựng",
             "categories": ["traffic_infrastructure", "urban_infrastructure", "construction_order"]},
            {"id": "cong-an", "name": "Công an", "categories": ["public_order"]},
        ]})


async def _seed(hub, n: int) -> None:  # noqa: ANN001
    from sqlalchemy import insert

    from store.models import Report, utcnow

    rnd = random.Random(7)
    now = utcnow()
    agencies = ["moi-truong", "so-xay-dung", "cong-an", None]
    statuses = ["forwarded"] * 5 + ["in_progress"] * 3 + ["resolved"] * 4 + ["closed", "rejected"]
    rows = []
    for i in range(1, n + 1):
        agency = rnd.choice(agencies)
        status = rnd.choice(statuses) if agency else "triage"
        created = now - timedelta(days=rnd.uniform(0, 60))
        forwarded = created + timedelta(minutes=1) if agency else None
        resolved = (forwarded + timedelta(days=rnd.uniform(0.2, 12))
                    if status in ("resolved", "closed") and forwarded else None)
        rows.append({
            "id": i, "code": f"PA-2026-{i:06d}", "channel": "web", "status": status,
            "category": "environment", "category_confidence": 0.9,
            "description": "Rác thải ùn ứ", "agency_id": agency, "reply_address": f"device:{i}",
            "reply_context": {}, "external_ids": [], "extra": {}, "created_at": created,
            "updated_at": created, "last_message_at": created, "forwarded_at": forwarded,
            "due_at": forwarded + timedelta(days=rnd.uniform(-5, 10)) if forwarded else None,
            "resolved_at": resolved,
            "rating_score": rnd.randint(1, 5) if resolved and rnd.random() < 0.4 else None})
    async with hub.sessions() as session, session.begin():
        for start in range(0, n, 5000):
            await session.execute(insert(Report), rows[start:start + 5000])


def _ms(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples) * 1000, 2),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1] * 1000, 2)}


async def run(args: argparse.Namespace) -> dict:
    from aiohttp.test_utils import TestClient, TestServer
    from sqlalchemy import select

    from hub.app import create_app
    from hub.keys import HUB_KEY
    from router.jobs import check_deadlines, refresh_gauges
    from store.models import Report
    from store.tokens import issue_token

    tmp = tempfile.mkdtemp(prefix="router-bench-")
    db_url = args.db or f"sqlite+aiosqlite:///{tmp}/hub.db"
    app = create_app(_settings(db_url, f"{tmp}/media"))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        hub = app[HUB_KEY]
        t0 = time.perf_counter()
        await _seed(hub, args.reports)
        seed_s = time.perf_counter() - t0
        async with hub.sessions() as session, session.begin():
            agency = {"Authorization": f"Bearer {await issue_token(session, 'moi-truong')}"}
            center = {"Authorization": f"Bearer {await issue_token(session, 'center')}"}
        async with hub.sessions() as session:
            open_codes = list((await session.execute(select(Report.code).where(
                Report.agency_id == "moi-truong", Report.status == "forwarded")
                .limit(args.changes))).scalars())

        async def timed(method: str, path: str, headers: dict, **kw) -> float:  # noqa: ANN003
            start = time.perf_counter()
            resp = await client.request(method, path, headers=headers, **kw)
            await resp.read()
            assert resp.status < 300, (path, resp.status)
            return time.perf_counter() - start

        queue = [await timed("GET", "/api/v1/queue?limit=100", agency) for _ in range(100)]
        center_queue = [await timed("GET", "/api/v1/queue?limit=100&overdue=1", center)
                        for _ in range(50)]
        one = [await timed("GET", f"/api/v1/reports/{c}", agency) for c in open_codes[:100]]

        sem = asyncio.Semaphore(args.concurrency)

        async def change(code: str) -> float:
            async with sem:
                return await timed("POST", f"/api/v1/reports/{code}/status", agency,
                                   json={"status": "in_progress", "note": "Đang xử lý"})
        start = time.perf_counter()
        changes = await asyncio.gather(*(change(c) for c in open_codes))
        change_s = time.perf_counter() - start

        stats = [await timed("GET", "/api/public/stats", {}) for _ in range(5)]
        start = time.perf_counter()
        counts = await check_deadlines(hub)
        sla_s = time.perf_counter() - start
        start = time.perf_counter()
        await refresh_gauges(hub)
        gauges_s = time.perf_counter() - start
        return {
            "bench": "router", "database": db_url.split(":")[0], "reports": args.reports,
            "seed_s": round(seed_s, 2),
            "queue_page": _ms(queue), "center_overdue_page": _ms(center_queue),
            "report_detail": _ms(one),
            "status_changes": len(changes), "status_changes_per_s": round(len(changes) / change_s, 1),
            "status_change": _ms(list(changes)),
            "public_stats": _ms(stats),
            "sla_pass_s": round(sla_s, 3), "sla_pass": counts, "gauge_refresh_s": round(gauges_s, 3),
        }
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    print(json.dumps(asyncio.run(run(parser.parse_args())), ensure_ascii=False))


if __name__ == "__main__":
    main()
