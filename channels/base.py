"""The adapter contract every channel follows, and the narrow view of the hub a channel gets.

An adapter has at most: ``name``; ``settings_model`` (its ``[channels.<name>]`` section);
``from_settings`` (fails fast on missing secrets); ``routes()``; ``verify(headers, raw_body)``;
``parse(payload)`` → InboundMessage list (pure); ``start``/``aclose`` for pollers; ``senders()``,
each with ``send(address, message)`` → DeliveryResult; capability flags (``chat_style``).
Richer behaviour falls back to plain text. Channels only transmit: every text they send was
rendered by the router.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from normalizer.schema import DeliveryResult, InboundMessage, OutboundMessage

if TYPE_CHECKING:
    import aiohttp
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from store.intake import IntakeResult
    from store.storage import MediaStore

log = logging.getLogger("hub.channels")


class ChannelConfigError(Exception):
    """A channel is enabled but its settings are incomplete. Names keys, never values."""


MISSING_PREFIX = "channel enabled but missing settings: "


class ChannelSettings(BaseModel):
    """A channel's settings section, ``[channels.<name>]``. Each channel subclasses it."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
    enabled: bool = False


class ChannelContext(Protocol):
    """What a channel may use of the running hub. The hub provides it; nothing else leaks in."""

    # Created when the hub starts, inside the running loop.
    http: aiohttp.ClientSession
    sessions: async_sessionmaker[AsyncSession]
    worker_id: str
    public_base_url: str
    max_body_bytes: int
    max_attachment_bytes: int
    download_timeout_seconds: float
    # Public answers (Open311 GET) round coordinates to this many decimals, as the portal does.
    public_coordinate_decimals: int

    @property
    def dialect(self) -> str: ...  # "sqlite" | "postgresql"

    @property
    def is_leader(self) -> bool: ...

    def resolve_path(self, value: str) -> Path: ...

    @property
    def media(self) -> MediaStore: ...  # stored files (the web channel's uploaded photos)

    async def submit(self, channel: str,
                     events: Sequence[tuple[str, dict[str, Any]]]) -> list[IntakeResult]: ...

    def add_job(self, job_id: str, every_seconds: float, func: Callable[[], Awaitable[None]],
                leader_only: bool = True) -> None: ...

    def pause(self, channel: str, reason: str) -> None: ...

    def resume(self, channel: str) -> None: ...

    def is_paused(self, channel: str) -> bool: ...

    def wake_outbox(self) -> None: ...

    def count_rejected(self, channel: str, reason: str) -> None: ...

    def observe_ack(self, channel: str, seconds: float) -> None: ...


class Sender(Protocol):
    """An outbox route: the router renders, the sender transmits and says what happened."""

    name: str

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult: ...


class ChannelAdapter:
    name: ClassVar[str]
    settings_model: ClassVar[type[ChannelSettings]] = ChannelSettings
    # Consecutive messages of one citizen within the assembly window extend one report.
    chat_style: ClassVar[bool] = False
    # The channel has a card to ask a citizen for their phone number (a row whose template is
    # router.notify.REQUEST_PHONE); the router sends it after a report from an unknown phone.
    phone_request: ClassVar[bool] = False
    # The citizen can answer us on this channel: after a new report the hub asks for what is
    # missing (place, photo, phone; normalizer.dialogue), and a "5" answers a rating request.
    # Senders of such channels may render OutboundMessage.ask / quick_replies natively.
    dialogue: ClassVar[bool] = False

    def __init__(self, ctx: ChannelContext, cfg: Any) -> None:
        self.ctx = ctx
        self.cfg = cfg

    @classmethod
    def from_settings(cls, ctx: ChannelContext, cfg: Any) -> ChannelAdapter:
        return cls(ctx, cfg)

    @staticmethod
    def require(section: Any, section_name: str, *keys: str) -> None:
        """Fail fast when an enabled channel lacks a setting (names the key, not the value)."""
        missing = []
        for key in keys:
            value = getattr(section, key)
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            if not value:
                missing.append(f"{section_name}.{key}")
        if missing:
            raise ChannelConfigError(MISSING_PREFIX + ", ".join(missing))

    @property
    def allowed_media_hosts(self) -> tuple[str, ...]:
        """Hosts (suffix match) attachment URLs of this channel may point to: the channel
        section's ``media_hosts`` setting, nothing when it has none."""
        return tuple(getattr(self.cfg, "media_hosts", None) or ())

    def routes(self) -> list[web.RouteDef]:
        return []

    def senders(self) -> dict[str, Sender]:
        """Outbox routes this adapter delivers. Besides its own name an adapter may add senders
        the router uses to reach a citizen another way (Zalo adds "zns", the hotline adds "sms"
        and "callback"); each has the same ``send`` contract."""
        return {self.name: self}

    def verify(self, headers: Any, raw_body: bytes) -> bool:
        return True

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        raise NotImplementedError

    async def start(self) -> None:
        """Start pollers/clients. Called once the store and intake are up."""

    async def aclose(self) -> None:
        """Stop and release everything started."""

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        return DeliveryResult.give_up(f"channel {self.name} cannot send messages",
                                      needs_other_route=True)

    async def fetch_media(self, url: str, max_bytes: int) -> tuple[bytes, str | None]:
        """Download an attachment (size-capped, own hosts only). Channels needing auth override."""
        from channels.media import download

        return await download(self.ctx.http, url, max_bytes, self.allowed_media_hosts,
                              timeout=self.ctx.download_timeout_seconds)


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)
