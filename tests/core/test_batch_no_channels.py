"""Batch commands (``hub reclassify``) open the hub's store, not its channels: with Telegram
configured, reclassify neither calls the bot API (getMe) nor warns that the bot is not ready.
Run as a user runs it (``python main.py``), against a loopback fake that counts requests and
against a dead port."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.conftest import run_main
from tests.telegram.fakebot import SECRET, TOKEN


def config(tmp_path: Path, api_base: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        f'log_format = "text"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n'
        f'[storage]\nmedia_dir = "{tmp_path}/media"\n'
        f'[channels.telegram]\nenabled = true\nbot_token = "{TOKEN}"\n'
        f'secret_token = "{SECRET}"\napi_base = "{api_base}"\n', encoding="utf-8")
    return path


async def reclassify(cfg: Path) -> tuple[dict, str]:
    # In a thread: the loop keeps serving the fake API while the command runs.
    proc = await asyncio.to_thread(run_main, "reclassify", "--dry-run", cfg=cfg, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


async def test_reclassify_makes_no_request_to_a_configured_channel(tmp_path: Path, fake_api):
    api = await fake_api()  # answers nothing in particular: every request is recorded
    summary, stderr = await reclassify(config(tmp_path, api.url))
    assert summary["dry_run"] is True and summary["reports"] == 0
    assert api.calls == [], [c.path for c in api.calls]
    assert "telegram" not in stderr.lower()


async def test_reclassify_with_telegram_on_a_dead_port_does_not_warn(tmp_path: Path):
    summary, stderr = await reclassify(config(tmp_path, "http://127.0.0.1:9"))
    assert summary["dry_run"] is True
    assert "not ready" not in stderr and "NetworkError" not in stderr
