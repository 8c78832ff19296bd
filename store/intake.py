"""Durable intake with group commit.

Every webhook and poller calls ``Intake.submit``. Requests that arrive while a batch is being
written wait for the next batch; each batch is ONE transaction, and every waiting request is
released only when its batch is durable. Duplicates of (channel, external_id) — already stored
or repeated inside the same batch — are reported as such and stored once.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import utcnow

log = logging.getLogger("hub.intake")


class IntakeClosed(Exception):
    """The hub is shutting down; the caller must not acknowledge."""


@dataclass(frozen=True, slots=True)
class IntakeResult:
    channel: str
    external_id: str
    stored: bool  # False: it was a duplicate, already stored earlier

    @property
    def duplicate(self) -> bool:
        return not self.stored


@dataclass(slots=True)
class _Pending:
    channel: str
    external_id: str
    payload: str
    future: asyncio.Future[IntakeResult]


class Intake:
    def __init__(self, engine: AsyncEngine, batch_max: int = 512,
                 on_commit: Callable[[int, float], None] | None = None,
                 observe: Callable[[str, bool, float], None] | None = None,
                 write_lock: asyncio.Lock | None = None) -> None:
        self._engine = engine
        # SQLite: the process's writers (intake, the inbox worker) take turns through this lock
        # (first come, first served) instead of SQLite's busy handler, which polls — up to
        # 100 ms apart — and loses the race to a worker that takes the lock again at once.
        self._write_lock = write_lock
        self._batch_max = batch_max
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._on_commit = on_commit
        self._observe = observe
        self._sql_cache: dict[int, str] = {}
        # (monotonic time, events) of recent batches: how busy the webhooks are right now.
        self._recent: deque[tuple[float, int]] = deque(maxlen=256)
        self._writing = 0  # batches being written (perhaps waiting for SQLite's write lock)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._writer(), name="intake-writer")

    async def close(self) -> None:
        """Stop taking new events, write everything already submitted, then stop."""
        self._closing = True
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    @property
    def closed(self) -> bool:
        """Not taking events (closing, closed or never started)."""
        return self._closing or self._task is None

    def waiting(self) -> bool:
        """Events submitted and not yet committed: a webhook is waiting for its acknowledgement
        (on SQLite, perhaps for the write lock a worker transaction holds)."""
        return self._writing > 0 or not self._queue.empty()

    def events_per_second(self, window: float = 0.25) -> float:
        """Intake rate over the last ``window`` seconds (workers yield to intake when high)."""
        since = time.monotonic() - window
        return sum(n for t, n in self._recent if t >= since) / window

    async def submit(self, channel: str, external_id: str, payload: Any) -> IntakeResult:
        results = await self.submit_many(channel, [(external_id, payload)])
        return results[0]

    async def submit_many(self, channel: str,
                          events: Sequence[tuple[str, Any]]) -> list[IntakeResult]:
        """Store events durably; returns when all are committed (or raises)."""
        if self._closing or self._task is None:
            raise IntakeClosed("intake is not accepting events")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[IntakeResult]] = []
        for external_id, payload in events:
            text = payload if isinstance(payload, str) else json.dumps(
                payload, ensure_ascii=False, separators=(",", ":"))
            fut: asyncio.Future[IntakeResult] = loop.create_future()
            self._queue.put_nowait(_Pending(channel, str(external_id)[:255], text, fut))
            futures.append(fut)
        if len(futures) == 1:
            return [await futures[0]]
        return list(await asyncio.gather(*futures))

    async def _writer(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._writing += 1
            try:
                async with self._write_lock or contextlib.nullcontext():
                    await self._write(batch)
            except Exception as exc:  # the batch is not durable: fail every waiter
                log.exception("intake batch of %d failed", len(batch))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
            finally:
                self._writing -= 1
                for _ in batch:
                    self._queue.task_done()

    def _insert_sql(self, n: int) -> str:
        """One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING for a batch of n rows.

        Written as driver SQL (cached per n) because the per-row parameter processing of the ORM
        was a fifth of the request cost under load. Both SQLite (≥ 3.35) and PostgreSQL accept it.
        """
        sql = self._sql_cache.get(n)
        if sql is None:
            if self._engine.dialect.name == "postgresql":
                ph = [f"(${i * 4 + 1}, ${i * 4 + 2}, ${i * 4 + 3}, ${i * 4 + 4}::timestamptz, "
                      f"${i * 4 + 4}::timestamptz, 'pending', 0)" for i in range(n)]
            else:
                ph = ["(?, ?, ?, ?, ?, 'pending', 0)"] * n
            sql = ("INSERT INTO inbox (channel, external_id, payload, received_at, next_attempt_at, "
                   "state, attempts) VALUES " + ", ".join(ph) +
                   " ON CONFLICT (channel, external_id) DO NOTHING RETURNING channel, external_id")
            self._sql_cache[n] = sql
        return sql

    async def _write(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        seen: dict[tuple[str, str], _Pending] = {}
        for item in batch:
            seen.setdefault((item.channel, item.external_id), item)
        now = utcnow()
        params: list[Any] = []
        if self._engine.dialect.name == "postgresql":
            for channel, external_id in seen:
                params += [channel, external_id, seen[(channel, external_id)].payload, now]
        else:
            stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite datetime format
            for channel, external_id in seen:
                params += [channel, external_id, seen[(channel, external_id)].payload, stamp, stamp]
        async with self._engine.begin() as conn:
            result = await conn.exec_driver_sql(self._insert_sql(len(seen)), tuple(params))
            inserted = {(r[0], r[1]) for r in result.all()}
        elapsed = time.perf_counter() - started
        self._recent.append((time.monotonic(), len(batch)))
        if self._on_commit:
            self._on_commit(len(inserted), elapsed)
        for item in batch:
            key = (item.channel, item.external_id)
            stored = key in inserted and seen[key] is item
            if self._observe:
                self._observe(item.channel, stored, elapsed)
            if not item.future.done():
                item.future.set_result(IntakeResult(item.channel, item.external_id, stored))
