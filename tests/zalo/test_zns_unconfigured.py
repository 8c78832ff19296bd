"""Zalo on without ``zns_template_id``: ZNS can send nothing, so the fallback chain does not
offer it (every message rerouted there died at once, with a dead-letter alert pointing at ZNS),
and ``outbox retry`` leaves the rows that died of it while the setting is still missing."""
from __future__ import annotations

from typing import Any

from hub.outbox_cli import missing_settings, retry_dead
from router.fallback import candidate_routes
from store.models import OutboxMessage

PHONE = "+84905123456"
POINTS = {"phone": [PHONE], "email": ["dan@example.vn"]}


async def test_no_zns_route_without_a_template(zalo_hub: Any) -> None:
    hub, _fake = await zalo_hub(zns_template_id="")
    assert "zns" in hub.senders
    assert [c for c, _ in candidate_routes(hub, POINTS)] == []  # no SMS, no email channel here


async def test_zns_route_with_a_template(zalo_hub: Any) -> None:
    hub, _fake = await zalo_hub()
    assert candidate_routes(hub, POINTS) == [("zns", PHONE)]


async def test_outbox_retry_leaves_rows_dead_for_a_missing_template(zalo_hub: Any, sqlite_url: str) -> None:
    hub, _fake = await zalo_hub(db_url=sqlite_url, zns_template_id="")
    async with hub.sessions() as session, session.begin():
        session.add_all([
            OutboxMessage(channel="zns", address=PHONE, payload={"text": "PA-2026-000001"},
                          state="dead", attempts=1,
                          last_error="channels.zalo.zns_template_id is not configured"),
            OutboxMessage(channel="zalo", address="2468458835291979221",
                          payload={"text": "PA-2026-000002"}, state="dead", attempts=8,
                          last_error="gave up after 8 attempts: zalo error -32: timeout"),
        ])
    result = await retry_dead(hub.engine, still_unconfigured=missing_settings(hub.settings))
    assert (result["selected"], result["requeued"], result["skipped_not_configured"]) == (2, 1, 1)
    configured, _ = await zalo_hub(db_url=sqlite_url)  # the template set: it goes again
    result = await retry_dead(configured.engine,
                              still_unconfigured=missing_settings(configured.settings))
    assert (result["requeued"], result["skipped_not_configured"]) == (1, 0)
