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
from typing import Any

from aiohttp import web

from channels.base import ChannelContext, Sender, constant_time_equal
from channels.webhook import Body, Refused, WebhookChannel
from channels.zalo.api import CS_ERRORS, ZaloClient
from channels.zalo.parse import external_id, loads, parse_event
from channels.zalo.settings import ZaloSettings
from channels.zalo.tokens import TokenRefreshFailed, TokenUnavailable, ZaloTokens
from channels.zalo.zns import ZnsSender
from normalizer.schema import DeliveryResult, InboundMessage, OutboundMessage, RawEvent

log = logging.getLogger("hub.channels.zalo")

PATH = "/webhooks/zalo"
SIGNATURE_HEADER = "X-ZEvent-Signature"
CS_PATH = "/v3.0/oa/message/cs"
TEXT_MAX = 2000  # Zalo's limit for a consultation text message
REQUEST_INFO = "request_user_info"
GRANT_RECHECK_SECONDS = 30  # how soon a replica the OAuth callback did not reach resumes sending


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The hex Zalo puts after ``mac=``."""
    return hashlib.sha256(app_id.encode() + raw_body + timestamp.encode()
                          + oa_secret_key.encode()).hexdigest()


def sign_headers(payload_raw: bytes, app_id: str, timestamp: str, oa_secret_key: str) -> dict[str, str]:
    """Headers Zalo would send with this body (tests, bench, demo)."""
    return {"Content-Type": "application/json",
            SIGNATURE_HEADER: "mac=" + signature(app_id, payload_raw, timestamp, oa_secret_key)}


FUTURE_SKEW_MS = 15 * 60 * 1000


def stale_event(timestamp: Any, max_age_hours: float, now_ms: int | None = None) -> str | None:
    """Why a signed event's timestamp (ms since the epoch) is outside the accepted window, or
    None. ``max_age_hours`` 0 accepts any past time (never a future one)."""
    try:
        ts = int(str(timestamp))
    except ValueError:
        return "event timestamp missing or not a number"
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if ts > now_ms + FUTURE_SKEW_MS:
        return "event timestamp is in the future"
    if max_age_hours and ts < now_ms - max_age_hours * 3_600_000:
        return "event timestamp is too old (replay window)"
    return None


class ZaloChannel(WebhookChannel):
    name = "zalo"
    webhook_path = PATH

    settings_model = ZaloSettings
    chat_style = True
    # Zalo can ask a citizen for their phone with its request-user-info card (sent under the
    # dialogue's phone question); a place comes back as Zalo's own location message.
    phone_request = True
    dialogue = True

    def __init__(self, ctx: ChannelContext, cfg: ZaloSettings) -> None:
        super().__init__(ctx, cfg)
        self.tokens = ZaloTokens(ctx, cfg, on_terminal=self._pause_sending)
        self.client = ZaloClient(ctx, self.tokens, cfg.http_timeout_seconds)
        self.zns = ZnsSender(cfg, self.client)

    @classmethod
    def from_settings(cls, ctx: ChannelContext, cfg: ZaloSettings) -> ZaloChannel:
        # The token pair may come from the settings or, later, from `hub zalo-authorize` and
        # the OAuth callback (channels.zalo.oauth).
        cls.require(cfg, "channels.zalo", "app_id", "oa_secret_key", "app_secret")
        return cls(ctx, cfg)

    def routes(self) -> list[web.RouteDef]:
        from channels.zalo.oauth import CALLBACK_PATH, callback_handler

        def granted() -> None:
            self.client.awaiting_grant = False
            for sender in self.senders():
                self.ctx.resume(sender)
            self.ctx.wake_outbox()
        return [*super().routes(), web.get(CALLBACK_PATH, callback_handler(
            self.tokens, self.cfg, self.ctx.sessions, on_granted=granted))]

    def senders(self) -> dict[str, Sender]:
        return {self.name: self, self.zns.name: self.zns}

    async def start(self) -> None:
        try:
            await self.tokens.seed()
        except TokenRefreshFailed as exc:
            # A grant refused earlier stays refused across restarts: the hub serves on (the
            # OAuth callback that `hub zalo-authorize` needs lives in it); zalo and zns wait.
            log.warning("zalo: the stored OAuth grant was refused (%s); sending on zalo and zns "
                        "waits until `hub zalo-authorize` is done", exc)
            self._pause_sending(str(exc))
        self.ctx.add_job("zalo-token-refresh", self.cfg.token_refresh_check_seconds,
                         self.tokens.refresh_if_due, leader_only=True)
        # every replica: the OAuth callback resumes sending only on the replica it reached
        self.ctx.add_job("zalo-grant-recheck", GRANT_RECHECK_SECONDS, self.recheck_grant,
                         leader_only=False)

    async def recheck_grant(self) -> None:
        """Sending paused for want of an OAuth grant resumes once a grant is stored."""
        if not self.client.awaiting_grant:
            return
        try:
            await self.tokens.current(fresh=True)
        except (TokenUnavailable, TokenRefreshFailed):
            return
        self.client.awaiting_grant = False
        log.info("zalo: an OAuth grant is stored; sending on zalo and zns resumes")
        for sender in self.senders():
            self.ctx.resume(sender)
        self.ctx.wake_outbox()

    def _pause_sending(self, reason: str) -> None:
        for sender in self.senders():
            self.ctx.pause(sender, f"zalo token refresh failed: {reason}")

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

    def precheck(self, request: web.Request, body: Body) -> web.StreamResponse | None:
        try:
            empty = not body.raw.strip() or body.json() == {}
        except Refused:
            empty = False  # not JSON: authenticate answers it
        if empty:
            # Zalo's check when the webhook URL is saved: unsigned; acknowledge, store nothing.
            return web.json_response({"ok": True})
        return None

    def decode(self, raw: bytes) -> Any:
        try:
            return loads(raw)  # ids and timestamps kept as strings (they exceed 2^53)
        except (ValueError, RecursionError):
            raise Refused(400, "body is not JSON") from None

    def authenticate(self, headers: Any, body: Body) -> None:
        if not headers.get(SIGNATURE_HEADER):
            raise Refused(401, "missing signature")
        payload = body.json()  # the signature covers app_id and timestamp from the body
        if not isinstance(payload, dict):
            raise Refused(400, "body is not a JSON object")
        if not self.verify(headers, body.raw, payload):
            raise Refused(401, "bad signature")
        # Signed is not enough: the event must be for our app and recent (replay window).
        problem = stale_event(payload.get("timestamp"), self.cfg.max_event_age_hours)
        if problem:
            raise Refused(400, problem)
        if str(payload.get("app_id") or "") != self.cfg.app_id:
            raise Refused(403, "event for another app_id")

    def split(self, payload: Any) -> list[RawEvent]:
        if not payload.get("event_name"):
            raise Refused(400, "no event_name")
        return [RawEvent(external_id(payload), payload)]

    def acknowledge(self, results: list[Any]) -> web.StreamResponse:
        return web.json_response({"ok": True, "duplicate": bool(results and results[0].duplicate)})

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        return parse_event(payload)

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
