"""What the router may use of the running hub: the hub provides it (``hub.context.Hub``), and
nothing else of the hub leaks into routing, lifecycle, notifications or delivery."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from normalizer.schema import DeliveryResult, OutboundMessage

if TYPE_CHECKING:
    import aiohttp
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from router.settings import AgencySettings, RoutingSettings
    from store.storage import MediaStore


class Sender(Protocol):
    """An outbox route (a channel's, or the agencies'): transmits what the router rendered."""

    name: str

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult: ...


class MailTransport(Protocol):
    """The one SMTP sender (the email channel's), injected for agency mail."""

    @property
    def from_address(self) -> str: ...

    async def send(self, mail: EmailMessage, recipient: str) -> DeliveryResult: ...


class RouterContext(Protocol):
    sessions: async_sessionmaker[AsyncSession]
    http: aiohttp.ClientSession
    # Prometheus collectors (hub.metrics.Metrics): outbox_attempts, alerts, gauges.
    metrics: Any

    @property
    def agencies(self) -> list[AgencySettings]: ...

    @property
    def routing(self) -> RoutingSettings: ...

    @property
    def public_base_url(self) -> str: ...

    @property
    def assembly_window_minutes(self) -> float: ...

    @property
    def media_dir(self) -> Path: ...

    # Stored photos and files (store.storage): local folder or database, per storage.backend.
    @property
    def media(self) -> MediaStore: ...

    @property
    def chat_channels(self) -> frozenset[str]: ...

    # Channels where the citizen can answer us (the intake dialogue, ratings by reply); a
    # citizen of any other channel (web, hotline) also hears by email when they gave one.
    @property
    def dialogue_channels(self) -> frozenset[str]: ...

    @property
    def senders(self) -> Mapping[str, Sender]: ...

    @property
    def mail(self) -> MailTransport | None: ...

    def wake_outbox(self) -> None: ...

    def add_job(self, job_id: str, every_seconds: float, func: Callable[[], Awaitable[None]],
                leader_only: bool = True) -> None: ...
