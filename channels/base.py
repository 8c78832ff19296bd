"""The adapter contract every channel follows.

An adapter has at most: ``name``; ``from_settings`` (fails fast on missing secrets); ``routes()``;
``verify(headers, raw_body)``; ``parse(payload)`` → InboundMessage list (pure); ``start``/``aclose``
for pollers; ``send(address, message)`` → DeliveryResult; ``allowed_media_hosts`` for downloads.
Richer behaviour falls back to plain text.
"""
from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from normalizer.schema import DeliveryResult, InboundMessage, OutboundMessage

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.channels")


class ChannelConfigError(Exception):
    """A channel is enabled but its settings are incomplete. Names keys, never values."""


class ChannelAdapter:
    name: ClassVar[str]

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    @classmethod
    def from_settings(cls, hub: Hub) -> ChannelAdapter:
        return cls(hub)

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
            raise ChannelConfigError(f"channel enabled but missing settings: {', '.join(missing)}")

    @property
    def allowed_media_hosts(self) -> tuple[str, ...]:
        """Hosts (suffix match) attachment URLs of this channel may point to: the channel
        section's ``media_hosts`` setting, nothing when it has none."""
        section = getattr(self.hub.settings.channels, self.name, None)
        return tuple(getattr(section, "media_hosts", None) or ())

    def routes(self) -> list[web.RouteDef]:
        return []

    def senders(self) -> dict[str, ChannelAdapter]:
        """Outbox channel names this adapter delivers. Besides its own name an adapter may add
        senders the router uses to reach a citizen another way (Zalo adds "zns", the hotline
        adds "sms" and "callback"); each is an object with the same ``send`` contract."""
        return {self.name: self}

    async def after_new_report(self, session: Any, report: Any, contact: Any) -> None:
        """Called in the transaction that created a report from this channel, after the
        acknowledgement was queued: a channel may ask for what the report lacks (Zalo asks for
        the phone number with its request-user-info card)."""

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
        from hub.media import download

        return await download(self.hub.http, url, max_bytes, self.allowed_media_hosts,
                              timeout=self.hub.settings.storage.download_timeout_seconds)


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)
