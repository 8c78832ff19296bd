"""Background workers: inbox → reports, outbox → channels, attachments → media store.

Each loop claims a batch (see store.queue.claim), works it, and sleeps until woken or until
``poll_seconds`` pass. On shutdown each loop finishes the row in hand and stops.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from channels.media import MediaRefused
from hub.analysis import Key, message_key
from hub.dispatch import OutboxSenders
from hub.inbound import apply_event, media_notice, parse_event
from hub.inbound.contacts import ensure_contacts
from normalizer.schema import InboundMessage
from store.ids import defer_writes, stage_new_rows, write_new_rows
from store.models import Attachment, InboxEvent, OutboxMessage, utcnow
from store.queue import backoff_seconds, claim, extend_claims, lapse_foreign_claims
from store.txn import held_scoped, peek_scoped

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.workers")


class ClaimedEvent:
    """An inbox row this worker claimed, as ``apply_event`` sees it: it reads the channel and
    external id and sets the outcome (state, report, time), which the worker then writes for the
    whole transaction with one statement (no unit-of-work bookkeeping per row)."""

    __slots__ = ("id", "channel", "external_id", "state", "claimed_by", "report_id",
                 "processed_at", "error")
    COLUMNS = (InboxEvent.id, InboxEvent.channel, InboxEvent.external_id, InboxEvent.state,
               InboxEvent.claimed_by)

    def __init__(self, id: int, channel: str, external_id: str, state: str,  # noqa: A002
                 claimed_by: str | None) -> None:
        self.id, self.channel, self.external_id = id, channel, external_id
        self.state, self.claimed_by = state, claimed_by
        self.report_id: int | None = None
        self.processed_at: datetime | None = None
        self.error: str | None = None

    def outcome(self) -> dict[str, object]:
        return {"row_id": self.id, "state": self.state, "report_id": self.report_id,
                "processed_at": self.processed_at, "error": self.error}


_inbox = InboxEvent.__table__
_MARK_APPLIED = (update(_inbox).where(_inbox.c.id == bindparam("row_id"))
                 .values(state=bindparam("state"), report_id=bindparam("report_id"),
                         processed_at=bindparam("processed_at"), error=bindparam("error")))
# Payloads longer than this (a mail with photos; chat events are a few kB) are parsed in a
# thread instead of on the event loop.
PARSE_IN_THREAD_CHARS = 256 * 1024
OUTCOMES = "inbox_outcomes"  # session.info: this transaction's applied events not yet marked


def _mark_applied(session: Session) -> None:
    """Write the outcome of this transaction's applied events (after the reports they name).
    Deferred (store.ids.defer_writes): also run before any statement of the transaction that
    reads the inbox, which so sees the events applied before it, as it did when they were ORM
    objects (an edit applied after the message it edits, in the same transaction, finds that
    message's report: hub.inbound.edits)."""
    pending = held_scoped(session, OUTCOMES)
    if not pending:
        return
    rows = [e.outcome() for e in pending]
    pending.clear()  # before executing: the statement below touches the inbox too
    session.flush()
    session.execute(_MARK_APPLIED, rows)


class Workers:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._senders = OutboxSenders(hub, self._stopping)  # outbox paces and sending tasks

    # (model, claimed state) of every queue a worker claims rows from.
    QUEUES = ((InboxEvent, "claimed"), (OutboxMessage, "sending"), (Attachment, "fetching"))

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._loop("inbox", self.hub.inbox_wakeup, self.run_inbox_once)),
            asyncio.create_task(self._loop("outbox", self.hub.outbox_wakeup, self._outbox_pass)),
            asyncio.create_task(self._loop("media", self.hub.media_wakeup, self.run_media_once)),
        ]

    async def stop(self) -> None:
        self._stopping.set()
        for event in (self.hub.inbox_wakeup, self.hub.outbox_wakeup, self.hub.media_wakeup):
            event.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._senders.stop()

    async def _heartbeat(self) -> None:
        """Keep this worker's claims alive (every third of the lease), so a short lease is safe
        and a dead process's rows return within seconds. On SQLite — one hub process per
        database — claims left by an earlier process are lapsed at once on start."""
        hub = self.hub
        lease = hub.settings.workers.claim_lease_seconds
        if hub.engine.dialect.name == "sqlite":
            for model, state in self.QUEUES:
                try:
                    n = await lapse_foreign_claims(hub.engine, model, worker_id=hub.worker_id,
                                                   claimed_state=state)
                except Exception:
                    log.exception("reclaiming %s rows of an earlier process failed", model.__tablename__)
                    continue
                if n:
                    log.info("%d %s rows claimed by an earlier process reclaimed at start", n,
                             model.__tablename__)
                    hub.inbox_wakeup.set()
                    hub.outbox_wakeup.set()
                    hub.media_wakeup.set()
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=max(0.2, lease / 3))
            except TimeoutError:
                pass
            for model, state in self.QUEUES:
                try:
                    await extend_claims(hub.engine, model, worker_id=hub.worker_id,
                                        claimed_state=state, lease_seconds=lease)
                except Exception:
                    log.exception("claim heartbeat for %s failed", model.__tablename__)

    async def _loop(self, name: str, wakeup: asyncio.Event, once) -> None:  # noqa: ANN001
        poll = self.hub.settings.workers.poll_seconds
        while not self._stopping.is_set():
            wakeup.clear()
            try:
                busy = await once()
            except Exception:
                log.exception("%s worker pass failed", name)
                busy = 0
            if busy or self._stopping.is_set():
                continue
            try:
                await asyncio.wait_for(wakeup.wait(), timeout=poll)
            except TimeoutError:
                pass

    # --- inbox -------------------------------------------------------------------------------
    def _intake_busy(self) -> bool:
        cfg = self.hub.settings.workers
        return bool(cfg.inbox_defer_above_events_per_s) and (
            self.hub.intake.events_per_second() > cfg.inbox_defer_above_events_per_s)

    async def _yield_to_intake(self, batch: int) -> int:
        """Under a burst of webhooks, background work (reports, replies, downloads) waits: the
        acknowledgement deadlines (Zalo 2 s, Meta 5 s) are hard, the rest has none. Bounded, so
        work always moves on — in small batches while the burst lasts, and at full speed after.
        Returns how many rows to claim now."""
        waited = 0.0
        while (self._intake_busy() and not self._stopping.is_set()
               and waited < self.hub.settings.workers.inbox_defer_max_seconds):
            await asyncio.sleep(0.05)
            waited += 0.05
        return max(1, batch // 10) if self._intake_busy() else batch

    async def run_inbox_once(self) -> int:
        hub, cfg = self.hub, self.hub.settings.workers
        limit = await self._yield_to_intake(cfg.inbox_batch)
        ids = await claim(hub.engine, InboxEvent, worker_id=hub.worker_id, limit=limit,
                          lease_seconds=cfg.claim_lease_seconds, ready_states=("pending",),
                          claimed_state="claimed")
        if ids and not self._stopping.is_set():
            try:
                await self._process_batch(ids)
            except Exception:
                # Whatever this pass did not finish goes back to the queue now: left claimed,
                # the heartbeat would keep the rows this live worker abandoned forever.
                await self._release_inbox(ids)
                raise
        return len(ids)

    async def _release_inbox(self, ids: list[int]) -> None:
        hub, cfg = self.hub, self.hub.settings.workers
        try:
            async with hub.sessions() as session, session.begin():
                await session.execute(
                    update(InboxEvent).where(InboxEvent.id.in_(ids), InboxEvent.state == "claimed",
                                             InboxEvent.claimed_by == hub.worker_id)
                    .values(state="pending", claimed_by=None, next_attempt_at=utcnow() + timedelta(
                        seconds=cfg.retry_base_seconds))
                    .execution_options(synchronize_session=False))
        except Exception:
            log.exception("releasing %d inbox rows failed (their claims lapse instead)", len(ids))
            return
        hub.inbox_wakeup.set()

    async def _process_batch(self, ids: list[int]) -> None:
        """Claimed events in as few transactions as a time budget allows.

        1. Every event is read and parsed (pure) before any transaction: a poison event — no
           adapter, unreadable payload, a parser error — goes to retry/parked alone and never
           costs its batch a rollback.
        2. Each transaction upserts the contacts of all its events in one statement, then applies
           the events in arrival (id) order, so a citizen's messages assemble in order whether
           they fall in one batch or two (the next batch sees this one's commit).
        3. The acknowledgement is queued and the inbox row marked in the report's transaction.
        4. Meanwhile the texts of the reports the events may make are analysed (classification,
           place) by another process (hub.analysis), ahead of the events' turn.
        The budget bounds how long a transaction holds SQLite's single write lock, which intake's
        group commit waits for: long when quiet (fewer commits, each an fsync), but the worker
        lets webhooks in every busy budget and, on SQLite, commits as soon as intake waits to
        write. Optimistic: no savepoint per event; when one event fails to
        apply, the transaction rolls back, that event is marked for retry alone and the others
        are redone. A crash before a commit leaves the claimed rows to be reclaimed."""
        hub = self.hub
        cfg = hub.settings.workers
        if self._intake_busy():
            budget = cfg.inbox_busy_transaction_budget_ms / 1000
        elif hub.intake.events_per_second(cfg.inbox_idle_after_seconds) > 0:
            budget = cfg.inbox_transaction_budget_ms / 1000  # webhooks come now and then
        else:  # none for a while: long transactions, fewer commits
            budget = cfg.inbox_idle_transaction_budget_ms / 1000
        async with hub.sessions() as session:
            claimed = list((await session.execute(select(InboxEvent).where(
                InboxEvent.id.in_(ids)).order_by(InboxEvent.id))).scalars())
        parsed: dict[int, list[InboundMessage]] = {}
        for event in claimed:
            if event.state != "claimed" or event.claimed_by != hub.worker_id:
                continue
            try:
                if len(event.payload) > PARSE_IN_THREAD_CHARS:
                    # A 25 MB mail takes the email parser a second or two: in a thread, the
                    # event loop keeps answering webhooks meanwhile (between GIL switches).
                    parsed[event.id] = await asyncio.to_thread(parse_event, hub, event)
                else:
                    parsed[event.id] = parse_event(hub, event)
            except Exception as exc:
                await self._inbox_failed(event.id, exc)
        # The texts of the reports these events may make, analysed by the pool meanwhile.
        province = hub.routing.province
        keys = {event_id: [message_key(m.text, m.location, province) for m in messages
                           if m.kind == "message" and m.text.strip()]
                for event_id, messages in parsed.items()}
        hub.analysis.submit(k for event_id in sorted(keys) for k in keys[event_id])
        try:
            await self._apply_parsed(parsed, keys, budget)
        finally:
            hub.analysis.forget()

    async def _apply_parsed(self, parsed: dict[int, list[InboundMessage]],
                            keys: dict[int, list[Key]], budget: float) -> None:
        hub = self.hub
        done: list[tuple[str, str]] = []
        remaining = sorted(parsed)
        short = hub.settings.workers.inbox_busy_transaction_budget_ms / 1000
        while remaining and not self._stopping.is_set():
            in_txn: list[int] = []
            batch_done: list[tuple[str, str]] = []
            failure: tuple[int, Exception] | None = None
            chunk = remaining[:self._txn_events]
            # SQLite: intake and this worker take turns (store.intake); a waiting webhook
            # ends this transaction early and writes before the next one begins.
            async with hub.write_lock or contextlib.nullcontext():
                started = time.perf_counter()
                async with hub.sessions() as session:
                    # (the payloads were read and parsed above) Plain rows, not ORM objects:
                    # their outcome is written with one statement at the end (_MARK_APPLIED).
                    query = (select(*ClaimedEvent.COLUMNS)
                             .where(InboxEvent.id.in_(chunk)).order_by(InboxEvent.id))
                    if hub.engine.dialect.name == "postgresql":
                        # Held until this transaction ends: a replica that found our claims lapsed
                        # (a stalled process) cannot claim them meanwhile (its claim skips locked
                        # rows), and a row it claimed first is seen here as no longer ours.
                        query = query.with_for_update()
                    events = {r.id: ClaimedEvent(*r) for r in await session.execute(query)}
                    applied: list[ClaimedEvent] = peek_scoped(session, OUTCOMES, list)
                    defer_writes(session, _inbox.name, _mark_applied)
                    # this transaction's new report events and outbox rows skip the session's
                    # bookkeeping: write_new_rows writes them with the reports (store.ids)
                    stage_new_rows(session)
                    try:
                        await ensure_contacts(session, [m for i in chunk for m in parsed[i]])
                        yielded = 0.0
                        for event_id in chunk:
                            elapsed = time.perf_counter() - started
                            if len(in_txn) >= self.TXN_MIN and (elapsed >= budget or (
                                    elapsed >= short and hub.write_lock is not None
                                    and hub.intake.waiting())):
                                break
                            if elapsed - yielded >= short:
                                # Webhooks are answered meanwhile; on SQLite, one that waits for the
                                # write lock ends this transaction (above).
                                await asyncio.sleep(0)
                                yielded = elapsed
                            remaining.remove(event_id)
                            in_txn.append(event_id)
                            event = events.get(event_id)
                            if event is None or event.state != "claimed" or event.claimed_by != hub.worker_id:
                                continue
                            try:
                                await hub.analysis.wait_for(keys[event_id])
                                await apply_event(hub, session, event, parsed[event_id])
                            except Exception as exc:
                                failure = (event_id, exc)
                                break
                            applied.append(event)
                            batch_done.append((event.channel, event.state))
                        if failure is None:
                            await write_new_rows(session)  # the reports the rows name first
                            await session.run_sync(_mark_applied)
                            await session.commit()
                            done.extend(batch_done)
                        else:
                            await session.rollback()
                    except Exception as exc:  # the commit itself failed: retry them all later
                        await session.rollback()
                        failure = (in_txn[-1], exc) if in_txn else (chunk[0], exc)
                        if not in_txn:
                            remaining.remove(chunk[0])
            elapsed = time.perf_counter() - started
            if failure is None and in_txn:
                # Next transaction: as many events as fit the budget at this one's pace.
                per_event = elapsed / len(in_txn)
                self._txn_events = max(self.TXN_MIN, min(self.TXN_MAX,
                                                         int(budget / max(per_event, 1e-6))))
            if failure is not None:
                failed_id, exc = failure
                # the others of this transaction go round again (their parsed messages are
                # reused: only parse_event's bounding changes a message)
                remaining[:0] = [i for i in in_txn if i != failed_id]
                await self._inbox_failed(failed_id, exc)
            if remaining:
                await asyncio.sleep(0)  # webhooks are answered between transactions too
        for channel, state in done:
            hub.metrics.inbox_processed.labels(channel, state).inc()
        if done:
            hub.outbox_wakeup.set()

    # At most this many events per transaction (the prefetch of one transaction).
    TXN_MAX = 500
    # ... and at least this many: a transaction's fixed costs (contacts, ids, the commit's fsync)
    # must not be paid per event when the machine is slow.
    TXN_MIN = 16
    _txn_events = TXN_MAX  # adapted to the transaction budget as batches go

    async def _inbox_failed(self, event_id: int, exc: Exception) -> None:
        hub, cfg = self.hub, self.hub.settings.workers
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        async with hub.sessions() as session, session.begin():
            event = await session.get(InboxEvent, event_id)
            if event is None:
                return
            if event.attempts >= cfg.inbox_max_attempts:
                event.state = "parked"
                log.error("inbox event %s/%s parked after %d attempts: %s", event.channel,
                          event.external_id, event.attempts, detail)
            else:
                event.state = "pending"
                delay = backoff_seconds(event.attempts, cfg.retry_base_seconds, cfg.retry_max_seconds)
                event.next_attempt_at = utcnow() + timedelta(seconds=delay)
                log.warning("inbox event %s/%s failed (attempt %d), retry in %.0fs: %s",
                            event.channel, event.external_id, event.attempts, delay, detail)
            event.error = detail
            event.claimed_by = None
            hub.metrics.inbox_processed.labels(event.channel, event.state).inc()

    # --- outbox ------------------------------------------------------------------------------
    async def run_outbox_once(self) -> int:
        """One outbox pass, its sends awaited."""
        limit = await self._yield_to_intake(self.hub.settings.workers.outbox_batch)
        return await self._senders.run_once(limit, wait=True)

    async def _outbox_pass(self) -> int:
        """The serve loop's pass: rows of the channels not sending now, each channel's sent by
        its own task, so a provider that hangs delays only its own channel."""
        limit = await self._yield_to_intake(self.hub.settings.workers.outbox_batch)
        return await self._senders.run_once(limit, wait=False)

    # --- media -------------------------------------------------------------------------------
    async def run_media_once(self) -> int:
        hub, cfg = self.hub, self.hub.settings.workers
        limit = await self._yield_to_intake(10)
        ids = await claim(hub.engine, Attachment, worker_id=hub.worker_id, limit=limit,
                          lease_seconds=cfg.claim_lease_seconds, ready_states=("pending",),
                          claimed_state="fetching", extra_where=None)
        for att_id in ids:
            if self._stopping.is_set():
                break
            await self._fetch_one(att_id)
        return len(ids)

    async def _fetch_one(self, att_id: int) -> None:
        hub, cfg = self.hub, self.hub.settings
        async with hub.sessions() as session:
            att = await session.get(Attachment, att_id)
        if att is None or att.state != "fetching":
            return
        adapter = hub.channels.get(att.channel)
        state, error, digest, size, ctype = "failed", None, None, None, att.content_type
        try:
            if adapter is None:
                raise MediaRefused(f"channel {att.channel} is not enabled")
            data, got_type = await adapter.fetch_media(att.source_url or "",
                                                       cfg.storage.max_attachment_bytes)
            digest = await hub.media.put(data)
            state, size, ctype = "stored", len(data), got_type or ctype
        except MediaRefused as exc:
            state, error = "refused", str(exc)
        except Exception as exc:  # temporary: retry with backoff, then give up visibly
            error = f"{type(exc).__name__}: {exc}"[:500]
            state = "failed" if att.attempts >= cfg.workers.inbox_max_attempts else "pending"
        async with hub.sessions() as session, session.begin():
            row = await session.get(Attachment, att_id)
            if row is None:
                return
            row.state, row.error = state, error
            if digest:
                row.sha256, row.size, row.content_type = digest, size, ctype
            if state == "pending":
                row.next_attempt_at = utcnow() + timedelta(seconds=backoff_seconds(
                    row.attempts, cfg.workers.retry_base_seconds, cfg.workers.retry_max_seconds))
            else:  # final: the batch's refused or failed files are told once it is done
                await media_notice.tell_if_batch_done(hub, session, row.report_id)
        if state != "stored":
            log.warning("attachment %s of channel %s: %s (%s)", att_id, att.channel, state, error)

    # --- gauges ------------------------------------------------------------------------------
    async def refresh_gauges(self) -> None:
        hub = self.hub
        async with hub.sessions() as session:
            # Index-only queries: done rows pile up and must not be scanned on every scrape.
            oldest = (await session.execute(select(func.min(InboxEvent.next_attempt_at)).where(
                InboxEvent.state == "pending"))).scalar()
            hub.metrics.inbox_lag.set(max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0)
            hub.metrics.leader.set(1 if hub.is_leader else 0)
            for state in ("pending", "claimed", "parked"):
                count = (await session.execute(select(func.count()).select_from(InboxEvent).where(
                    InboxEvent.state == state))).scalar()
                hub.metrics.inbox_by_state.labels(state).set(count or 0)
            counts = {(channel, state): count for channel, state, count in await session.execute(
                select(OutboxMessage.channel, OutboxMessage.state, func.count())
                .group_by(OutboxMessage.channel, OutboxMessage.state))}
        # A (channel, state) the GROUP BY no longer returns is 0, not its last count: after
        # `outbox retry` the dead rows are gone. Its series stays (at 0) rather than vanishing,
        # which would leave alert rules on it without data.
        gauge = hub.metrics.outbox_by_state
        known = {(s.labels["channel"], s.labels["state"]) for m in gauge.collect() for s in m.samples}
        for channel, state in known | counts.keys():
            gauge.labels(channel, state).set(counts.get((channel, state), 0))
