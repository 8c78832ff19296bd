"""What the router adds to a hub: its periodic jobs, and the agency senders it returns for the
hub to put beside the channels' (hub/app.build_hub calls ``install``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from router.delivery import agency_senders
from router.jobs import check_deadlines, refresh_gauges
from router.open311_client import OPEN311_POLL_SECONDS, Open311Sender, poll_open311

if TYPE_CHECKING:
    from router.context import RouterContext, Sender

GAUGE_SECONDS = 15.0


def install(ctx: RouterContext) -> dict[str, Sender]:
    async def sla() -> None:
        await check_deadlines(ctx)

    async def gauges() -> None:
        await refresh_gauges(ctx)

    ctx.add_job("router-sla", ctx.routing.sla_check_seconds, sla, leader_only=True)
    # Gauges of database-wide counts: every replica reports the same numbers (use max()).
    ctx.add_job("router-gauges", GAUGE_SECONDS, gauges, leader_only=False)
    if any(a.open311_endpoint for a in ctx.agencies):
        async def open311() -> None:
            await poll_open311(ctx)

        ctx.add_job("router-open311-poll", OPEN311_POLL_SECONDS, open311, leader_only=True)
    return {**agency_senders(ctx), Open311Sender.name: Open311Sender(ctx)}
