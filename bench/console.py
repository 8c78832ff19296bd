"""Operator console benchmark: the queue and the report page over 100,000 reports.

Seeds N reports (bulk insert: a year of history, every status, five agencies, wards,
coordinates, SLA due dates, a few events each for the sampled report), a center and an agency
account, then logs in through the console's form and times requests through the real app on
loopback (workers off): the center's first page (triage first), each filter, a tracking code,
words with and without diacritics, a common word, a rare pair, words with a filter, a deep page
of words in the other order, a deep page, the agency officer's first page, the report page
(timeline, possible duplicates, actions) and the call form's live suggestions.

    .venv/bin/python bench/console.py [--reports 100000] [--requests 40] [--db URL]

With ``--db postgresql+asyncpg://…/NAME`` the database NAME is dropped and created first (give a
name of your own). Prints one JSON line: p50/p95 in milliseconds per page, the median CPU time,
a digest of what the page lists (codes in order and the count line: compare two runs to check
that a change kept the results), and the worst p95.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
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

PASSWORD = "mật-khẩu-đo-hiệu-năng"


def _settings(db_url: str, media: str) -> Any:
    from hub.settings import Settings

    return Settings.model_validate({
        "database": {"url": db_url}, "storage": {"media_dir": media},
        "workers": {"enabled": False}, "log_format": "text", "log_level": "WARNING",
        "agencies": AGENCIES})


async def _fresh_pg(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1].split("?")[0]
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit("--db: the database name must be [a-z0-9_]+ (it is dropped and created)")
    admin = await asyncpg.connect(url.rsplit("/", 1)[0].replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def _sample(n: int) -> str:
    """The report the report page is timed on (the middle one)."""
    return f"PA-2026-{max(1, n // 2):06d}"


async def _seed(sessions: Any, n: int) -> dict[str, Any]:
    from sqlalchemy import insert, text

    from normalizer.places import list_wards
    from store.accounts import create_account
    from store.models import Report, ReportEvent, utcnow

    rnd = random.Random(13)
    now = utcnow()
    wards = list_wards()
    categories = list(CATEGORY_AGENCY)
    statuses = ["triage"] * 3 + ["forwarded"] * 4 + ["in_progress"] * 4 + ["resolved"] * 5 + \
        ["closed"] * 6 + ["rejected", "duplicate", "returned", "received"]
    channels = ["messenger", "zalo", "email", "hotline", "telegram", "web"]
    started = time.perf_counter()
    rows = []
    for i in range(1, n + 1):
        category = rnd.choice(categories)
        status = rnd.choice(statuses)
        created = now - timedelta(minutes=rnd.randrange(0, 365 * 24 * 60))
        agency = CATEGORY_AGENCY[category] if status in ("forwarded", "in_progress", "resolved", "closed") else None
        street = rnd.choice(STREETS)
        rows.append({
            "code": f"PA-2026-{i:06d}", "channel": rnd.choice(channels), "status": status,
            "category": category if status != "triage" else None,
            "category_confidence": round(rnd.uniform(0.3, 1.0), 3),
            "description": rnd.choice(TEXTS).format(street=street, n=rnd.randrange(1, 200)),
            "address": f"{rnd.randrange(1, 300)} {street}" if rnd.random() < 0.6 else None,
            "ward": rnd.choice(wards) if rnd.random() < 0.85 else None,
            "lat": 16.46 + rnd.uniform(-0.05, 0.05) if rnd.random() < 0.5 else None,
            "lon": 107.59 + rnd.uniform(-0.05, 0.05), "agency_id": agency,
            "created_at": created, "updated_at": created, "last_message_at": created,
            "forwarded_at": created + timedelta(hours=1) if agency else None,
            "due_at": created + timedelta(days=rnd.choice([3, 5, 7])) if agency else None,
            "reply_context": {}, "external_ids": [], "extra": {}})
    async with sessions() as session, session.begin():
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(Report), rows[chunk:chunk + 5000])
        sample_id = (await session.execute(text("SELECT id FROM reports WHERE code = :c"), {"c": _sample(n)})).scalar()
        await session.execute(insert(ReportEvent), [
            {"report_id": sample_id, "at": now - timedelta(hours=10 - k), "actor": actor, "kind": kind,
             "note": note, "status_from": None, "status_to": None, "public": False}
            for k, (actor, kind, note) in enumerate([
                ("citizen", "message", "tiếp nhận qua zalo"), ("system", "notification", "đã gửi"),
                ("system", "classification", "environment"), ("user:bench.center", "note", "đã gọi lại"),
                ("system", "notification", "đã gửi")])])
        await create_account(session, "bench.center", "center", PASSWORD, display_name="Trung tâm")
        await create_account(session, "bench.agency", "agency", PASSWORD, agency_id="moi-truong",
                             agencies={a["id"]: a["name"] for a in AGENCIES})
    # The console's folded search text, as its periodic job writes it (timed: reports/s).
    from store.report_list import refresh_search_text

    indexed_from = time.perf_counter()
    while True:
        async with sessions() as session, session.begin():
            if not await refresh_search_text(session):
                break
    index_seconds = time.perf_counter() - indexed_from
    engine = sessions.kw["bind"]
    # Planner statistics, as a database in use has them (PostgreSQL's autovacuum; on SQLite the
    # hub's console-purge job runs PRAGMA optimize).
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return {"seed_seconds": round(time.perf_counter() - started, 1),
            "search_text_reports_per_s": round(n / index_seconds)}


async def _login(client: Any, username: str) -> None:
    client.session.cookie_jar.clear()
    page = await (await client.get("/console/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = await client.post("/console/login", data={"csrf_token": token, "username": username,
                                                     "password": PASSWORD}, allow_redirects=False)
    assert resp.status == 303, resp.status


async def _time(client: Any, path: str, n: int) -> dict[str, float]:
    """Wall-clock p50/p95 of n requests, and the median CPU time this process spent on one
    (server, SQLite and client all run here: less sensitive to other load on the machine)."""
    html = await (await client.get(path)).text()  # warm-up (templates compiled)
    # What the page lists, in order, and its count line: equal digests across two runs (two
    # versions of the code) mean the same results. A report page has neither.
    listed = re.findall(r'<a href="/console/reports/(PA-[0-9-]+)">', html)
    summary = re.search(r'<p class="summary"[^>]*>(.*?)</p>', html, re.S)
    digest = hashlib.sha256(repr((listed, summary and " ".join(summary.group(1).split()))).encode()).hexdigest()
    times, cpu = [], []
    for _ in range(n):
        started, cpu_started = time.perf_counter(), time.process_time()
        resp = await client.get(path)
        await resp.read()
        assert resp.status == 200, (path, resp.status)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    times.sort()
    return {"p50": round(statistics.median(times), 1),
            "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
            "cpu_p50": round(statistics.median(cpu), 1), "results": digest[:12]}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from aiohttp.test_utils import TestClient, TestServer

    from hub.app import create_app
    from hub.keys import HUB_KEY
    from store.db import make_engine, migrate, sessionmaker

    tmp = tempfile.mkdtemp(prefix="bench-console-")
    db_url = args.db or f"sqlite+aiosqlite:///{tmp}/hub.db"
    if db_url.startswith("postgresql"):
        await _fresh_pg(db_url)
    engine = make_engine(db_url)
    await migrate(engine)
    seeded = await _seed(sessionmaker(engine), args.reports)
    await engine.dispose()
    out: dict[str, Any] = {"report_count": args.reports, "requests_per_page": args.requests,
                           "db": db_url.split(":")[0]}
    center_pages = {
        "center_first_page": "/console/", "center_status": "/console/?status=in_progress",
        "center_ward_category": "/console/?ward=Phường Phú Xuân&category=environment",
        "center_overdue": "/console/?overdue=1", "center_code": f"/console/?q={_sample(args.reports)}",
        "center_words": "/console/?q=ổ gà lê lợi", "center_words_plain": "/console/?q=o ga le loi",
        # Other searches: a word in half the reports, a rare pair, words with a filter, a deep
        # page in the other order.
        "center_word_common": "/console/?q=đường", "center_words_rare": "/console/?q=kiệt 199",
        "center_words_status": "/console/?q=rác&status=closed",
        "center_words_old_page5": "/console/?q=lê lợi&sort=old&page=5",
        "center_page_100": "/console/?page=100&status=closed",
        "report_page": f"/console/reports/{_sample(args.reports)}",
    }
    out.update(seeded)
    app = create_app(_settings(db_url, f"{tmp}/media"))
    # The periodic jobs off: on a bulk-seeded database their first runs are a one-time backlog
    # (the portal's search text for every report, SLA reminders for every overdue one) that
    # would be measured instead of the pages.
    app[HUB_KEY].jobs.clear()
    async with TestClient(TestServer(app)) as client:
        await _login(client, "bench.center")
        for name, path in center_pages.items():
            out[name] = await _time(client, path, args.requests)
        await _login(client, "bench.agency")
        out["agency_first_page"] = await _time(client, "/console/", args.requests)
        out["agency_words"] = await _time(client, "/console/?q=rác", args.requests)
    timed = [v for v in out.values() if isinstance(v, dict)]
    out["p95_max_ms"] = max(v["p95"] for v in timed)
    out["target_p95_ms"] = 150
    out["load_average_1m"] = round(__import__("os").getloadavg()[0], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
