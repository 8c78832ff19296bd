"""The running hub: one owner for the engine, intake, HTTP client, channels and metrics.

Only the composition root sees ``Hub`` whole. Each layer sees the narrow protocol it declares —
``channels.base.ChannelContext``, ``router.context.RouterContext``, ``web.context.WebContext`` —
and the ``Hub`` satisfies all three.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from channels.registry import chat_channels, dialogue_channels
from hub.analysis import AnalysisPool
from hub.metrics import Metrics
from hub.settings import Settings
from store.db import write_probe
from store.intake import Intake, IntakeResult
from store.leases import LeaderLease
from store.storage import MediaStore, make_media_store

if TYPE_CHECKING:
    from channels.base import ChannelAdapter
    from router.context import MailTransport, Sender
    from router.settings import AgencySettings, RoutingSettings

log = logging.getLogger("hub.outbox")


@dataclass
class Hub:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    intake: Intake
    metrics: Metrics
    # Created when the hub starts, inside the running loop.
    http: aiohttp.ClientSession = None  # type: ignore[assignment]
    channels: dict[str, ChannelAdapter] = field(default_factory=dict)
    # Outbox route name → sender (every channel's own name, extra routes like "zns", and the
    # agencies' "agency_email"/"agency_webhook").
    senders: dict[str, Sender] = field(default_factory=dict)
    # The one SMTP sender for agency mail (built from [channels.email] when smtp_host is set).
    mail: MailTransport | None = None
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    inbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    media_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Edits held in the inbox because their message had not come yet (hub.inbound.edits):
    # (channel, the message's id) → the held rows' external-id prefix, so the message's arrival
    # brings them forward (this process's; another's wait for their retry time).
    held_edits: dict[tuple[str, str], str] = field(default_factory=dict)
    # Channels whose sending is paused (token invalid...) with the reason.
    paused: dict[str, str] = field(default_factory=dict)
    # Periodic jobs: (id, every_seconds, coroutine function, leader_only). Channels and the
    # router add theirs before start; the scheduler runs them in this process only.
    jobs: list[tuple[str, float, Callable[[], Awaitable[None]], bool]] = field(default_factory=list)
    leader: LeaderLease | None = None
    # Refreshes the database-wide gauges before /metrics renders (the workers' own).
    gauge_refresh: Callable[[], Awaitable[None]] | None = None
    # Set when shutdown begins (readiness fails first, so a load balancer stops sending).
    stopping: bool = False
    # (monotonic time, ready, reason) of the last write probe: /readyz probes at most once a second.
    _readiness: tuple[float, bool, str] = (float("-inf"), False, "")
    _media: MediaStore | None = None
    # Text analysis of a batch's new reports in worker processes (hub.analysis); built by
    # build_hub from [workers], inline (no processes) otherwise.
    analysis: AnalysisPool = field(default_factory=lambda: AnalysisPool(0, 1))
    # SQLite: the turn of intake and the inbox worker at the single writer (store.intake).
    write_lock: asyncio.Lock | None = None

    # --- what every layer uses -------------------------------------------------------------
    def add_job(self, job_id: str, every_seconds: float, func: Callable[[], Awaitable[None]],
                leader_only: bool = True) -> None:
        self.jobs.append((job_id, every_seconds, func, leader_only))

    @property
    def is_leader(self) -> bool:
        return self.leader is not None and self.leader.is_leader

    def channel(self, name: str) -> ChannelAdapter | None:
        return self.channels.get(name)

    def wake_outbox(self) -> None:
        self.outbox_wakeup.set()

    @property
    def public_base_url(self) -> str:
        return self.settings.server.public_base_url

    # --- ChannelContext ----------------------------------------------------------------------
    @property
    def max_body_bytes(self) -> int:
        return self.settings.server.max_body_bytes

    @property
    def public_coordinate_decimals(self) -> int:
        return self.settings.portal.coordinate_decimals

    @property
    def max_attachment_bytes(self) -> int:
        return self.settings.storage.max_attachment_bytes

    @property
    def download_timeout_seconds(self) -> float:
        return self.settings.storage.download_timeout_seconds

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def resolve_path(self, value: str) -> Path:
        return self.settings.path(value)

    async def submit(self, channel: str,
                     events: Sequence[tuple[str, dict[str, Any]]]) -> list[IntakeResult]:
        return await self.intake.submit_many(channel, events)

    def pause(self, channel: str, reason: str) -> None:
        if channel not in self.paused:
            log.error("ALERT: sending on channel %s paused: %s", channel, reason)
            self.metrics.alerts.labels(channel, "paused").inc()
        self.paused[channel] = reason
        self.metrics.channel_paused.labels(channel).set(1)

    def resume(self, channel: str) -> None:
        if self.paused.pop(channel, None) is not None:
            log.info("sending on channel %s resumed", channel)
            self.outbox_wakeup.set()
        self.metrics.channel_paused.labels(channel).set(0)

    def is_paused(self, channel: str) -> bool:
        return channel in self.paused

    def count_rejected(self, channel: str, reason: str) -> None:
        self.metrics.rejected_requests.labels(channel, reason).inc()

    def observe_ack(self, channel: str, seconds: float) -> None:
        self.metrics.ack_seconds(channel).observe(seconds)

    # --- RouterContext -----------------------------------------------------------------------
    @property
    def agencies(self) -> list[AgencySettings]:
        return self.settings.agencies

    @property
    def routing(self) -> RoutingSettings:
        return self.settings.routing

    @property
    def assembly_window_minutes(self) -> float:
        return self.settings.intake.assembly_window_minutes

    @property
    def media_dir(self) -> Path:
        return self.settings.path(self.settings.storage.media_dir)

    @property
    def media(self) -> MediaStore:
        if self._media is None:
            self._media = make_media_store(self.settings.storage.backend, self.engine,
                                           self.media_dir)
        return self._media

    @property
    def chat_channels(self) -> frozenset[str]:
        return chat_channels()

    @property
    def dialogue_channels(self) -> frozenset[str]:
        return dialogue_channels()

    # --- WebContext --------------------------------------------------------------------------
    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    @property
    def portal_settings(self) -> Any:
        return self.settings.portal

    async def submit_report_form(self, form: dict[str, str],
                                 photos: Sequence[tuple[bytes, str, str | None]],
                                 idempotency_key: str | None) -> dict[str, Any]:
        """The portal's /report form through the web channel's intake (channels.open311.form)."""
        import dataclasses

        from channels.open311.form import FormPhoto, submit_form

        adapter = self.channels.get("web")
        if adapter is None:
            return {"token": "", "stored": False, "code": None, "status": 503,
                    "problem": "the web channel is disabled"}
        outcome = await submit_form(adapter, self.media, form,  # type: ignore[arg-type]
                                    [FormPhoto(d, t, n) for d, t, n in photos], idempotency_key)
        return dataclasses.asdict(outcome)

    async def report_form_status(self, token: str) -> tuple[bool, str | None]:
        from channels.open311.form import code_for_token

        adapter = self.channels.get("web")
        if adapter is None:
            return False, None
        return await code_for_token(adapter, token)  # type: ignore[arg-type]

    async def log_call(self, fields: dict[str, str]) -> str:
        """A call logged in the console → the hotline channel's inbox row (channels.hotline's
        row format, the importer's durable intake). Returns the external id."""
        from datetime import UTC, datetime

        from channels.hotline.importer import reader_options
        from channels.hotline.records import Rejected, make_record

        adapter = self.channels.get("hotline")
        if adapter is None:
            raise ValueError("the hotline channel is disabled")
        opts = reader_options(adapter.cfg)  # type: ignore[arg-type]
        opts.source, opts.now = "console", datetime.now(UTC)
        values = {key: fields.get(key) for key in ("call_id", "caller", "operator", "text",
                                                   "address", "name", "category")}
        values["time"] = opts.now
        record = make_record(0, values, opts)
        if isinstance(record, Rejected):
            raise ValueError(record.reason)
        await self.intake.submit("hotline", record.external_id, record.payload)
        return record.external_id

    async def readiness(self) -> tuple[bool, str]:
        """Ready to take traffic: not shutting down, intake running, and the database takes a
        committed write now (a probe row inserted and deleted; cached for a second)."""
        if self.stopping or self.intake.closed:
            return False, "shutting down"
        now = time.monotonic()
        at, ready, reason = self._readiness
        if now - at < 1.0:
            return ready, reason
        try:
            await asyncio.wait_for(write_probe(self.engine, self.worker_id), timeout=5)
            ready, reason = True, "ok"
        except Exception as exc:
            ready, reason = False, f"database write failed: {type(exc).__name__}"
        self._readiness = (time.monotonic(), ready, reason)
        return ready, reason

    @property
    def metrics_token(self) -> str:
        return self.settings.server.metrics_token.get_secret_value()

    async def render_metrics(self) -> bytes:
        if self.gauge_refresh is not None:
            try:
                await self.gauge_refresh()
            except Exception:  # metrics must render even when the database is down
                pass
        return self.metrics.render()
