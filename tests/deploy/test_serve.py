"""`serve` as an operator runs it: it says where it listens; a busy port or an unreadable
database is one line naming the setting, exit 2; with the default settings (hotline on) a
hotline import becomes a report in the running serve."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_main

ROOT = Path(__file__).resolve().parents[2]


def hub(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return run_main(*args, timeout=timeout)


def config(tmp: Path, port: int, db: str | None = None) -> Path:
    path = tmp / "hub.toml"
    path.write_text(f'log_format = "text"\n[server]\nport = {port}\n'
                    f'[database]\nurl = "{db or f"sqlite+aiosqlite:///{tmp}/hub.db"}"\n'
                    f'[storage]\nmedia_dir = "{tmp}/media"\n')
    return path


def test_busy_port_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = hub("serve", "--config", str(config(tmp_path, port)))
    assert proc.returncode == 2
    assert proc.stderr == (f"error: cannot listen on 127.0.0.1:{port}: port {port} is already in "
                           "use by another process; set [server] port (HUB__SERVER__PORT) or --port\n")
    assert proc.stdout == "" and not (tmp_path / "hub.db").exists()  # nothing started


@pytest.mark.parametrize("case", ["not_a_database", "parent_is_a_file", "postgres_down"])
def test_unreadable_database_is_one_line_naming_the_setting(tmp_path: Path, case: str) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file" * 100)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    url = {"not_a_database": f"sqlite+aiosqlite:///{junk}",
           "parent_is_a_file": f"sqlite+aiosqlite:///{junk}/hub.db",
           "postgres_down": f"postgresql+asyncpg://hub:secret-pw@127.0.0.1:{closed}/hub"}[case]
    proc = hub("serve", "--port", "0", "--config", str(config(tmp_path, 0, url)))
    # PostgreSQL refusing connections (a boot race, a restart during an upgrade) may pass:
    # 75 (EX_TEMPFAIL), which systemd restarts; 2 is RestartPreventExitStatus, for good
    assert proc.returncode == (75 if case == "postgres_down" else 2), proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: cannot open the database: " if case != "postgres_down"
                           else "error: the database is not reachable: ")
    assert "set [database] url (HUB__DATABASE__URL)" in line
    assert "secret-pw" not in line  # the password is masked
    assert "Traceback" not in proc.stderr


def test_default_serve_turns_a_hotline_import_into_a_report(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = config(tmp_path, port)  # only where to keep data: every channel setting is the default
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "main.py", "serve", "--config", str(cfg)],
                                  cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in log.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert (f"listening on http://127.0.0.1:{port} (public URL http://127.0.0.1:8080)"
                in log.read_text())
        calls = tmp_path / "calls.csv"
        calls.write_text("Mã cuộc gọi,Thời gian,Số điện thoại,Nội dung\n"
                         f"S-1,{time.strftime('%d/%m/%Y %H:%M')},0905 12,Rác thải ùn ứ ở chợ Đông Ba\n",
                         encoding="utf-8")
        proc = hub("import-hotline", str(calls), "--config", str(cfg))
        # The caller number cannot exist: the call is kept anyway, flagged.
        assert "1 imported" in proc.stdout and "caller number to check" in proc.stdout, proc.stdout
        deadline = time.monotonic() + 30
        while not (out := hub("export", "--config", str(cfg)).stdout.strip()):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        [report] = [json.loads(line) for line in out.splitlines()]
        assert report["channel"] == "hotline" and "Đông Ba" in report["description"]
        assert "no enabled adapter" not in log.read_text()
        # A second serve on the same SQLite database (another port): refused, one line.
        proc = hub("serve", "--port", "0", "--config", str(cfg))
        assert proc.returncode == 2, proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith(f"error: another hub serve (pid {server.pid}) already uses this "
                               "SQLite database"), line
    finally:
        server.terminate()
        server.wait(timeout=60)
