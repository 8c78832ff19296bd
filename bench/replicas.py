"""Replicas benchmark: 3 ``serve`` processes on one PostgreSQL behind a local load balancer.

Each replica is the real ``python main.py serve`` with its own port and media folder, sharing
the database and ``storage.backend = "database"``; the channels' APIs are loopback fakes in a
thread of this process (they record every send). A small round-robin TCP balancer in this
process spreads the webhooks (signed Messenger, Zalo and Telegram events, Open311 requests,
built by hub/demo/samples) over the live replicas; a request whose connection fails is sent
again, as providers retry an unacknowledged event (same event id).

Phases:
1. ``events_per_s_1``: one replica, ``--events`` events; events turned into reports per second
   (from the first request until every acknowledged event is in a report).
2. ``events_per_s_3``: three replicas, the same on a fresh database.
3. Failover: three replicas; a third of the way through, one non-leader replica is SIGKILLed;
   two thirds through, the leader is SIGKILLed (``failover_s``: until another replica holds the
   leader lock — the IMAP poller and the scheduler's leader jobs run only there), and the
   first victim is started again (as systemd restarts it) with an empty media cache. Photos
   sent to each replica through the portal form are then fetched from every live replica
   (``photo_404``). Checks: every acknowledged event is in exactly one report (``lost``,
   ``duplicate_reports``), no acknowledgement or status update reached a provider twice
   (``duplicate_sends``: the fakes saw the same text to the same recipient twice).

    .venv/bin/python bench/replicas.py [--events 600] [--pg postgresql://postgres@127.0.0.1:5432]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import ChannelAPIs, free_port, load_modules, to_toml  # noqa: E402

DB_NAME = "hub_bench_replicas"
ROUTES = ("messenger", "zalo", "telegram", "web")



class Fakes(ChannelAPIs):
    """The channel APIs (Graph, Zalo, Telegram, SMS) in a thread (bench.ingest), with what the
    replicas sent looked up by call index."""

    def mark(self) -> int:
        return len(self.api.calls)

    def sends(self, since: int = 0) -> list[tuple[int, tuple[str, str]]]:
        """(call index, (path, body)) of every message sent to a citizen (bodies naming a
        report code)."""
        return [(i, (c.path, c.body.decode("utf-8", "replace")))
                for i, c in enumerate(list(self.api.calls)) if i >= since and b"PA-" in c.body]


class Balancer:
    """Round-robin TCP proxy over the replicas that accept a connection."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.down: set[int] = set()
        self._turn = itertools.count()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        for _ in range(len(self.ports)):
            port = self.ports[next(self._turn) % len(self.ports)]
            if port in self.down:
                continue
            try:
                return await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
        raise OSError("no replica accepts connections")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await self._connect()
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    dst.close()
                except Exception:
                    pass

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def reset_database(pg: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(f"{pg}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await admin.close()
    return f"{pg}/{DB_NAME}"


def write_settings(work: Path, name: str, port: int, db: str, api: str, mods: dict) -> Path:
    from hub.settings import _deep_merge

    settings: dict[str, Any] = {
        "log_level": "WARNING", "server": {"port": port, "public_base_url": "http://hub.bench"},
        "database": {"url": db.replace("postgresql://", "postgresql+asyncpg://")},
        "storage": {"backend": "database", "media_dir": str(work / name / "media")},
        "workers": {"leader_lease_seconds": 6, "claim_lease_seconds": 6},
        "portal": {"form_per_hour": 100000},
        "channels": {"web": {"anonymous_per_hour": 10**9}},  # one load client behind the balancer
    }
    for mod in mods.values():
        settings = _deep_merge(settings, mod.settings(api))
    path = work / f"{name}.toml"
    (work / name).mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(settings))
    return path


class Replica:
    def __init__(self, work: Path, name: str, db: str, api: str, mods: dict) -> None:
        self.name, self.port = name, free_port()
        self.config = write_settings(work, name, self.port, db, api, mods)
        self.log = work / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "serve", "--config", str(self.config)], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"))  # noqa: SIM115

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


async def ready(session: Any, port: int) -> bool:
    try:
        async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
            return resp.status == 200
    except Exception:
        return False


async def is_leader(session: Any, port: int) -> bool:
    try:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            return bool(re.search(r"^hub_leader 1\.0$", await resp.text(), re.M))
    except Exception:
        return False


