"""Outbox dispatch: one claimed row → one send through its channel's sender → recorded outcome.

Retry with exponential backoff (or the provider's retry-after, which is not counted as an
attempt: RATE_LIMITED_GIVE_UP_SECONDS), a dead state with the reason after
``outbox_max_attempts`` or a permanent refusal, and a paused channel (invalid token) that
keeps its rows for later instead of burning retries. The outbox row id is the idempotency key
handed to senders, so a send retried after a crash is recognizable downstream.

Messages to one address leave in order: a row is not claimed while an older unfinished row to
the same (channel, address) waits (a retry due later, a row another replica is sending), and
rows claimed without the older one they follow are put back (``claim_in_order``).
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, bindparam, case, exists, select, update
from sqlalchemy.orm import aliased

from normalizer.schema import DeliveryResult, OutboundMessage
from router import lifecycle
from router.fallback import reroute_failed_message
from store.models import OutboxMessage, Report, Suppression, utcnow
from store.queue import backoff_seconds, claim

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.outbox")

READY_STATES = ("pending", "retry")
# Unfinished rows: an older one of these holds back a newer row to the same address. The order
# is the one of the partial index ix_outbox_open_address, whose predicate a query must repeat
# with literal values for SQLite to use it.
OPEN_STATES = ("pending", "retry", "sending", "paused")


def _open(column: ColumnElement[str]) -> ColumnElement[bool]:
    return column.in_(bindparam("open_states", list(OPEN_STATES), expanding=True,
                                literal_execute=True))


def _behind_one_not_taken(taken: list[int]) -> ColumnElement[bool]:
    """Citizen rows with an older unfinished row to their address that is not among ``taken``."""
    older = aliased(OutboxMessage)
    return (OutboxMessage.purpose == "citizen") & exists().where(
        older.channel == OutboxMessage.channel, older.address == OutboxMessage.address,
        older.id < OutboxMessage.id, _open(older.state), older.id.not_in(taken))


def held_back(now: datetime) -> ColumnElement[bool]:
    """Rows with an older unfinished row to their address that a claim now cannot take along
    (being sent, paused, or not due yet). An older row that is due may be claimed in the same
    batch; ``claim_in_order`` puts back whatever was claimed without it. Only a citizen's
    messages are ordered (an acknowledgement before the question that follows it): an agency's
    deliveries are one report each, and one its endpoint keeps refusing must not hold back the
    others for the agency until it dies."""
    older = aliased(OutboxMessage)
    return (OutboxMessage.purpose == "citizen") & exists().where(
        older.channel == OutboxMessage.channel, older.address == OutboxMessage.address,
        older.id < OutboxMessage.id, _open(older.state),
        (older.state.not_in(list(READY_STATES))) | (older.next_attempt_at > now))


async def claim_in_order(hub: Hub, *, limit: int, extra_where: ColumnElement[bool] | None = None,
                         ) -> list[int]:
    """Claim due outbox rows, none ahead of an older unfinished row to the same address.

    The claim skips rows held back by an older row it cannot take along; then the rows it took
    whose older row it did not take (the batch limit cut between them, or on PostgreSQL another
    replica's claim held that row locked — SKIP LOCKED) are put back. What goes on is checked
    after this claim committed: an older row still unfinished and not ours is in someone else's
    hands or waits, and the newer one waits with it."""
    cfg = hub.settings.workers
    cond = ~held_back(utcnow())
    if extra_where is not None:
        cond = cond & extra_where
    ids = await claim(hub.engine, OutboxMessage, worker_id=hub.worker_id, limit=limit,
                      lease_seconds=cfg.claim_lease_seconds, ready_states=READY_STATES,
                      claimed_state="sending", extra_where=cond)
    if not ids:
        return ids
    async with hub.sessions() as session:
        behind = set((await session.execute(select(OutboxMessage.id).where(
            OutboxMessage.id.in_(ids), _behind_one_not_taken(ids)))).scalars())
    if behind:
        await put_back(hub, sorted(behind))
    return [i for i in ids if i not in behind]


async def put_back(hub: Hub, ids: list[int], delay_seconds: float = 0.0) -> None:
    """Rows this worker claimed but does not send now go back as they were: their attempt is not
    counted, and they are due from now on: after the older row that held them back (due
    already), which so comes first in the next claim's order and cannot be starved by them."""
    attempts = OutboxMessage.attempts
    async with hub.engine.begin() as conn:
        await conn.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.state == "sending",
                                        OutboxMessage.claimed_by == hub.worker_id)
            .values(state=case((attempts > 1, "retry"), else_="pending"),
                    attempts=case((attempts > 0, attempts - 1), else_=0),
                    next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
                    claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False))


def _message(row: OutboxMessage) -> OutboundMessage:
    fields = dict(row.payload or {})
    fields["idempotency_key"] = f"outbox-{row.id}"
    return OutboundMessage(**fields)


