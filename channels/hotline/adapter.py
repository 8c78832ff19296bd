"""Hotline channel: calls logged by operators and call-center exports, and status updates to
citizens who only gave a phone number.

Intake: ``python main.py import-hotline FILE...`` and the drop folder (``channels.hotline.importer``)
store one inbox row per call (external id = the call id, else a hash of time + caller + text);
``parse`` turns a stored row into an InboundMessage (pure, ``channels.hotline.parse``).
Sending: when an SMS gateway is configured, the "hotline" route (and "sms", the same gateway, for
the router's fallback chain) texts the citizen; without one the channel has no "hotline" route
and the router goes straight down its one fallback chain (ZNS, email, the call-back list).
"callback" puts a message on the operators' call-back list (``store.callbacks``).
"""
from __future__ import annotations

import logging
from typing import Any

from channels.base import ChannelAdapter, ChannelContext, Sender
from channels.hotline.importer import DropFolder, local_zone
from channels.hotline.parse import parse_call
from channels.hotline.settings import HotlineSettings
from channels.hotline.sms import SmsSender
from normalizer.schema import DeliveryResult, InboundMessage, OutboundMessage
from store.callbacks import add_callback

log = logging.getLogger("hub.channels.hotline")


class HotlineChannel(ChannelAdapter):
    name = "hotline"
    settings_model = HotlineSettings

    def __init__(self, ctx: ChannelContext, cfg: HotlineSettings) -> None:
        super().__init__(ctx, cfg)
        self.sms = SmsSender(ctx, cfg)
        self.callbacks = CallbackSender(ctx)

    @classmethod
    def from_settings(cls, ctx: ChannelContext, cfg: HotlineSettings) -> HotlineChannel:
        local_zone(cfg.timezone)  # fails fast on an unknown zone
        return cls(ctx, cfg)

    async def recheck_sms(self) -> None:
        """Sending paused by a refusal of our credentials is tried again: the next message
        resumes it, or pauses it again (with a fresh alert) if the gateway still refuses."""
        names = [n for n in (self.name, "sms") if self.ctx.is_paused(n)]
        if not names:
            return
        log.info("hotline: trying the SMS gateway again after a pause")
        for name in names:
            self.ctx.resume(name)
        self.ctx.wake_outbox()

    def senders(self) -> dict[str, Sender]:
        out: dict[str, Sender] = {"callback": self.callbacks}
        if self.sms.configured:
            out[self.name] = out["sms"] = self.sms
        return out

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        try:
            return [parse_call(payload)]
        except (KeyError, TypeError, ValueError):
            # Rows are written by our own importer; a damaged one is logged, not retried.
            return [InboundMessage(channel="hotline", external_id=str(payload.get("id", "")),
                                   sender_id="", kind="ignore",
                                   meta={"reason": "malformed stored call"})]

    async def start(self) -> None:
        if self.sms.configured:
            self.ctx.add_job("hotline-sms-recheck", self.cfg.sms_recheck_seconds, self.recheck_sms,
                             leader_only=False)
        if self.cfg.drop_dir:
            folder = DropFolder(self.ctx, self.cfg)
            folder.prepare()
            self.ctx.add_job("hotline-drop-folder", self.cfg.drop_poll_seconds, folder.scan,
                             leader_only=True)


class CallbackSender:
    """The "callback" route: the message goes onto the operators' call-back list."""

    name = "callback"

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        return await self.add(address, message, "gọi lại theo yêu cầu chuyển tiếp")

    async def add(self, address: str, message: OutboundMessage, reason: str) -> DeliveryResult:
        async with self.ctx.sessions() as session, session.begin():
            entry = await add_callback(session, phone=address, text=message.text,
                                       report_code=message.report_code, reason=reason)
        return DeliveryResult.sent(provider_id=f"callback:{entry.id}")
