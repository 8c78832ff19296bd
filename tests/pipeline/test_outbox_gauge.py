"""hub_outbox_rows{channel,state} follows the outbox down as well as up: a (channel, state) that
empties reads 0 (its series kept), so the dashboard stops showing dead rows `outbox retry`
requeued."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.app import close_hub
from hub.outbox_cli import retry_dead
from hub.workers import Workers
from tests.pipeline.test_outbox_order import CHAT, queue, telegram_outbox_hub


def rows(hub: Any, state: str) -> float | None:
    return hub.metrics.registry.get_sample_value("hub_outbox_rows",
                                                 {"channel": "telegram", "state": state})


async def test_dead_rows_requeued_by_outbox_retry_leave_the_gauge(
        tmp_path: Path, db_url: str, fake_api: Any) -> None:
    hub, _api = await telegram_outbox_hub(tmp_path, db_url, fake_api)
    try:
        await queue(hub, *[(f"{CHAT}{i}", f"Mã phản ánh: PA-2026-0000{i:02}") for i in range(12)],
                    state="dead", attempts=8, last_error="gave up after 8 attempts: Telegram timed out")
        workers = Workers(hub)
        await workers.refresh_gauges()
        assert rows(hub, "dead") == 12
        result = await retry_dead(hub.engine, channel="telegram")
        assert result["requeued"] == 12
        await workers.refresh_gauges()
        assert rows(hub, "pending") == 12
        assert rows(hub, "dead") == 0  # kept at 0: an alert rule on it still has data
    finally:
        await close_hub(hub)
