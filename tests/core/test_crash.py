"""Crash safety: SIGKILL the server under concurrent intake load; after a restart every
acknowledged event is stored exactly once and becomes exactly one report."""
import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, port: int, more: str = "") -> Path:
    """A settings file for one serve on ``port``, its database and media in ``tmp_path``."""
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f"""
log_format = "text"
[server]
port = {port}
[database]
url = "sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
[storage]
media_dir = "{tmp_path / 'media'}"
""" + more)
    return cfg


def _start(cfg: Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "main.py", "serve", "--config", str(cfg)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})


async def _wait_healthy(session: aiohttp.ClientSession, base: str, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError("server exited during start")
        try:
            async with session.get(f"{base}/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("server did not become healthy")


async def test_sigkill_under_load_loses_nothing_acknowledged(tmp_path: Path):
    port = _free_port()
    db = tmp_path / "hub.db"
    cfg = _config(tmp_path, port, """
[workers]
poll_seconds = 0.05
claim_lease_seconds = 1
[channels.web]
anonymous_per_hour = 1000000
""")
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = _start(cfg, log)
    acked: set[str] = set()
    sent = 0
    async with aiohttp.ClientSession() as session:
        await _wait_healthy(session, base, proc)
        stop = asyncio.Event()

        async def client(n: int) -> None:
            nonlocal sent
            i = 0
            while not stop.is_set():
                key = f"crash-{n}-{i}"
                i += 1
                sent += 1
                form = {"service_code": "environment", "description": f"Rác thải {key}",
                        "address_string": "Huế"}
                try:
                    async with session.post(f"{base}/open311/v2/requests.json", data=form,
                                            headers={"Idempotency-Key": key}) as resp:
                        if resp.status in (200, 201):
                            acked.add(key)
                except (TimeoutError, aiohttp.ClientError):
                    await asyncio.sleep(0.01)

        clients = [asyncio.create_task(client(n)) for n in range(32)]
        # Kill mid-stream: after enough acknowledgements to mean something (shared CI machines
        # are slow, so this waits on a count, not a time), while requests are still in flight.
        for _ in range(300):
            if len(acked) >= 300:
                break
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*clients)
        assert len(acked) > 100, f"load too small to prove anything ({len(acked)} acked)"

        proc = _start(cfg, log)
        try:
            await _wait_healthy(session, base, proc)
            # every acknowledged event becomes a report once the worker catches up
            for _ in range(600):
                con = sqlite3.connect(db)
                pending = con.execute("SELECT count(*) FROM inbox WHERE state != 'done'").fetchone()[0]
                con.close()
                if pending == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, "graceful shutdown failed"

    con = sqlite3.connect(db)
    rows = con.execute("SELECT external_id, state, report_id FROM inbox WHERE channel='web'").fetchall()
    stored = {r[0] for r in rows}
    assert len(rows) == len(stored), "an event was stored twice"
    assert acked <= stored, f"lost acknowledged events: {sorted(acked - stored)[:5]}"
    assert all(r[1] == "done" and r[2] is not None for r in rows)
    reports = con.execute("SELECT count(*), count(DISTINCT id) FROM reports").fetchone()
    assert reports[0] == len(rows) == len({r[2] for r in rows}), "not exactly one report per event"
    acks = con.execute("SELECT count(*), count(DISTINCT report_id) FROM outbox").fetchone()
    assert acks[0] == acks[1] == len(rows), "not exactly one acknowledgement per report"
    con.close()


async def test_a_second_sigterm_does_not_abort_the_drain(tmp_path: Path):
    """make and serve signalled as one process group (or Ctrl-C twice): the second signal
    arrives while the hub drains. It is logged and ignored; the stop ends cleanly, exit 0."""
    port = _free_port()
    cfg = _config(tmp_path, port)
    log = tmp_path / "serve.log"
    async with aiohttp.ClientSession() as session:
        proc = _start(cfg, log)
        try:
            await _wait_healthy(session, f"http://127.0.0.1:{port}", proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.005)  # two signals at once are one pending signal: let the first start
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
    text = log.read_text()
    assert code == 0 and "hub stopped" in text, text[-2000:]
    assert "Traceback" not in text, text[-2000:]
