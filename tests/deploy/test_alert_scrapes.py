"""The alert rules against what a running hub really exposes: /metrics scraped before its first
send and after a Telegram outage dead-lettered a message, replayed to promtool as 15-second
scrapes. The first dead letter on a route after a start must alert — it did not while the hub
created each series at its first event (it appeared at 1, and increase() over it was 0)."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from hub.keys import HUB_KEY
from normalizer.schema import OutboundMessage
from router.messages import outbound_row
from store.models import OutboxMessage
from tests.conftest import wait_for
from tests.deploy.test_prometheus_rules import PROM, needs_promtool
from tests.telegram.fakebot import channel_settings, error, path, serve

Series = tuple[str, tuple[tuple[str, str], ...]]
# What the rules select (deploy/prometheus/alerts.yml).
WATCHED = ("hub_outbox_attempts_total", "hub_outbox_rows", "hub_alerts_total", "hub_channel_paused")
TARGET = {"job": "intake-hub", "instance": "127.0.0.1:8080"}


def scrape(text: str) -> dict[Series, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name in WATCHED}


def promql(series: Series) -> str:
    name, labels = series
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in (*TARGET.items(), *labels)) + "}"


async def test_hub_exposes_the_watched_series_at_zero_from_its_start(settings_factory, hub_client,
                                                                     fake_api):
    api = await fake_api()
    serve(api)
    client = await hub_client(settings_factory(channels=channel_settings(api.url),
                                               workers={"enabled": False}))
    first = scrape(await (await client.get("/metrics")).text())

    def value(name: str, **labels: str) -> float | None:
        return first.get((name, tuple(sorted(labels.items()))))

    for outcome in ("sent", "retry", "dead"):
        assert value("hub_outbox_attempts_total", channel="telegram", purpose="citizen",
                     outcome=outcome) == 0, outcome
        assert value("hub_outbox_attempts_total", channel="agency_webhook",
                     purpose="agency_webhook", outcome=outcome) == 0, outcome
    assert value("hub_outbox_rows", channel="telegram", state="dead") == 0
    assert value("hub_alerts_total", channel="telegram", kind="paused") == 0
    assert value("hub_channel_paused", channel="telegram") == 0
    assert value("hub_alerts_total", channel="router", kind="overdue_director") == 0


@needs_promtool
async def test_first_dead_letter_after_start_alerts_from_real_scrapes(settings_factory, hub_client,
                                                                      fake_api, tmp_path: Path):
    api = await fake_api()
    serve(api)
    api.on("POST", path("sendMessage"), default=error(500, "Internal Server Error"))
    client = await hub_client(settings_factory(channels=channel_settings(api.url),
                                               workers={"outbox_max_attempts": 2}))
    hub = client.app[HUB_KEY]
    before = scrape(await (await client.get("/metrics")).text())

    async with hub.sessions() as session, session.begin():
        outbound_row(session, channel="telegram", address="512340001", report=None,
                     template=None, message=OutboundMessage(text="Mã phản ánh: PA-2026-000007"))
    hub.wake_outbox()

    async def dead() -> bool:
        async with hub.sessions() as session:
            return (await session.execute(select(OutboxMessage.state))).scalar() == "dead"
    await wait_for(dead)
    after = scrape(await (await client.get("/metrics")).text())
    assert after[("hub_outbox_attempts_total", (("channel", "telegram"), ("outcome", "dead"),
                                                ("purpose", "citizen")))] == 1

    # 20 min of the first scrape, then the second: a scrape every 15 s.
    def values(series: Series) -> str:
        return " ".join(str(s.get(series, "_")) for s in [before] * 80 + [after] * 80)

    input_series: list[dict[str, Any]] = [
        {"series": promql(("up", ())), "values": "1x160"},
        *({"series": promql(s), "values": values(s)} for s in sorted({*before, *after}))]
    description = (
        "Citizens or agencies were not reached. `hub outbox retry --channel telegram --dry-run` "
        "lists the dead rows (their reason is on each report's page, /console/reports/CODE); "
        "once the cause is fixed, the same command without --dry-run sends them again.")
    test = {
        "rule_files": [str(PROM / "alerts.yml")],
        "evaluation_interval": "15s",
        "tests": [{"interval": "15s", "input_series": input_series, "alert_rule_test": [
            {"eval_time": "19m", "alertname": "HubOutboxDeadLetters", "exp_alerts": []},
            {"eval_time": "21m", "alertname": "HubOutboxDeadLetters", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "channel": "telegram"},
                 "exp_annotations": {"summary": "Dead-lettered messages on telegram",
                                     "description": description}}]},
        ]}],
    }
    (tmp_path / "scrapes.test.yml").write_text(yaml.safe_dump(test, allow_unicode=True))
    proc = subprocess.run(["promtool", "test", "rules", "scrapes.test.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
