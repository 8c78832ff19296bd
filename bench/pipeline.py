"""Pipeline benchmark: inbox → reports with acknowledgements queued, end to end. One JSON line.

1. Throughput: N hotline calls are stored through the hub's durable intake (group commit, as
   ``import-hotline`` and the webhooks do), then the real inbox worker (``Workers.run_inbox_once``)
   turns them into reports — contact, report, classification, routing, acknowledgement in the
   outbox — until none is pending. ``events_per_s`` = N / that time; ``loop_cpu_us_per_event``
   = the event loop thread's CPU time over that phase / N (the steadier figure on a shared
   host: other jobs take wall time from the worker, not CPU time of its thread).
2. Raw insert: every row the pipeline wrote for those events (contacts, reports, report events,
   outbox rows) is read back and inserted bare into an empty database of the same schema
   (executemany, one transaction per worker-sized batch), in the same run:
   ``raw_insert_rows_per_s``. ``ratio`` = rows the pipeline wrote per second / that rate.
3. Burst: the hub's workers run (as in ``serve``) while intake takes events at full speed for
   ``--burst`` seconds (concurrent submitters); ``lag_drain_s`` is the time from the burst's end
   until nothing is pending or claimed (null when ``--drain-timeout`` passes first).
4. ``lost``: acknowledged events that are not one report (no inbox row done, or not exactly one
   report carrying their id).

    .venv/bin/python bench/pipeline.py [--events 20000] [--burst 60] [--drain-timeout 600]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import CALL_TEXTS as TEXTS  # noqa: E402

CATEGORIES = ["Vệ sinh môi trường", "Hạ tầng đô thị", "Hạ tầng giao thông", "Trật tự xây dựng", ""]
PREFIXES = ["090", "091", "093", "094", "097", "098", "032", "035", "070", "077"]


def call(i: int, tag: str) -> tuple[str, dict]:
    """One hotline call as the importer stores it (channels.hotline.records)."""
    when = datetime(2026, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=7))) + timedelta(seconds=i * 7)
    ext = f"{tag}{i:08d}"
    payload = {"id": ext, "call_id": ext, "time": when.isoformat(),
               "caller": f"+84{PREFIXES[i % len(PREFIXES)][1:]}{(i * 7919) % 9_000_000 + 1_000_000:07d}",
               "operator": "Nguyễn Thị Lan", "text": TEXTS[i % len(TEXTS)].format(n=i % 500),
               "address": f"{i % 300} Lê Lợi, phường Thuận Hóa" if i % 3 else None,
               "category": CATEGORIES[i % len(CATEGORIES)], "source": "bench.csv", "row": i + 3}
    return ext, payload


def write_settings(folder: Path, db: Path, batch: int | None, analysis: int | None = None,
                   budget_ms: float | None = None) -> Path:
    path = folder / "settings.toml"
    workers = "[workers]\n" + (f"inbox_batch = {batch}\n" if batch else "") + (
        f"analysis_processes = {analysis}\n" if analysis is not None else "") + (
        f"inbox_idle_transaction_budget_ms = {budget_ms}\n" if budget_ms is not None else "")
    path.write_text(f'log_level = "WARNING"\n[database]\nurl = "sqlite+aiosqlite:///{db}"\n'
                    f'[storage]\nmedia_dir = "{folder / "media"}"\n'
                    f"[channels.hotline]\nenabled = true\n"
                    # an SMS route: each caller's acknowledgement is an outbox row (the gateway
                    # itself is never reached: the bench runs no outbox worker)
                    f"sms_gateway_url = \"http://127.0.0.1:9/sms\"\n{workers}", encoding="utf-8")
    return path


async def submit_all(hub, n: int, tag: str, chunk: int = 2000) -> None:  # noqa: ANN001
    for start in range(0, n, chunk):
        await hub.intake.submit_many("hotline", [call(i, tag) for i in range(start, min(n, start + chunk))])


async def pending(hub) -> int:  # noqa: ANN001
    from sqlalchemy import func, select

    from store.models import InboxEvent
    async with hub.sessions() as session:
        return (await session.execute(select(func.count()).select_from(InboxEvent).where(
            InboxEvent.state.in_(("pending", "claimed"))))).scalar() or 0


async def throughput(settings_path: Path, n: int) -> dict:
    from hub.app import close_hub, open_hub, settle_heap
    from hub.settings import load_settings
    from hub.workers import Workers

    hub = await open_hub(load_settings(settings_path, environ={}))
    settle_heap()  # as serve does once started
    try:
        started = time.perf_counter()
        await submit_all(hub, n, "T")
        intake_s = time.perf_counter() - started
        workers = Workers(hub)
        started = time.perf_counter()
        loop_cpu = time.thread_time()  # this thread runs the event loop: the worker's own core
        while await workers.run_inbox_once():
            pass
        seconds = time.perf_counter() - started
        loop_cpu = time.thread_time() - loop_cpu
        left = await pending(hub)
    finally:
        await close_hub(hub)
    return {"intake_s": intake_s, "seconds": seconds, "loop_cpu_s": loop_cpu, "left": left}


TABLES = ("contacts", "reports", "report_events", "outbox")


def written_rows(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        out = {}
        for table in TABLES:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "id"]
            out[table] = (cols, conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall())
        return out


def raw_insert(db: Path, fresh: Path, batch: int) -> tuple[int, float]:
    """The same rows inserted bare into an empty copy of the schema: (rows, seconds)."""
    with sqlite3.connect(db) as src:
        # the tables written, with their indexes (not the search index's virtual tables)
        schema = [r[0] for r in src.execute(
            "SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL "
            f"AND name NOT LIKE 'sqlite_%' AND tbl_name IN ({', '.join('?' * len(TABLES))}) "
            "ORDER BY type DESC", TABLES)]
    rows = written_rows(db)
    conn = sqlite3.connect(fresh, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # as the hub writes (store.db default)
    for sql in schema:
        conn.execute(sql)
    total = sum(len(r) for _, r in rows.values())
    n_events = len(rows["reports"][1]) or 1
    started = time.perf_counter()
    # Interleaved per event batch, as the pipeline writes: each transaction carries the rows of
    # `batch` events across all tables.
    offsets = dict.fromkeys(TABLES, 0)
    for _start in range(0, n_events, batch):
        conn.execute("BEGIN")
        for table in TABLES:
            cols, data = rows[table]
            share = -(-len(data) * batch // n_events)  # this batch's share of the table
            part = data[offsets[table]:offsets[table] + share]
            offsets[table] += share
            if part:
                conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                                 f"({', '.join('?' * len(cols))})", part)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return total, seconds


async def burst(settings_path: Path, seconds: float, drain_timeout: float,
                submitters: int) -> dict:
    from hub.app import close_hub, open_hub, settle_heap
    from hub.settings import load_settings
    from hub.workers import Workers

    hub = await open_hub(load_settings(settings_path, environ={}))
    settle_heap()  # as serve does once started
    workers = Workers(hub)
    workers.start()
    counter = iter(range(10**9))
    acked = 0

    async def submitter() -> None:
        nonlocal acked
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            batch = [call(next(counter), "B") for _ in range(20)]
            results = await hub.intake.submit_many("hotline", batch)
            acked += sum(1 for r in results if r.stored)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(submitter() for _ in range(submitters)))
        burst_s = time.perf_counter() - started
        backlog = await pending(hub)
        end = time.perf_counter()
        drain = None
        # Meanwhile, webhooks keep coming at a quiet pace (20/s, below the busy threshold):
        # how long each waits for its acknowledgement while the worker drains the backlog.
        waits: list[float] = []
        trickling = asyncio.Event()

        async def trickle() -> None:
            n = 0
            while not trickling.is_set():
                sent = time.perf_counter()
                await hub.intake.submit("hotline", *call(n, "W"))
                waits.append((time.perf_counter() - sent) * 1000)
                n += 1
                await asyncio.sleep(max(0.0, 0.05 - (time.perf_counter() - sent)))

        trickler = asyncio.create_task(trickle())
        while time.perf_counter() - end < drain_timeout:
            left = await pending(hub)
            if left <= 1 and backlog:  # (one trickled event may be on its way)
                drain = time.perf_counter() - end
                break
            await asyncio.sleep(0.25)
        trickling.set()
        await trickler
        for _ in range(40):  # the last trickled event
            left = await pending(hub)
            if not left:
                break
            await asyncio.sleep(0.25)
    finally:
        await workers.stop()
        await close_hub(hub)
    waits.sort()
    return {"acked": acked, "burst_s": burst_s, "backlog_at_end": backlog,
            "drain_s": drain, "left": left, "trickled": len(waits),
            "ack_ms_p50": round(waits[len(waits) // 2], 1) if waits else None,
            "ack_ms_p99": round(waits[int(len(waits) * 0.99)], 1) if waits else None,
            "ack_ms_max": round(waits[-1], 1) if waits else None}


def lost_events(db: Path, tag: str) -> tuple[int, int]:
    """(acknowledged events of this tag, those that are not exactly one report)."""
    with sqlite3.connect(db) as conn:
        acked = conn.execute("SELECT count(*) FROM inbox WHERE external_id LIKE ?",
                             (f"{tag}%",)).fetchone()[0]
        not_done = conn.execute("SELECT count(*) FROM inbox WHERE external_id LIKE ? AND "
                                "(state != 'done' OR report_id IS NULL)", (f"{tag}%",)).fetchone()[0]
        # every report names its events in external_ids (JSON list): one report per event
        per_report = conn.execute(
            "SELECT count(*) FROM reports, json_each(reports.external_ids) je WHERE je.value LIKE ?",
            (f"{tag}%",)).fetchone()[0]
    return acked, not_done + abs(acked - per_report)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--burst", type=float, default=60.0, help="burst seconds (shorter: quick run)")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--submitters", type=int, default=64)
    parser.add_argument("--batch", type=int, default=None, help="[workers] inbox_batch")
    parser.add_argument("--idle-budget-ms", type=float, default=None,
                        help="[workers] inbox_idle_transaction_budget_ms (default: the hub's own)")
    parser.add_argument("--analysis-processes", type=int, default=None,
                        help="[workers] analysis_processes (default: the hub's own default)")
    parser.add_argument("--dir")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="pipeline-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        tdir = work / "throughput"
        tdir.mkdir()
        tdb = tdir / "hub.db"
        tset = write_settings(tdir, tdb, args.batch, args.analysis_processes, args.idle_budget_ms)
        t = asyncio.run(throughput(tset, args.events))
        from hub.settings import load_settings
        loaded = load_settings(tset, environ={}).workers
        batch = loaded.inbox_batch
        from hub.analysis import default_processes
        analysis = (default_processes() if loaded.analysis_processes is None
                    else loaded.analysis_processes)
        raw_rows, raw_s = raw_insert(tdb, tdir / "raw.db", batch)
        t_acked, t_lost = lost_events(tdb, "T")
        with sqlite3.connect(tdb) as conn:
            acks = conn.execute("SELECT count(*) FROM outbox WHERE purpose='citizen'").fetchone()[0]
        events_per_s = args.events / t["seconds"]
        rows_per_event = raw_rows / args.events
        raw_rate = raw_rows / raw_s

        bdir = work / "burst"
        bdir.mkdir()
        bdb = bdir / "hub.db"
        b = asyncio.run(burst(write_settings(bdir, bdb, args.batch, args.analysis_processes,
                                             args.idle_budget_ms), args.burst,
                              args.drain_timeout, args.submitters))
        b_acked, b_lost = lost_events(bdb, "B") if b["left"] == 0 else (b["acked"], None)
        print(json.dumps({
            "bench": "pipeline", "database": "sqlite", "events": args.events,
            "events_per_s": round(events_per_s), "acks_queued": acks,
            # the event loop's CPU time per event in the throughput phase: steadier than
            # events_per_s on a shared host (other jobs take wall time, not this thread's CPU)
            "loop_cpu_us_per_event": round(t["loop_cpu_s"] / args.events * 1e6),
            "rows_per_event": round(rows_per_event, 2),
            "raw_insert_rows_per_s": round(raw_rate),
            "ratio": round(events_per_s * rows_per_event / raw_rate, 3),
            "intake_events_per_s": round(args.events / t["intake_s"]),
            "burst_s": round(b["burst_s"], 1), "burst_acked": b["acked"],
            "burst_intake_events_per_s": round(b["acked"] / b["burst_s"]),
            "backlog_at_burst_end": b["backlog_at_end"],
            "lag_drain_s": None if b["drain_s"] is None else round(b["drain_s"], 1),
            # the worker's pace while the backlog drained (webhooks trickling meanwhile)
            "drain_events_per_s": round(b["backlog_at_end"] / b["drain_s"]) if b["drain_s"] else None,
            "left_after_drain_timeout": b["left"],
            # webhooks at 20/s while the backlog drains: acknowledgement wait, ms
            "ack_while_draining": {"n": b["trickled"], "p50_ms": b["ack_ms_p50"],
                                   "p99_ms": b["ack_ms_p99"], "max_ms": b["ack_ms_max"]},
            "lost": t_lost + (b_lost or 0), "lost_checked_burst": b_lost is not None,
            "inbox_batch": batch, "analysis_processes": analysis, "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }, ensure_ascii=False))
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