async def dispatch_row(hub: Hub, row_id: int) -> tuple[DeliveryResult, str] | None:
    """Send one claimed row; the sender's result and the state recorded for the row."""
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
    state = await record_outcome(hub, row_id, result)
    return (result, state) if state is not None else None


async def record_outcome(hub: Hub, row_id: int, result: DeliveryResult) -> str | None:
    """Record one attempt's result; the row's state after it (None: the row is gone)."""
    cfg = hub.settings.workers
    async with hub.sessions() as session, session.begin():
        row = await session.get(OutboxMessage, row_id)
        if row is None:
            return None
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
        elif result.status == "retry" and result.retry_after is not None:
            outcome = _rate_limited(row, result, now, cfg.outbox_max_attempts)
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
        if outcome == "dead":
            log.warning("outbox %s to %s dead: %s", row.id, row.channel, impersonal(row.last_error or ""))
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
        return row.state


# A provider's "later" (a 429 with retry-after, Zalo's night hours, our own per-address mail
# limit) is not the message's fault and is not counted as an attempt. A row rate-limited without
# a break for this long, at least outbox_max_attempts times, gives up all the same (dead, with a
# dead-letter alert, and a citizen's message goes to the next contact point): a channel limited
# for good must not hold messages forever unnoticed. Both conditions: one long wait (Zalo's
# night, eight hours) is not a channel stuck; many short ones over a few minutes are a burst.
RATE_LIMITED_GIVE_UP_SECONDS = 3600.0
# last_error of a row waiting out rate limits: since when, how many times, the provider's words.
_RATE_LIMITED = re.compile(r"^rate limited since (\S+) \((\d+)×\): ")


def _rate_limited(row: OutboxMessage, result: DeliveryResult, now: datetime,
                  max_attempts: int) -> str:
    """Record a rate-limited attempt (uncounted); "dead" once the bound above is reached."""
    row.attempts = max(0, row.attempts - 1)
    since, times = now, 1
    earlier = _RATE_LIMITED.match(row.last_error or "")  # another outcome in between resets
    if earlier:
        try:
            since, times = datetime.fromisoformat(earlier[1]), int(earlier[2]) + 1
        except ValueError:
            pass
    if times >= max_attempts and (now - since).total_seconds() >= RATE_LIMITED_GIVE_UP_SECONDS:
        row.state = "dead"
        row.last_error = (f"gave up after {(now - since).total_seconds() / 60:.0f} minutes "
                          f"rate limited ({times}×): {result.reason}")
        return "dead"
    row.state = "retry"
    row.last_error = f"rate limited since {since.isoformat()} ({times}×): {result.reason}"
    row.next_attempt_at = now + timedelta(seconds=float(result.retry_after or 0))
    return "retry"


