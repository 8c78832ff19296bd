"""What the router adds to a hub: the agency senders and its periodic jobs (hub/app.build_hub
calls ``install`` through its HUB_EXTENSIONS list)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from router.delivery import agency_senders
from router.jobs import check_deadlines, refresh_gauges

if TYPE_CHECKING:
    from hub.context import Hub

GAUGE_SECONDS = 15.0


def install(hub: Hub) -> None:
    hub.senders.update(agency_senders(hub))

    async def sla() -> None:
        await check_deadlines(hub)

    async def gauges() -> None:
        await refresh_gauges(hub)

    hub.add_job("router-sla", hub.settings.routing.sla_check_seconds, sla, leader_only=True)
    # Gauges of database-wide counts: every replica reports the same numbers (use max()).
    hub.add_job("router-gauges", GAUGE_SECONDS, gauges, leader_only=False)