async def wait_ready(session: Any, replicas: list[Replica], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all([await ready(session, r.port) for r in replicas]):
            return
        for r in replicas:
            if not r.alive:
                raise SystemExit(f"replica {r.name} exited; see {r.log}")
        await asyncio.sleep(0.2)
    raise SystemExit("replicas not ready")


def requests_mix(mods: dict, n: int, start: int) -> list[tuple[str, dict, bytes]]:
    per = -(-n // len(mods))
    out: list[tuple[str, dict, bytes]] = []
    lists = [prepared_requests_from(mod, per, start) for mod in mods.values()]
    for i in range(per):
        out += [reqs[i] for reqs in lists if i < len(reqs)]
    return out[:n]


def prepared_requests_from(mod: Any, n: int, start: int) -> list:
    import inspect

    if "timestamp_ms" in inspect.signature(mod.requests).parameters:
        # chat events stamped now: the 24-hour reply window applies as live
        return mod.requests(n, start=start, timestamp_ms=int(time.time() * 1000))
    return mod.requests(n, start=start)


async def send_all(session: Any, lb_port: int, reqs: list, conc: int,
                   on_progress: Any = None) -> int:
    """Every request until acknowledged (2xx), retried like a provider; returns the acked count."""
    acked = 0
    queue = list(enumerate(reqs))
    total = len(reqs)

    async def worker() -> None:
        nonlocal acked
        while queue:
            _, (path, headers, body) = queue.pop(0)
            for attempt in range(30):
                try:
                    async with session.post(f"http://127.0.0.1:{lb_port}{path}", data=body,
                                            headers=headers) as resp:
                        await resp.read()
                        if resp.status < 300:
                            acked += 1
                            break
                except Exception:
                    pass
                await asyncio.sleep(min(1.0, 0.05 * (attempt + 1)))
            if on_progress is not None:
                await on_progress(acked, total)

    await asyncio.gather(*(worker() for _ in range(conc)))
    return acked


async def db_counts(db: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(db)
    try:
        states = dict(await conn.fetch("SELECT state, count(*) FROM inbox GROUP BY state"))
        ext = await conn.fetch(
            "SELECT je AS ext, count(*) AS n FROM reports, "
            "jsonb_array_elements_text(reports.external_ids::jsonb) je GROUP BY je")
        done = {r["external_id"] for r in await conn.fetch(
            "SELECT external_id FROM inbox WHERE state = 'done'")}
        acked = {r["external_id"] for r in await conn.fetch("SELECT external_id FROM inbox")}
        reports = await conn.fetchval("SELECT count(*) FROM reports")
        outbox = dict(await conn.fetch("SELECT state, count(*) FROM outbox GROUP BY state"))
        # what is still to send, by channel (a rate limit, a retry's backoff, a paused channel)
        unsent = {f"{r['channel']}/{r['state']}": r["n"] for r in await conn.fetch(
            "SELECT channel, state, count(*) AS n FROM outbox "
            "WHERE state IN ('pending', 'sending', 'retry') GROUP BY channel, state")}
    finally:
        await conn.close()
    in_reports = {r["ext"] for r in ext}
    return {"states": states, "reports": reports, "outbox": outbox, "outbox_unsent": unsent,
            "inbox": len(acked), "done": len(done),
            "lost": len(acked - in_reports), "duplicate_reports": sum(1 for r in ext if r["n"] > 1)}


async def drained(db: str, timeout: float) -> float | None:
    import asyncpg

    started = time.monotonic()
    conn = await asyncpg.connect(db)
    try:
        while time.monotonic() - started < timeout:
            left = await conn.fetchval("SELECT count(*) FROM inbox WHERE state IN ('pending','claimed')")
            if left == 0:
                return time.monotonic() - started
            await asyncio.sleep(0.25)
    finally:
        await conn.close()
    return None


async def quiet_outbox(db: str, timeout: float) -> None:
    import asyncpg

    started = time.monotonic()
    conn = await asyncpg.connect(db)
    try:
        while time.monotonic() - started < timeout:
            if not await conn.fetchval("SELECT count(*) FROM outbox WHERE state IN ('pending','sending')"):
                return
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


async def start_cluster(session: Any, replicas: list[Replica]) -> Balancer:
    """The first replica alone (it migrates the database), then the others; the balancer in
    front of them all."""
    replicas[0].start()
    await wait_ready(session, replicas[:1])
    for r in replicas[1:]:
        r.start()
    await wait_ready(session, replicas)
    lb = Balancer([r.port for r in replicas])
    await lb.start()
    return lb


async def throughput_phase(work: Path, pg: str, api: str, mods: dict, n: int, replicas_n: int,
                           conc: int, timeout: float) -> dict:
    import aiohttp

    db = await reset_database(pg)
    replicas = [Replica(work / f"t{replicas_n}", f"r{i}", db, api, mods) for i in range(replicas_n)]
    async with aiohttp.ClientSession() as session:
        try:
            lb = await start_cluster(session, replicas)
            started = time.monotonic()
            acked = await send_all(session, lb.port, requests_mix(mods, n, 0), conc)
            drain = await drained(db, timeout)
            seconds = time.monotonic() - started
            await lb.close()
        finally:
            for r in replicas:
                r.stop()
    counts = await db_counts(db)
    return {"acked": acked, "seconds": seconds, "drained": drain is not None, **counts}


async def failover_phase(work: Path, pg: str, fakes: Fakes, mods: dict, n: int, conc: int,
                         timeout: float) -> dict:
    import aiohttp
    import asyncpg

    from tests.portal.conftest import jpeg

    db = await reset_database(pg)
    replicas = [Replica(work / "f", f"r{i}", db, fakes.api.url, mods) for i in range(3)]
    result: dict[str, Any] = {"killed": [], "kill_marks": []}
    async with aiohttp.ClientSession() as session:
        try:
            lb = await start_cluster(session, replicas)
            # photos: one portal form with a photo per replica, straight to that replica
            photos: list[str] = []
            for k, r in enumerate(replicas):
                page = await (await session.get(f"http://127.0.0.1:{r.port}/report")).text()
                key = re.search(r'name="form_key" value="([0-9a-f]+)"', page).group(1)
                data = aiohttp.FormData()
                for field, value in {"category": "environment", "form_key": key,
                                     "description": f"Bãi rác tự phát ở kiệt {k} Chi Lăng",
                                     "address": f"kiệt {k} Chi Lăng, Phường Phú Xuân"}.items():
                    data.add_field(field, value)
                body = jpeg(colour=(20 * k, 120, 60))
                data.add_field("photo", body, filename=f"IMG_{k}.jpg", content_type="image/jpeg")
                async with session.post(f"http://127.0.0.1:{r.port}/report", data=data,
                                        allow_redirects=False) as resp:
                    assert resp.status == 303, resp.status
                photos.append(hashlib.sha256(body).hexdigest())

            leader = None
            for _ in range(100):
                found = [r for r in replicas if await is_leader(session, r.port)]
                if found:
                    leader = found[0]
                    break
                await asyncio.sleep(0.2)
            killed_leader = asyncio.Event()
            failover: dict[str, float] = {}

            async def progress(acked: int, total: int) -> None:
                nonlocal leader
                if acked >= total // 3 and not result["killed"]:
                    victim = next(r for r in replicas if r is not leader)
                    result["killed"].append(victim.name)
                    victim.kill()
                    result["kill_marks"].append(fakes.mark())
                    lb.down.add(victim.port)
                elif acked >= 2 * total // 3 and len(result["killed"]) == 1 and leader is not None:
                    result["killed"].append(leader.name)
                    failover["at"] = time.monotonic()
                    leader.kill()
                    result["kill_marks"].append(fakes.mark())
                    lb.down.add(leader.port)
                    killed_leader.set()

            async def watch_leader() -> None:
                """From the leader's kill until a survivor holds the leader lock (polled on the
                lock itself: the gauge is only refreshed when /metrics is scraped)."""
                await killed_leader.wait()
                watch = await asyncpg.connect(db)
                try:
                    while time.monotonic() - failover["at"] < 120:
                        if await watch.fetchval(
                                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = "
                                "l.database WHERE l.locktype = 'advisory' AND l.granted AND "
                                "d.datname = $1", DB_NAME):
                            failover["s"] = time.monotonic() - failover["at"]
                            return
                        await asyncio.sleep(0.05)
                finally:
                    await watch.close()

            watcher = asyncio.create_task(watch_leader())
            started = time.monotonic()
            acked = await send_all(session, lb.port, requests_mix(mods, n, 10_000), conc, progress)
            send_s = time.monotonic() - started
            # the leader moves to the survivor; the first victim comes back (systemd's
            # Restart=always) with an empty media cache
            survivors = [r for r in replicas if r.alive]
            first = next(r for r in replicas if r.name == result["killed"][0])
            shutil.rmtree(work / "f" / first.name / "media", ignore_errors=True)  # a new machine
            first.start()
            await wait_ready(session, [first])
            lb.down.discard(first.port)
            if killed_leader.is_set():
                await watcher
            else:
                watcher.cancel()
            result["new_leader"] = [r.name for r in survivors if await is_leader(session, r.port)]
            survivors.append(first)
            drain = await drained(db, timeout)
            await quiet_outbox(db, 60)
            photo_404 = 0
            photo_checked = 0
            conn = await asyncpg.connect(db)
            try:
                codes = {r["sha256"]: r["code"] for r in await conn.fetch(
                    "SELECT a.sha256, r.code FROM attachments a JOIN reports r ON r.id = a.report_id "
                    "WHERE a.sha256 = ANY($1::text[])", photos)}
            finally:
                await conn.close()
            for sha in photos:
                code = codes.get(sha)
                for r in survivors:
                    photo_checked += 1
                    if code is None:
                        photo_404 += 1
                        continue
                    async with session.get(f"http://127.0.0.1:{r.port}/r/{code}/photos/{sha}.jpg") as resp:
                        photo_404 += resp.status == 404
            await lb.close()
        finally:
            for r in replicas:
                r.stop()
    counts = await db_counts(db)
    return {**result, **counts, "acked": acked, "send_s": send_s, "drained": drain is not None,
            "failover_s": failover.get("s"), "photo_404": photo_404, "photo_checked": photo_checked}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (replica logs)")
    args = parser.parse_args()
    mods = load_modules(list(ROUTES))
    work = Path(tempfile.mkdtemp(prefix="replicas-bench-"))
    try:
        with Fakes() as fakes:
            api = fakes.api.url
            out: dict[str, Any] = {"bench": "replicas", "replicas": 3, "events": args.events}
            if not args.skip_throughput:
                one = asyncio.run(throughput_phase(work, args.pg, api, mods, args.events, 1,
                                                   args.concurrency, args.drain_timeout))
                three = asyncio.run(throughput_phase(work, args.pg, api, mods, args.events, 3,
                                                     args.concurrency, args.drain_timeout))
                out["events_per_s_1"] = round(one["done"] / one["seconds"], 1)
                out["events_per_s_3"] = round(three["done"] / three["seconds"], 1)
                out["throughput_lost"] = one["lost"] + three["lost"]
            before = fakes.mark()
            f = asyncio.run(failover_phase(work, args.pg, fakes, mods, args.events, args.concurrency,
                                           args.drain_timeout))
            indexed = fakes.sends(before)
            sends = [body for _, body in indexed]
            dup = Counter(sends)
            # A repeated send whose first copy went out before a SIGKILL and whose repeat came
            # after it: the killed replica sent, then died before recording it (the at-least-once
            # window the outbox row id as idempotency key covers with providers that honour it).
            first_at: dict[tuple[str, str], int] = {}
            crash_window = other = 0
            for i, body in indexed:
                if body in first_at:
                    if any(first_at[body] < m <= i for m in f["kill_marks"]):
                        crash_window += 1
                    else:
                        other += 1
                else:
                    first_at[body] = i
            out.update({
                "acked": f["acked"], "inbox_events": f["inbox"], "reports": f["reports"],
                "lost": f["lost"], "duplicate_reports": f["duplicate_reports"],
                "sends": len(sends), "duplicate_sends": sum(n - 1 for n in dup.values() if n > 1),
                "duplicate_sends_across_a_kill": crash_window, "duplicate_sends_other": other,
                "failover_s": None if f["failover_s"] is None else round(f["failover_s"], 2),
                "leader_lease_s": 6, "killed": f["killed"], "new_leader": f.get("new_leader"), "photo_404": f["photo_404"],
                "photo_checked": f["photo_checked"], "drained": f["drained"],
                "inbox_states": f["states"], "outbox_states": f["outbox"],
                "outbox_unsent": f["outbox_unsent"],
                "cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)})
            print(json.dumps(out, ensure_ascii=False))
    finally:
        if args.keep:
            print(f"replica logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
