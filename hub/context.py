"""The running hub: one owner for the engine, intake, HTTP client, channels and metrics."""
from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.metrics import Metrics
from hub.settings import Settings
from store.intake import Intake
from store.leases import LeaderLease

if TYPE_CHECKING:
    from channels.base import ChannelAdapter


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
    # Outbox channel name → sender (every channel's own name, plus extra senders like "zns").
    senders: dict[str, ChannelAdapter] = field(default_factory=dict)
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    inbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    media_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Channels whose sending is paused (token invalid...) with the reason.
    paused: dict[str, str] = field(default_factory=dict)
    # Periodic jobs: (id, every_seconds, coroutine function, leader_only). Channels and the
    # router add theirs before start; the scheduler runs them in this process only.
    jobs: list[tuple[str, float, Callable[[], Awaitable[None]], bool]] = field(default_factory=list)
    leader: LeaderLease | None = None

    def add_job(self, job_id: str, every_seconds: float, func: Callable[[], Awaitable[None]],
                leader_only: bool = True) -> None:
        self.jobs.append((job_id, every_seconds, func, leader_only))

    @property
    def is_leader(self) -> bool:
        return self.leader is not None and self.leader.is_leader

    def channel(self, name: str) -> ChannelAdapter | None:
        return self.channels.get(name)
