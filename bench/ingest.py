"""Intake benchmark: the hub's durable intake against a bare aiohttp endpoint answering 200.

Both servers are separate processes on loopback, driven by the same generator (wrk when installed,
else a Python aiohttp client — which is then itself the bottleneck on 2 cores) with the same
concurrency and duration. Each channel with a load module in hub/demo/samples/ is a route; every
request carries a distinct event id (signed where the channel signs). After the run the hub's
inbox is counted: every acknowledged event must be stored.

    .venv/bin/python bench/ingest.py [--duration 10] [--concurrency 64] [--routes web,messenger]

The channels' API base URLs point at loopback fakes (in a thread of this process) that answer
as the real APIs do, so the hub's acknowledgements go out as in production.

Prints one JSON line; the top-level figures are those of the route with the lowest ratio.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import pkgutil
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE_SERVER = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(text="ok")
app = web.Application(client_max_size=2**22)
app.router.add_route("*", "/{tail:.*}", ok)
try:
    import uvloop
    loop = uvloop.new_event_loop()  # the same loop the hub's serve uses
except ImportError:
    import asyncio
    loop = asyncio.new_event_loop()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None, loop=loop)
"""

WRK_LUA = """
local reqs = {}
local n = 0
local step, idx = 1, 0
function setup(thread)
  thread:set("tid", _G.__tid or 0)
  _G.__tid = (_G.__tid or 0) + 1
end
function init(args)
  local f = assert(io.open(args[1], "rb"))
  while true do
    local len = f:read("*l")
    if not len then break end
    n = n + 1
    reqs[n] = f:read(tonumber(len))
  end
  f:close()
  step = tonumber(args[2])
  idx = tid
end
function request()
  local r = reqs[(idx % n) + 1]
  idx = idx + step
  return r
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_modules(names: list[str] | None):
    import hub.demo.samples as loads

    found = {}
    for info in pkgutil.iter_modules(loads.__path__):
        mod = importlib.import_module(f"hub.demo.samples.{info.name}")
        if hasattr(mod, "requests") and (names is None or mod.NAME in names):
            found[mod.NAME] = mod
    return found


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def to_toml(data: dict, prefix: str = "") -> str:
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((f"{prefix}{key}", value))
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    out = "\n".join(lines) + "\n"
    for name, value in tables:
        out += f"\n[{name}]\n" + to_toml(value, f"{name}.")
    return out


def write_raw_requests(path: Path, reqs, port: int) -> None:
    with open(path, "wb") as fh:
        for req_path, headers, body in reqs:
            head = f"POST {req_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(body)}\r\n\r\n"
            raw = head.encode() + body
            fh.write(f"{len(raw)}\n".encode() + raw)


def run_wrk(port: int, reqs_file: Path, lua: Path, duration: int, conc: int, threads: int) -> dict:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conc}", f"-d{duration}s", "--latency", "-s", str(lua),
         f"http://127.0.0.1:{port}/", "--", str(reqs_file), str(threads)],
        capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": total, "ok": total - (int(non2xx.group(1)) if non2xx else 0),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": ms("50"), "p99_ms": ms("99"), "socket_errors": errors.group(1) if errors else ""}


async def run_python_client(port: int, reqs, duration: int, conc: int) -> dict:
    import aiohttp

    lat: list[float] = []
    ok = total = 0
    idx = 0
    deadline = time.perf_counter() + duration
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as session:
        async def worker() -> None:
            nonlocal ok, total, idx
            while time.perf_counter() < deadline:
                path, headers, body = reqs[idx % len(reqs)]
                idx += 1
                t0 = time.perf_counter()
                async with session.post(f"http://127.0.0.1:{port}{path}", data=body,
                                        headers=headers) as resp:
                    await resp.read()
                    ok += resp.status < 300
                total += 1
                lat.append((time.perf_counter() - t0) * 1000)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(lat, n=100)
    return {"requests": total, "ok": ok, "rps": total / elapsed, "p50_ms": q[49], "p99_ms": q[98]}


def drive(port: int, reqs, work: Path, generator: str, duration: int, conc: int) -> dict:
    if generator == "wrk":
        reqs_file = work / f"reqs-{port}.bin"
        write_raw_requests(reqs_file, reqs, port)
        lua = work / "bench.lua"
        lua.write_text(WRK_LUA)
        return run_wrk(port, reqs_file, lua, duration, conc, threads=2)
    return asyncio.run(run_python_client(port, reqs, duration, conc))


def measure_drain(db: Path, seconds: float) -> dict:
    """After the load: how fast the inbox worker turns the backlog into reports."""
    def counts() -> tuple[int, int]:
        con = sqlite3.connect(db, timeout=30)
        try:
            done = con.execute("SELECT count(*) FROM inbox WHERE state IN ('done','ignored')").fetchone()[0]
            left = con.execute("SELECT count(*) FROM inbox WHERE state IN ('pending','claimed')").fetchone()[0]
        finally:
            con.close()
        return done, left

    done0, backlog = counts()
    t0 = time.perf_counter()
    done, left = done0, backlog
    while left and time.perf_counter() - t0 < seconds:
        time.sleep(0.5)
        done, left = counts()
    elapsed = time.perf_counter() - t0
    return {"backlog_after_load": backlog, "backlog_left": left,
            "worker_events_per_s": round((done - done0) / elapsed, 1) if elapsed > 0.01 else None}


class ChannelAPIs:
    """Loopback fakes of the channel APIs, answering as the real ones do when all goes well, in
    a thread of this (otherwise idle) process: the hub's replies then go out as in production
    instead of piling up retries against an address where nothing listens."""

    def __init__(self) -> None:
        import threading

        self.url = ""
        self.api = None  # the FakeAPI: its .calls record what the hub sent
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        from hub.demo import script_channel_answers
        from hub.demo.fakeapi import FakeAPI
        from hub.demo.samples import telegram

        api = self.api = FakeAPI()
        await api.start()
        script_channel_answers(api, telegram.BOT_TOKEN)
        self.url, self._loop, self._stop = api.url, asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await api.close()

    def __enter__(self) -> ChannelAPIs:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def prepared_requests(mod, n: int):
    """The route's requests; chat events are stamped now, as live webhooks are (Messenger's
    24-hour reply window is computed from them)."""
    import inspect

    if "timestamp_ms" in inspect.signature(mod.requests).parameters:
        return mod.requests(n, timestamp_ms=int(time.time() * 1000))
    return mod.requests(n)


def bench_route(mod, args, generator: str, work: Path, api_base: str,
                synchronous: str = "FULL") -> dict:
    n_reqs = args.requests
    reqs = prepared_requests(mod, n_reqs)
    # Bare endpoint
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(bare_port)])
    try:
        wait_port(bare_port, bare)
        bare_res = drive(bare_port, reqs, work, generator, args.duration, args.concurrency)
    finally:
        bare.terminate()
        bare.wait()
    # Hub with default settings (SQLite, workers on) plus the channel's own settings
    hub_port = free_port()
    db = work / f"hub-{mod.NAME}-{synchronous}.db"
    cfg = work / f"hub-{mod.NAME}-{synchronous}.toml"
    settings = {"log_level": "WARNING", "server": {"port": hub_port},
                "database": {"url": f"sqlite+aiosqlite:///{db}",
                             "sqlite_synchronous": synchronous},
                "storage": {"media_dir": str(work / "media")}}
    from hub.settings import _deep_merge

    settings = _deep_merge(settings, mod.settings(api_base))
    cfg.write_text(to_toml(settings))
    hub = subprocess.Popen([sys.executable, "main.py", "serve", "--config", str(cfg)], cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_port(hub_port, hub)
        hub_res = drive(hub_port, reqs, work, generator, args.duration, args.concurrency)
        drain = measure_drain(db, args.drain_seconds)
    finally:
        hub.terminate()
        hub.wait(timeout=60)
    con = sqlite3.connect(db)
    stored = con.execute("SELECT count(*) FROM inbox WHERE channel=?", (mod.NAME,)).fetchone()[0]
    con.close()
    # Each request carries a distinct id until the generator wraps around the prepared set.
    acked_distinct = min(hub_res["ok"], n_reqs * getattr(mod, "EVENTS_PER_REQUEST", 1))
    return {
        "hub_events_per_s": round(hub_res["rps"] * getattr(mod, "EVENTS_PER_REQUEST", 1), 1),
        "bare_events_per_s": round(bare_res["rps"], 1),
        "ratio": round(hub_res["rps"] / bare_res["rps"], 3),
        "hub_p50_ms": round(hub_res["p50_ms"], 2), "hub_p99_ms": round(hub_res["p99_ms"], 2),
        "bare_p50_ms": round(bare_res["p50_ms"], 2), "bare_p99_ms": round(bare_res["p99_ms"], 2),
        "acked": hub_res["ok"], "acked_distinct": acked_distinct, "stored": stored,
        "lost": max(0, acked_distinct - stored),
        **drain,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=150_000,
                        help="distinct prepared requests per route")
    parser.add_argument("--drain-seconds", type=float, default=15,
                        help="how long to watch the worker turn the backlog into reports")
    parser.add_argument("--routes", help="comma-separated channel names (default: all)")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--synchronous", default="FULL",
                        help="SQLite synchronous mode(s) of the hub, comma-separated: FULL (the "
                             "default: acknowledged commits survive a power loss), NORMAL; with "
                             "two, both are measured in this run and compared")
    args = parser.parse_args()
    modes = [m.strip().upper() for m in args.synchronous.split(",") if m.strip()]
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    mods = load_modules(args.routes.split(",") if args.routes else None)
    by_mode: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp, ChannelAPIs() as apis:
        for mode in modes:
            by_mode[mode] = {name: bench_route(mod, args, generator, Path(tmp), apis.url, mode)
                             for name, mod in sorted(mods.items())}
    routes = by_mode[modes[0]]
    worst = min(routes.values(), key=lambda r: r["ratio"])
    out = {"generator": generator, "concurrency": args.concurrency,
           "duration_s": args.duration, "cpus": os.cpu_count(), "synchronous": modes[0], **worst,
           "acked": sum(r["acked"] for r in routes.values()),
           "stored": sum(r["stored"] for r in routes.values()),
           "lost": sum(r["lost"] for r in routes.values()),
           "routes": routes}
    if len(modes) > 1:  # the cost of durability, measured side by side in this run
        out["synchronous_compared"] = {mode: {name: {k: r[k] for k in (
            "hub_events_per_s", "hub_p50_ms", "hub_p99_ms", "ratio", "lost")}
            for name, r in rs.items()} for mode, rs in by_mode.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
