"""Outbox dispatch: one claimed row → one send through its channel's sender → recorded outcome.

Retry with exponential backoff (or the provider's retry-after), a dead state with the reason
after ``outbox_max_attempts`` or a permanent refusal, and a paused channel (invalid token) that
keeps its rows for later instead of burning retries. The outbox row id is the idempotency key
handed to senders, so a send retried after a crash is recognizable downstream.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from normalizer.schema import DeliveryResult, OutboundMessage
from router import lifecycle
from router.fallback import reroute_failed_message
from store.models import OutboxMessage, Report, Suppression, utcnow
from store.queue import backoff_seconds

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.outbox")


def _message(row: OutboxMessage) -> OutboundMessage:
    fields = dict(row.payload or {})
    fields["idempotency_key"] = f"outbox-{row.id}"
    return OutboundMessage(**fields)


async def dispatch_row(hub: Hub, row_id: int) -> DeliveryResult | None:
    async with hub.sessions() as session:
        row = await session.get(OutboxMessage, row_id)
        if row is None or row.state != "sending" or row.claimed_by != hub.worker_id:
            return None
        suppressed = (await session.execute(select(Suppression.reason).where(
            Suppression.channel == row.channel, Suppression.address == row.address))).scalar()
    adapter = hub.senders.get(row.channel)
    if suppressed:
        result = DeliveryResult.give_up(f"address suppressed: {suppressed}", needs_other_route=True)
    elif adapter is None:
        result = DeliveryResult.give_up(f"channel {row.channel} is not enabled",
                                        needs_other_route=True)
    elif row.channel in hub.paused:
        result = DeliveryResult.paused(hub.paused[row.channel])
    else:
        try:
            result = await adapter.send(row.address, _message(row))
        except Exception as exc:  # a sender bug must not lose the row
            log.exception("sender %s raised", row.channel)
            result = DeliveryResult.retry(f"sender error: {type(exc).__name__}")
    await record_outcome(hub, row_id, result)
    return result


async def record_outcome(hub: Hub, row_id: int, result: DeliveryResult) -> None:
    cfg = hub.settings.workers
    async with hub.sessions() as session, session.begin():
        row = await session.get(OutboxMessage, row_id)
        if row is None:
            return
        now = utcnow()
        outcome = result.status
        if result.status == "sent":
            row.state, row.sent_at, row.last_error = "sent", now, None
            row.provider_id = result.provider_id or row.provider_id
        elif result.status == "paused":
            row.state, row.last_error = "retry", result.reason
            row.attempts = max(0, row.attempts - 1)  # a pause is not the message's fault
            row.next_attempt_at = now + timedelta(seconds=cfg.retry_base_seconds)
            hub.pause(row.channel, result.reason)
        elif result.status == "retry" and row.attempts < cfg.outbox_max_attempts:
            delay = result.retry_after if result.retry_after is not None else backoff_seconds(
                row.attempts, cfg.retry_base_seconds, cfg.retry_max_seconds)
            row.state, row.last_error = "retry", result.reason
            row.next_attempt_at = now + timedelta(seconds=delay)
        else:
            outcome = "dead"
            reason = result.reason if result.status == "give_up" else (
                f"gave up after {row.attempts} attempts: {result.reason}")
            row.state, row.last_error = "dead", reason
            log.warning("outbox %s to %s dead: %s", row.id, row.channel, reason)
        row.claimed_by = None
        hub.metrics.outbox_attempts.labels(row.channel, row.purpose, outcome).inc()
        if row.report_id is not None and outcome in ("sent", "dead"):
            report = await session.get(Report, row.report_id)
            if report is not None:
                note = (f"đã gửi qua {row.channel} ({row.template})" if outcome == "sent"
                        else f"gửi qua {row.channel} thất bại: {row.last_error}")
                kind = "notification" if row.purpose == "citizen" else "delivery"
                lifecycle.record(session, report, actor="system", kind=kind, note=note,
                                 public=False)
                if outcome == "dead" and row.purpose == "citizen" and (
                        result.needs_other_route or result.status == "retry"):
                    # The citizen can still be reached another way (blocked, outside the
                    # window, bounced, or the route stayed down through every retry); a message
                    # refused for itself is not sent elsewhere.
                    await reroute_failed_message(hub, session, row, report, result)
                elif outcome == "dead":
                    hub.metrics.alerts.labels(row.channel, "delivery_dead").inc()


class ChannelPace:
    """One channel's send pace: at most ``concurrency`` sends in flight, at most ``rate`` sends
    started per second, and, after a provider's 429 (a retry with retry-after), no send before
    the provider said. Shared by every outbox pass of this process."""

    def __init__(self, rate: float, concurrency: int) -> None:
        self.interval = 1.0 / rate
        self.slots = asyncio.Semaphore(concurrency)
        self.next_start = 0.0  # monotonic time the next send may start
        self.held_until = 0.0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(now, self.next_start, self.held_until)
        self.next_start = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)

    def hold(self, seconds: float) -> None:
        self.held_until = max(self.held_until, asyncio.get_running_loop().time() + seconds)


async def dispatch_rows(hub: Hub, rows: list[tuple[int, str, str]], paces: dict[str, ChannelPace],
                        stopping: asyncio.Event) -> None:
    """Claimed outbox rows, sent concurrently: channels in parallel, each under its pace, rows of
    one address in order (a citizen's acknowledgement before the update that follows it)."""
    cfg = hub.settings.workers
    by_address: dict[tuple[str, str], list[int]] = {}
    for row_id, channel, address in sorted(rows):
        by_address.setdefault((channel, address), []).append(row_id)

    async def one_address(channel: str, ids: list[int]) -> None:
        pace = paces.get(channel)
        if pace is None:
            rate = cfg.outbox_rate_per_second.get(channel, cfg.outbox_default_rate_per_second)
            pace = paces[channel] = ChannelPace(rate, cfg.outbox_concurrency)
        for row_id in ids:
            if stopping.is_set():
                return
            async with pace.slots:
                await pace.start()
                result = await dispatch_row(hub, row_id)
                if result is not None and result.status == "retry" and result.retry_after:
                    # a 429: the channel backs off before the next send takes the slot
                    pace.hold(min(float(result.retry_after), cfg.retry_max_seconds))

    await asyncio.gather(*(one_address(channel, ids)
                           for (channel, _address), ids in by_address.items()))
