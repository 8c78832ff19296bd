"""CLI commands of the contract, run as a user runs them (subprocess, own settings file)."""
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cfg: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run_main(*args, cfg=cfg, check=check)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'log_format = "text"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n'
                    f'[storage]\nmedia_dir = "{tmp_path}/media"\n')
    return path


async def _seed(cfg: Path) -> list[str]:
    """Two reports through the real intake and worker code."""
    from hub.app import close_hub, open_hub
    from hub.settings import load_settings
    from hub.workers import Workers
    from store.models import Report

    hub = await open_hub(load_settings(cfg, environ={}))
    try:
        for i, text in enumerate(["Rác thải ùn ứ ở chợ Đông Ba, gọi 0905123456",
                                  "Đèn đường hỏng cả tuần ở đường Lê Lợi"]):
            await hub.intake.submit("web", f"t{i}", {"service_code": "other", "_token": f"t{i}",
                                                     "address_string": "Huế", "description": text,
                                                     "email": f"a{i}@example.vn"})
        await Workers(hub).run_inbox_once()
        async with hub.sessions() as session:
            from sqlalchemy import select
            return list((await session.execute(select(Report.code))).scalars())
    finally:
        await close_hub(hub)


async def test_migrate_export_and_reclassify(cfg: Path):
    assert "database migrated" in run("migrate", cfg=cfg).stdout
    codes = await _seed(cfg)
    assert len(codes) == 2
    proc = run("export", cfg=cfg)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["code"] for r in lines] == sorted(codes)
    first = lines[0]
    for key in ("code", "channel", "status", "category", "category_confidence", "description",
                "location", "attachments", "citizen", "agency", "created_at", "updated_at",
                "due_at", "external_ids", "rating", "duplicate_of", "events"):
        assert key in first, key
    assert first["citizen"]["email"] == "a0@example.vn" and first["channel"] == "web"
    assert first["category"] == "environment"
    assert "exported 2 reports" in proc.stderr
    later = run("export", "--since", "2999-01-01T00:00:00+00:00", cfg=cfg)
    assert later.stdout == ""
    out = json.loads(run("reclassify", "--dry-run", cfg=cfg).stdout)
    assert out["reports"] == 2 and out["dry_run"] is True


async def test_agency_token_prints_token_alone_on_last_line_and_stores_only_a_hash(cfg: Path):
    import sqlite3

    proc = run("agency-token", "center", cfg=cfg)
    token = proc.stdout.strip().splitlines()[-1]
    assert token.startswith("hub_") and " " not in token and len(token) > 30
    db = cfg.parent / "hub.db"
    rows = sqlite3.connect(db).execute("SELECT agency_id, token_hash FROM agency_tokens").fetchall()
    assert rows[0][0] == "center" and token not in rows[0][1]
    bad = run("agency-token", "no-such-agency", cfg=cfg, check=False)
    assert bad.returncode == 2 and "unknown agency" in bad.stderr


def test_bad_settings_stop_with_the_key_named(tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[server]\nport = "eighty"\n')
    proc = run("migrate", cfg=cfg, check=False)
    assert proc.returncode == 2 and "server.port" in proc.stderr


async def test_center_labels_survive_reclassify_and_export_as_corrections(cfg: Path):
    """A category the center set (or confirmed by routing) is a label: reclassify keeps it, and
    `corrections` writes it for tools/train_classifier.py --corrections."""
    from sqlalchemy import select

    from hub.app import close_hub, open_hub
    from hub.settings import load_settings
    from router.assign import reroute
    from store.models import Report

    run("migrate", cfg=cfg)
    codes = sorted(await _seed(cfg))
    hub = await open_hub(load_settings(cfg, environ={}))
    try:
        async with hub.sessions() as session, session.begin():
            light = (await session.execute(select(Report).where(Report.code == codes[1]))).scalar_one()
            await reroute(hub, session, light, agency_id=None, category="tourism")  # a wrong label
            garbage = (await session.execute(select(Report).where(Report.code == codes[0]))).scalar_one()
            garbage.status, garbage.agency_id = "triage", None
    finally:
        await close_hub(hub)
    out = json.loads(run("reclassify", "--triage-only", cfg=cfg).stdout)
    assert out["reports"] == 1  # the other report is not in triage
    run("reclassify", cfg=cfg)
    hub = await open_hub(load_settings(cfg, environ={}))
    try:
        async with hub.sessions() as session:
            light = (await session.execute(select(Report).where(Report.code == codes[1]))).scalar_one()
            assert (light.category, light.classifier_version) == ("tourism", "center")
    finally:
        await close_hub(hub)
    target = cfg.parent / "labels.jsonl"
    proc = run("corrections", str(target), cfg=cfg)
    assert "1 labels written" in proc.stdout
    [label] = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert label["category"] == "tourism" and "Đèn đường" in label["text"] and label["time"]


async def test_export_into_a_closed_pipe_and_restore_without_a_terminal_end_cleanly(cfg: Path):
    """`hub export | head -1` and `hub restore FILE` from cron: a plain exit, no traceback."""
    import os
    import sys

    await _seed(cfg)
    command = [sys.executable, "main.py", "export", "--config", str(cfg)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err, err
    backup = cfg.parent / "hub.db"
    restore = subprocess.run([sys.executable, "main.py", "restore", str(backup), "--config", str(cfg)],
                             cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert restore.returncode == 2 and "pass --yes" in restore.stderr, restore.stderr
    assert "Traceback" not in restore.stderr
