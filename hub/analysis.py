"""The text analysis of a claimed batch's new reports, done by worker processes ahead of the
event loop.

``normalizer.analyze.analyze`` (classification, place, contact points) is pure and is the
largest single cost of turning an event into a report: about a quarter of the inbox worker's
time. The event loop itself cannot use a second core, so the inbox worker hands the analysis of
a batch's messages to a process pool as soon as the batch is parsed, and applies the events
meanwhile, in order; each new report takes its precomputed result (``take``) when it gets there,
waiting only if the pool is behind. A result is used only for exactly the inputs it was
computed from (text, coordinates, address, province): anything else — a message that extends a
report, a report whose text changed — is analysed inline, as before. Results are the same
either way (the same code and model file run in the pool; a test compares them).

Small batches are analysed inline: a round trip to the pool costs more than it saves for a
handful of messages. The pool starts on the first batch large enough (``[workers]
analysis_min_batch``) and stops with the hub. A worker process re-reads the classifier model
when its file changes (``python main.py retrain``), as the serving process does.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from normalizer.analyze import Analysis, analyze

log = logging.getLogger("hub.analysis")

# (description, lat, lon, address, province): what analyze() reads.
Key = tuple[str, float | None, float | None, str | None, str]
CHUNK = 32  # messages per round trip to the pool
MAX_BREAKS = 3  # a pool whose process died this often is given up: inline from then on

def _analyze_chunk(keys: list[Key]) -> list[Analysis]:
    """In a pool process: the analyses of ``keys``, with the model file as installed now."""
    from normalizer import classify

    classify.reload_if_changed()
    return [analyze(text, lat, lon, address, province)
            for text, lat, lon, address, province in keys]


def _watch_parent(parent: int) -> None:
    """A pool process outlives a parent killed with SIGKILL (it would wait on its queue
    forever): it leaves when it is re-parented."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _start(parent: int) -> None:
    """In a new pool process: watch the parent, load the model and the gazetteer."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="parent-watch").start()
    _analyze_chunk([("ổ gà đường Lê Lợi", None, None, None, "Huế")])


def default_processes() -> int:
    """One analysis process where there is a second core for it, none on a single core."""
    return 1 if (os.cpu_count() or 1) >= 2 else 0


class AnalysisPool:
    def __init__(self, processes: int, min_batch: int) -> None:
        self.processes = processes
        self.min_batch = max(1, min_batch)
        self._executor: Executor | None = None
        self._broken = False
        self._breaks = 0
        # key → the future of its chunk, and the chunk's keys (in the order of its results)
        self._pending: dict[Key, tuple[asyncio.Future[list[Analysis]], list[Key]]] = {}
        self._ready: dict[Key, Analysis] = {}
        self.used = 0  # precomputed analyses taken (for tests and the bench)

    @property
    def enabled(self) -> bool:
        return self.processes > 0 and not self._broken

    def _pool(self) -> Executor:
        if self._executor is None:
            # spawn: the hub process runs threads (the database driver's), which fork would copy
            # in whatever state they are.
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start, initargs=(os.getpid(),))
        return self._executor

    def submit(self, keys: Iterable[Key]) -> int:
        """Start analysing ``keys`` (in order) when there are enough of them to be worth a pool.
        Returns how many were handed to the pool."""
        todo = [k for k in dict.fromkeys(keys) if k not in self._pending and k not in self._ready]
        if not self.enabled or len(todo) < self.min_batch:
            return 0
        loop = asyncio.get_running_loop()
        try:
            pool = self._pool()
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start:start + CHUNK]
                future = asyncio.wrap_future(pool.submit(_analyze_chunk, chunk), loop=loop)
                for key in chunk:
                    self._pending[key] = (future, chunk)
        except BrokenProcessPool:  # its process died meanwhile: this batch inline, a new pool next
            log.warning("the analysis process died; analysing inline")
            self._restart()
            return 0
        except Exception:  # a pool that cannot start: analyse inline from now on
            log.exception("analysis pool unavailable; analysing inline")
            self._broken = True
            return 0
        return len(todo)

    async def wait_for(self, keys: Iterable[Key]) -> None:
        """Until the analyses of ``keys`` that were submitted are done (or failed: those are then
        analysed inline)."""
        for key in keys:
            if key not in self._pending:  # not submitted, or its chunk is done already
                continue
            future, chunk = self._pending[key]
            try:
                results = await future
            except BrokenProcessPool:
                # its process died (killed, out of memory): a new pool for the next batch
                log.exception("the analysis process died; analysing inline")
                self._restart()
                results = None
            except Exception:
                log.exception("analysis in the pool failed; analysing inline")
                results = None
            for k, result in zip(chunk, results or (), strict=False):
                self._ready[k] = result
            for k in chunk:
                self._pending.pop(k, None)

    def take(self, key: Key) -> Analysis | None:
        """The precomputed analysis of exactly these inputs, if there is one."""
        result = self._ready.get(key)
        if result is not None:
            self.used += 1
        return result

    def forget(self) -> None:
        """Drop what a batch did not use (its events extended reports, or failed)."""
        self._ready.clear()
        for future, _chunk in self._pending.values():
            future.cancel()
        self._pending.clear()

    def _restart(self) -> None:
        if self._executor is None:  # this pool's other chunks failing with it: counted once
            return
        self._breaks += 1
        self._broken = self._breaks >= MAX_BREAKS
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None

    def close(self) -> None:
        self.forget()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def message_key(text: str, location: Any, province: str) -> Key:
    """The analysis inputs of a report made from this message (``create_report``)."""
    if location is None:
        return (text.strip(), None, None, None, province)
    return (text.strip(), location.lat, location.lon, location.address, province)
