"""Probe 9: after a provider outage longer than the retry schedule, dead outbox rows can be
re-driven (``main.py outbox retry``) and are then sent exactly once."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from hub.outbox_cli import retry_dead
from store.models import OutboxMessage, Report
from tests.conftest import wait_for
from tests.messenger.conftest import batch, message

SEND = "/v21.0/me/messages"
ROOT = Path(__file__).resolve().parents[2]


async def test_dead_rows_are_redriven_after_an_outage(db_url, channels_hub):
    hub = await channels_hub(db_url, workers={"outbox_max_attempts": 2})
    hub.graph.on("POST", SEND, default=(500, {"error": {"message": "outage", "code": 2}}))
    raw = json.dumps(batch([message("psid-out", "mid.out.1", "Cây đổ chắn đường Lê Lợi")])).encode()
    assert (await hub.messenger(raw)).status == 200

    async def dead():
        async with hub.hub.sessions() as session:
            rows = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.channel == "messenger"))).scalars().all()
            return rows if rows and all(r.state == "dead" for r in rows) else None
    rows = await wait_for(dead, timeout=20)
    async with hub.hub.sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()

    # Selection: another channel or another report selects nothing.
    assert (await retry_dead(hub.hub.engine, channel="zalo"))["selected"] == 0
    assert (await retry_dead(hub.hub.engine, report_code="PA-1999-000001"))["selected"] == 0
    dry = await retry_dead(hub.hub.engine, channel="messenger", report_code=code, dry_run=True)
    assert dry["selected"] == len(rows) and dry["requeued"] == 0

    hub.graph.on("POST", SEND, default=(200, {"recipient_id": "psid-out", "message_id": "mid.sent"}))
    sent_before = len(hub.graph.calls_to(SEND))
    result = await retry_dead(hub.hub.engine, channel="messenger", report_code=code)
    assert result["requeued"] == len(rows)
    hub.hub.wake_outbox()

    async def sent():
        async with hub.hub.sessions() as session:
            states = [r.state for r in (await session.execute(select(OutboxMessage).where(
                OutboxMessage.id.in_([r.id for r in rows])))).scalars()]
            return states if all(s == "sent" for s in states) else None
    await wait_for(sent, timeout=20)
    assert len(hub.graph.calls_to(SEND)) - sent_before == len(rows)
    # Nothing left to re-drive.
    assert (await retry_dead(hub.hub.engine, channel="messenger"))["selected"] == 0


def test_cli_is_registered_and_refuses_a_bad_time(tmp_path):
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "hub.db"}"\n')
    ok = subprocess.run([sys.executable, "main.py", "outbox", "retry", "--config", str(cfg),
                         "--channel", "zalo", "--dry-run"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout.strip().splitlines()[-1])["selected"] == 0
    bad = subprocess.run([sys.executable, "main.py", "outbox", "retry", "--config", str(cfg),
                          "--since", "yesterday"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "not an ISO date/time" in bad.stderr