class SendHealth:
    """Whether a channel's sends are failing, said once in the log: a provider outage (5xx,
    429s, timeouts) used to be silent until messages died. One WARNING when ``FAILING_AFTER``
    sends in a row came back "retry later", again at most every ``WINDOW`` seconds while they
    keep failing, and one INFO at the first send that goes through after it. The lines name the
    channel, a count and the provider's reason, never an address or a text."""

    WINDOW = 300.0
    FAILING_AFTER = 3

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.failures: deque[float] = deque()  # monotonic times of failures within WINDOW
        self.in_a_row = 0
        self.warned_at: float | None = None  # while failing: when the last warning went out
        self.failing_since = 0.0

    def note(self, result: DeliveryResult) -> None:
        now = time.monotonic()
        while self.failures and self.failures[0] < now - self.WINDOW:
            self.failures.popleft()
        if result.status == "sent":
            if self.warned_at is not None:
                log.info("%s: sending recovered after %.0f s of failed sends", self.channel,
                         now - self.failing_since)
            self.in_a_row, self.warned_at = 0, None
            return
        if result.status != "retry":  # a refusal of one message, or a pause (alerted apart)
            return
        self.failures.append(now)
        self.in_a_row += 1
        if self.in_a_row == 1:
            self.failing_since = now
        if self.in_a_row >= self.FAILING_AFTER and (
                self.warned_at is None or now - self.warned_at >= self.WINDOW):
            self.warned_at = now
            log.warning("%s: %d sends failed in the last %d min: %s", self.channel,
                        len(self.failures), self.WINDOW // 60, impersonal(result.reason))


_PERSONAL = re.compile(r"[^\s<>\"'@]+@[^\s<>\"']+|\+?\d(?:[ .-]?\d){6,}")  # 7+ digits: a phone, an id


def impersonal(reason: str) -> str:
    """A provider's reason without what could name a person (an email, a phone or chat id)."""
    return _PERSONAL.sub("…", reason or "unknown")[:200]


class ChannelPace:
    """One channel's send pace: at most ``concurrency`` sends in flight, at most ``rate`` sends
    started per second, and, after a provider's 429 (a retry with retry-after), no send before
    the provider said. Shared by every outbox pass of this process."""

    def __init__(self, rate: float, concurrency: int, channel: str = "") -> None:
        self.health = SendHealth(channel)
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
    one address in order (a citizen's acknowledgement before the update that follows it): after
    a row that is not done (a retry, a pause) the address's later rows are put back, to go after
    it."""
    cfg = hub.settings.workers
    by_address: dict[tuple[str, str], list[int]] = {}
    for row_id, channel, address in sorted(rows):
        by_address.setdefault((channel, address), []).append(row_id)

    async def one_address(channel: str, ids: list[int]) -> None:
        pace = paces.get(channel)
        if pace is None:
            rate = cfg.outbox_rate_per_second.get(channel, cfg.outbox_default_rate_per_second)
            pace = paces[channel] = ChannelPace(rate, cfg.outbox_concurrency, channel)
        for n, row_id in enumerate(ids):
            if stopping.is_set():
                return
            async with pace.slots:
                await pace.start()
                if stopping.is_set():  # stopped while this waited for a slot: not sent now
                    return
                done = await dispatch_row(hub, row_id)
                if done is not None:
                    pace.health.note(done[0])
                if done is not None and done[0].status == "retry" and done[0].retry_after:
                    # a 429: the channel backs off before the next send takes the slot
                    pace.hold(min(float(done[0].retry_after), cfg.retry_max_seconds))
            if done is None or done[1] not in ("sent", "dead"):
                # Not done: the address's later rows wait for it (a dead row holds nothing).
                if ids[n + 1:]:
                    await put_back(hub, ids[n + 1:])
                return

    # Every address's sends finish before a failure is raised: a caller that puts the batch's
    # unfinished rows back must not put back a row whose send is still in flight (it would be
    # claimed and sent again).
    outcomes = await asyncio.gather(*(one_address(channel, ids)
                                      for (channel, _address), ids in by_address.items()),
                                    return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        raise failures[0]


class OutboxSenders:
    """The outbox's sending side of one process: a pace per channel and, in ``serve``, one
    sending task per channel at a time. A pass claims due rows only for channels whose task is
    idle, so a provider that hangs (a Telegram timeout, a Zalo outage) holds its own channel's
    rows and nothing else: the other channels' rows are claimed and sent while it waits."""

    def __init__(self, hub: Hub, stopping: asyncio.Event) -> None:
        self.hub = hub
        self.stopping = stopping
        self.paces: dict[str, ChannelPace] = {}
        self.running: dict[str, asyncio.Task[None]] = {}

    def busy(self) -> list[str]:
        return sorted(c for c, task in self.running.items() if not task.done())

    async def run_once(self, limit: int, *, wait: bool = True) -> int:
        """Claim up to ``limit`` due rows of the channels not paused (and, when ``wait`` is
        false, not already sending) and send them: awaited when ``wait`` (one pass, as `outbox`
        tests and one-shot callers want), else in a background task per channel that wakes the
        outbox loop when it ends. Returns how many rows were claimed."""
        hub = self.hub
        skip = sorted(set(hub.paused) | (set() if wait else set(self.busy())))
        extra = OutboxMessage.channel.not_in(skip) if skip else None
        ids = await claim_in_order(hub, limit=limit, extra_where=extra)
        if not ids:
            return 0
        async with hub.sessions() as session:
            rows = [(r[0], r[1], r[2]) for r in await session.execute(
                select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.address)
                .where(OutboxMessage.id.in_(ids)))]
        if wait:
            await self._send(rows)
            return len(ids)
        by_channel: dict[str, list[tuple[int, str, str]]] = {}
        for row in rows:
            by_channel.setdefault(row[1], []).append(row)
        for channel, channel_rows in by_channel.items():
            task = asyncio.create_task(self._send(channel_rows), name=f"outbox-{channel}")
            self.running[channel] = task
            task.add_done_callback(self._ended)
        return len(ids)

    async def _send(self, rows: list[tuple[int, str, str]]) -> None:
        """Send claimed rows; whatever of them is still claimed when this ends early (the
        process is stopping, or a database error broke the pass) goes back to the queue at once
        instead of waiting out its lease."""
        try:
            await dispatch_rows(self.hub, rows, self.paces, self.stopping)
        except Exception:
            log.exception("outbox sending pass failed; its unsent rows go back to the queue")
            # after a pause: a database that keeps failing must not turn a row whose send went
            # out (but whose outcome could not be recorded) into a burst of repeats
            await put_back(self.hub, [r[0] for r in rows],
                           self.hub.settings.workers.retry_base_seconds)
            return
        if self.stopping.is_set():
            await put_back(self.hub, [r[0] for r in rows])

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox sending task %s failed", task.get_name(), exc_info=task.exception())
        self.hub.outbox_wakeup.set()  # the channel is free: its next rows may be claimed

    async def stop(self) -> None:
        tasks = [t for t in self.running.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.running.clear()
