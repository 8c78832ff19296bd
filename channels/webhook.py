"""The shared acknowledge-after-durable step of every webhook route."""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from normalizer.schema import RawEvent
from store.intake import IntakeClosed, IntakeResult

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.webhooks")


async def store_events(hub: Hub, channel: str, events: Sequence[RawEvent],
                       started: float | None = None) -> list[IntakeResult]:
    """Commit the events (group commit). Raises HTTP 503 when they could not be made durable, so
    the channel redelivers instead of believing us."""
    started = time.perf_counter() if started is None else started
    try:
        results = await hub.intake.submit_many(channel, [(e.external_id, e.payload) for e in events])
    except IntakeClosed:
        raise web.HTTPServiceUnavailable(text="shutting down", headers={"Retry-After": "5"}) from None
    except Exception:
        log.exception("intake failed for %d %s events", len(events), channel)
        raise web.HTTPServiceUnavailable(text="storage unavailable",
                                         headers={"Retry-After": "5"}) from None
    hub.metrics.ack_seconds(channel).observe(time.perf_counter() - started)
    return results


def refuse(hub: Hub, channel: str, status: int, reason: str) -> web.Response:
    hub.metrics.rejected_requests.labels(channel, reason).inc()
    log.warning("refused %s request: %s", channel, reason)
    return web.json_response({"error": reason}, status=status)
