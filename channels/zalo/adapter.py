"""Zalo Official Account channel: webhook intake, replies, tokens, ZNS.

``POST /webhooks/zalo``: Zalo's URL check (unsigned, empty or ``{}``) is answered 200 and stores
nothing; every other request must carry ``X-ZEvent-Signature: mac=<hex>`` where hex =
SHA-256 (a plain hash, not HMAC) of ``app_id + raw_body + timestamp + oa_secret_key`` with
``app_id`` and ``timestamp`` read from the body. Checked in constant time before anything else;
then the raw event is committed (group commit) and acknowledged — Zalo wants 200 within 2 s.
Parsing is in ``zalo_events`` (pure), tokens in ``zalo_tokens``, API calls in ``zalo_api``,
ZNS in ``zalo_zns``.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.base import ChannelAdapter, constant_time_equal
from channels.zalo.api import CS_ERRORS, ZaloClient
from channels.zalo.parse import external_id, loads, parse_event
from channels.zalo.tokens import ZaloTokens
from channels.zalo.zns import ZnsSender
from normalizer.schema import DeliveryResult, InboundMessage, OutboundMessage, RawEvent
from channels.webhook import refuse, store_events

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.context import Hub
    from store.models import OutboxMessage, Report

log = logging.getLogger("hub.channels.zalo")

PATH = "/webhooks/zalo"
SIGNATURE_HEADER = "X-ZEvent-Signature"
CS_PATH = "/v3.0/oa/message/cs"
TEXT_MAX = 2000  # Zalo's limit for a consultation text message
REQUEST_INFO = "request_user_info"


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The hex Zalo puts after ``mac=``."""
    return hashlib.sha256(app_id.encode() + raw_body + timestamp.encode()
                          + oa_secret_key.encode()).hexdigest()


def sign_headers(payload_raw: bytes, app_id: str, timestamp: str, oa_secret_key: str) -> dict[str, str]:
    """Headers Zalo would send with this body (tests, bench, demo)."""
    return {"Content-Type": "application/json",
            SIGNATURE_HEADER: "mac=" + signature(app_id, payload_raw, timestamp, oa_secret_key)}


class ZaloChannel(ChannelAdapter):
    name = "zalo"

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self.cfg = hub.settings.channels.zalo
        self.tokens = ZaloTokens(hub, self.cfg, on_terminal=self._pause_sending)
        self.client = ZaloClient(hub, self.tokens, self.cfg.http_timeout_seconds)
        self.zns = ZnsSender(self)

    @classmethod
    def from_settings(cls, hub: Hub) -> ZaloChannel:
        cls.require(hub.settings.channels.zalo, "channels.zalo", "app_id", "oa_secret_key",
                    "app_secret", "access_token", "refresh_token")
        return cls(hub)


    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.webhook)]

    def senders(self) -> dict[str, ChannelAdapter]:
        return {self.name: self, self.zns.name: self.zns}

    async def start(self) -> None:
        await self.tokens.seed()
        self.hub.add_job("zalo-token-refresh", self.cfg.token_refresh_check_seconds,
                         self.tokens.refresh_if_due, leader_only=True)

    def _pause_sending(self, reason: str) -> None:
        from hub.dispatch import pause_channel

        for sender in self.senders():
            pause_channel(self.hub, sender, f"zalo token refresh failed: {reason}")

    # --- intake ------------------------------------------------------------------------------
    def verify(self, headers: Any, raw_body: bytes, payload: dict[str, Any] | None = None) -> bool:
        header = headers.get(SIGNATURE_HEADER, "").strip()
        if not header:
            return False
        given = header[4:] if header.lower().startswith("mac=") else header
        if payload is None:
            try:
                payload = loads(raw_body)
            except ValueError:
                return False
        if not isinstance(payload, dict):
            return False
        expected = signature(str(payload.get("app_id") or ""), raw_body,
                             str(payload.get("timestamp") or ""),
                             self.cfg.oa_secret_key.get_secret_value())
        return constant_time_equal(given.lower(), expected)

    async def webhook(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        raw = await request.read()
        try:
            payload = loads(raw) if raw.strip() else {}
        except ValueError:
            payload = None
        if payload == {}:
            # Zalo's check when the webhook URL is saved: acknowledge, store nothing.
            return web.json_response({"ok": True})
        if not request.headers.get(SIGNATURE_HEADER):
            return refuse(self.hub, self.name, 401, "missing signature")
        if payload is None:
            return refuse(self.hub, self.name, 400, "body is not JSON")
        if not isinstance(payload, dict):
            return refuse(self.hub, self.name, 400, "body is not a JSON object")
        if not self.verify(request.headers, raw, payload):
            return refuse(self.hub, self.name, 401, "bad signature")
        if not payload.get("event_name"):
            return refuse(self.hub, self.name, 400, "no event_name")
        event = RawEvent(external_id(payload), payload)
        [result] = await store_events(self.hub, self.name, [event], started)
        return web.json_response({"ok": True, "duplicate": result.duplicate})

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        return parse_event(payload)

    async def after_new_report(self, session: Any, report: Any, contact: Any) -> None:
        """A report from a citizen whose phone we do not know: send the request-user-info card
        (officers often need to call back to verify). Anonymous chats cannot receive it."""
        if contact.phone or not report.reply_address or report.reply_address.startswith("anonymous:"):
            return
        await request_user_info(session, self.hub, report.reply_address, report)

    # --- sending -----------------------------------------------------------------------------
    def recipient(self, address: str) -> dict[str, str]:
        """``sender.id`` of the citizen; anonymous chats as ``anonymous:<id>:<conversation>``."""
        if address.startswith("anonymous:"):
            _, anonymous_id, conversation = (address.split(":", 2) + ["", ""])[:3]
            return {"anonymous_id": anonymous_id, "conversation_id": conversation}
        return {"user_id": address}

    def message_body(self, message: OutboundMessage) -> dict[str, Any]:
        if message.template == REQUEST_INFO:
            element = {"title": message.template_data.get("title", "")[:100],
                       "subtitle": message.template_data.get("subtitle", message.text)[:500]}
            if self.cfg.request_info_image_url:
                element["image_url"] = self.cfg.request_info_image_url
            return {"attachment": {"type": "template", "payload": {
                "template_type": REQUEST_INFO, "elements": [element]}}}
        text = message.text if len(message.text) <= TEXT_MAX else message.text[:TEXT_MAX - 1] + "…"
        return {"text": text}

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        body = {"recipient": self.recipient(address), "message": self.message_body(message)}
        url = self.cfg.api_base.rstrip("/") + CS_PATH
        return await self.client.deliver(url, body, CS_ERRORS, "zalo")


async def request_user_info(session: AsyncSession, hub: Hub, address: str,
                            report: Report | None = None) -> OutboxMessage:
    """Queue Zalo's request-user-info card to a citizen (same transaction as the caller's
    change). Their answer arrives as ``user_submit_info`` and fills the contact's name, phone and
    address. Used when a report needs a phone number or the citizen asks to share it."""
    from router import templates
    from router.notify import outbound_row

    code = report.code if report is not None else ""
    title = templates.render("zalo_request_info_title")
    subtitle = templates.render("zalo_request_info_subtitle" if code else
                                "zalo_request_info_subtitle_nocode", code=code)
    message = OutboundMessage(text=subtitle, report_code=code or None, template=REQUEST_INFO,
                              template_data={"title": title, "subtitle": subtitle})
    row = outbound_row(channel="zalo", address=address, report=report, template=REQUEST_INFO,
                       message=message)
    session.add(row)
    hub.outbox_wakeup.set()
    return row
