"""``main.py outbox retry --report CODE`` with a code no report has exits 2 and says so (as
``public-hide`` does) instead of ``{"selected": 0}``, which reads as "nothing to retry"; a known
code (any case) still selects its dead rows."""
from __future__ import annotations

import json
from pathlib import Path

from store.models import OutboxMessage
from tests.conftest import run_main, seed_report_db


def seed(tmp_path: Path) -> Path:
    return seed_report_db(tmp_path, "PA-2026-000077", lambda report_id: OutboxMessage(
        report_id=report_id, channel="zalo", address="u1", payload={"text": "x"}, state="dead"))[1]


def test_unknown_report_code_exits_2_with_a_message(tmp_path: Path) -> None:
    cfg = seed(tmp_path)
    proc = run_main("outbox", "retry", "--report", "PA-9999-000001", "--dry-run", cfg=cfg)
    assert proc.returncode == 2, proc.stdout
    assert "no report 'PA-9999-000001'" in proc.stderr and proc.stdout == ""


def test_known_report_code_selects_its_dead_rows(tmp_path: Path) -> None:
    cfg = seed(tmp_path)
    proc = run_main("outbox", "retry", "--report", "pa-2026-000077", "--dry-run", cfg=cfg)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["selected"] == 1


def test_unknown_channel_and_bad_time_exit_2_with_a_message(tmp_path: Path) -> None:
    """A mistyped sender is not "nothing to retry" either; a bad --since is the same exit 2 as
    `export` gives."""
    cfg = seed(tmp_path)
    proc = run_main("outbox", "retry", "--channel", "zallo", "--dry-run", cfg=cfg)
    assert proc.returncode == 2, proc.stdout
    assert "no sender 'zallo'; senders: " in proc.stderr and "zalo, zns" in proc.stderr
    assert proc.stdout == ""
    proc = run_main("outbox", "retry", "--channel", "zalo", "--dry-run", cfg=cfg)
    assert proc.returncode == 0 and json.loads(proc.stdout.strip().splitlines()[-1])["selected"] == 1
    proc = run_main("outbox", "retry", "--since", "yesterday", cfg=cfg)
    assert proc.returncode == 2 and "--since 'yesterday' is not an ISO date/time" in proc.stderr
    assert "Traceback" not in proc.stderr
