"""Facebook Messenger (the province's fanpage): webhook intake and Send API replies.

Webhook: ``GET /webhooks/messenger`` answers Meta's verification handshake; ``POST`` checks
``X-Hub-Signature-256`` over the raw bytes (constant time) before anything else, splits the batch
into one inbox event per item of every entry's ``messaging``/``standby`` (and dashboard test
``changes``), commits them and answers 200. Parsing (channels/messenger_parse.py) runs later in
the inbox worker. Sending: ``POST {graph_api_base}/me/messages`` with ``messaging_type`` RESPONSE
and the dialogue's quick replies; when the citizen's last message is known to be older than 24
hours only an agency's reply is attempted (``HUMAN_AGENT`` tag, within 7 days), anything else
goes to the router's fallback chain.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import delete, select

from channels.base import ChannelContext, constant_time_equal
from channels.messenger.parse import event_key, parse_payload
from channels.messenger.send import (
    OUTSIDE_WINDOW,
    classify_error,
    retry_after_seconds,
    split_text,
)
from channels.messenger.settings import MessengerSettings
from channels.webhook import Body, Refused, WebhookChannel, refuse, webhook_handler
from normalizer.schema import DeliveryResult, InboundMessage, OutboundMessage, RawEvent
from store.models import ChannelState, Contact, utcnow

log = logging.getLogger("hub.channels.messenger")

PATH = "/webhooks/messenger"
SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_SOURCES = ("messaging", "standby")
WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
MAX_QUICK_REPLIES = 13
QUICK_TITLE_MAX = 20  # Messenger cuts quick-reply titles at 20 characters


def quick_replies(buttons: list[dict[str, str]]) -> list[dict[str, str]]:
    """OutboundMessage.quick_replies → Messenger quick replies: a phone button becomes
    ``user_phone_number`` (the citizen's number, one tap), text buttons stay text. Messenger
    has no location quick reply any more: that button is dropped (the text asks in words)."""
    out: list[dict[str, str]] = []
    for button in buttons or []:
        kind = button.get("kind")
        if kind == "phone":
            out.append({"content_type": "user_phone_number"})
        elif kind == "text" and button.get("title"):
            out.append({"content_type": "text", "title": button["title"][:QUICK_TITLE_MAX],
                        "payload": (button.get("payload") or button["title"])[:1000]})
    return out[:MAX_QUICK_REPLIES]


class MalformedBatch(ValueError):
    """The body is JSON but not a webhook batch (no ``entry`` list)."""


def split_batch(body: Any) -> list[RawEvent]:
    """A webhook POST body → one RawEvent per event, keyed by ``mid`` or a stable hash."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise MalformedBatch("expected an object with an 'entry' list")
    if body.get("object", "page") != "page":
        log.info("messenger webhook for object %r acknowledged and skipped",
                 str(body.get("object"))[:40])
        return []
    events: list[RawEvent] = []
    for entry in body["entry"]:
        if not isinstance(entry, dict):
            log.info("messenger webhook entry that is not an object skipped")
            continue
        items: list[tuple[str, Any, dict[str, Any]]] = []
        for source in EVENT_SOURCES:
            listed = entry.get(source)
            if isinstance(listed, list):
                items.extend((source, item, {}) for item in listed)
        for change in entry.get("changes") or []:
            # The app dashboard's "Test" button sends {"field", "value"} pairs.
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                items.append(("changes", change["value"], {"field": change.get("field")}))
        for source, item, extra in items:
            key = event_key(item)
            events.append(RawEvent(key, {"key": key, "source": source, "entry_id": entry.get("id"),
                                         "entry_time": entry.get("time"), **extra, "event": item}))
    return events


class MessengerChannel(WebhookChannel):
    name = "messenger"

    settings_model = MessengerSettings
    chat_style = True
    dialogue = True  # quick replies, user_phone_number

    def __init__(self, ctx: ChannelContext, cfg: MessengerSettings) -> None:
        super().__init__(ctx, cfg)
        self._base = self.cfg.graph_api_base.rstrip("/")

    @classmethod
    def from_settings(cls, ctx: ChannelContext, cfg: MessengerSettings) -> MessengerChannel:
        cls.require(cfg, "channels.messenger", "verify_token", "app_secret", "page_access_token",
                    "graph_api_base")
        return cls(ctx, cfg)

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH, self.handshake), web.post(PATH, webhook_handler(self.ctx, self))]

    async def start(self) -> None:
        # A paused channel (token refused) checks every few minutes whether the token works
        # again, e.g. after a transient Graph failure; pausing is per process.
        self.ctx.add_job("messenger-token-check", self.cfg.token_check_seconds,
                         self.check_token, leader_only=False)

    # --- webhook -------------------------------------------------------------------------------
    async def handshake(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        token = self.cfg.verify_token.get_secret_value()
        if (q.get("hub.mode") == "subscribe" and "hub.challenge" in q
                and constant_time_equal(q.get("hub.verify_token", ""), token)):
            log.info("messenger webhook verification handshake accepted")
            return web.Response(text=q["hub.challenge"])
        return refuse(self.ctx, self.name, 403, "verification handshake refused")

    def verify(self, headers: Any, raw_body: bytes) -> bool:
        header = headers.get(SIGNATURE_HEADER, "")
        if not header.startswith("sha256="):
            return False
        expected = hmac.new(self.cfg.app_secret.get_secret_value().encode(), raw_body,
                            hashlib.sha256).hexdigest()
        return constant_time_equal(header[len("sha256="):].strip().lower(), expected)

    def authenticate(self, headers: Any, body: Body) -> None:
        if not headers.get(SIGNATURE_HEADER):
            raise Refused(401, "missing signature")
        if not self.verify(headers, body.raw):
            raise Refused(403, "bad signature")

    def split(self, payload: Any) -> list[RawEvent]:
        try:
            return split_batch(payload)
        except MalformedBatch:
            raise Refused(400, "body is not a webhook batch") from None

    def acknowledge(self, results: list[Any]) -> web.StreamResponse:
        return web.Response(text="EVENT_RECEIVED")  # what Meta's samples answer

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        return parse_payload(payload)

    # --- sending -------------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        token = self.cfg.page_access_token.get_secret_value()
        proof = hmac.new(self.cfg.app_secret.get_secret_value().encode(), token.encode(),
                         hashlib.sha256).hexdigest()
        return {"access_token": token, "appsecret_proof": proof}

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        parts = split_text(message.text)
        if not parts:
            return DeliveryResult.give_up("empty message")
        tag = None
        elapsed = await self.since_last_inbound(address)
        if elapsed is not None and elapsed > WINDOW:
            if message.automatic or not self.cfg.human_agent_tag or elapsed > HUMAN_AGENT_WINDOW:
                return DeliveryResult.give_up(OUTSIDE_WINDOW, needs_other_route=True)
            tag = "HUMAN_AGENT"  # a person's reply within 7 days (Meta's human agent policy)
        quick = quick_replies(message.quick_replies)
        # Long texts go out in pieces; progress is kept so a retry resumes, not repeats.
        progress_key = (f"messenger:send:{message.idempotency_key}"
                        if len(parts) > 1 and message.idempotency_key else None)
        mids: list[str] = await self._progress(progress_key) if progress_key else []
        for i, part in enumerate(parts[len(mids):], start=len(mids)):
            # Quick replies ride on the last piece (Messenger shows them under it).
            result = await self._post_text(address, part, tag=tag,
                                           quick=quick if i == len(parts) - 1 else None)
            if result.status != "sent":
                return result
            mids.append(result.provider_id or "")
            if progress_key and len(mids) < len(parts):
                await self._save_progress(progress_key, mids)
        if progress_key:
            await self._save_progress(progress_key, None)
        return DeliveryResult.sent(provider_id=mids[-1] or None)

    async def outside_window(self, address: str) -> bool:
        """True when the citizen's last inbound message is known and older than 24 hours."""
        elapsed = await self.since_last_inbound(address)
        return elapsed is not None and elapsed > WINDOW

    async def since_last_inbound(self, address: str) -> timedelta | None:
        async with self.ctx.sessions() as session:
            last = (await session.execute(select(Contact.last_inbound_at).where(
                Contact.channel == self.name, Contact.channel_user_id == address))).scalar()
        return utcnow() - last if last is not None else None

    async def _post_text(self, address: str, text: str, *, tag: str | None = None,
                         quick: list[dict[str, str]] | None = None) -> DeliveryResult:
        recipient = ({"user_ref": address[len("user_ref:"):]} if address.startswith("user_ref:")
                     else {"id": address})
        body: dict[str, Any] = {"recipient": recipient, "messaging_type": "RESPONSE",
                                "message": {"text": text}}
        if tag:
            body["messaging_type"], body["tag"] = "MESSAGE_TAG", tag
        if quick:
            body["message"]["quick_replies"] = quick
        try:
            async with self.ctx.http.post(
                    f"{self._base}/me/messages", params=self._auth(), json=body,
                    timeout=aiohttp.ClientTimeout(total=self.cfg.send_timeout_seconds)) as resp:
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    data = None
                if resp.status == 200 and isinstance(data, dict) and data.get("message_id"):
                    return DeliveryResult.sent(provider_id=str(data["message_id"]))
                if resp.status == 200 and not (isinstance(data, dict) and "error" in data):
                    return DeliveryResult.retry("Send API answered 200 without a message_id")
                return classify_error(resp.status, data, retry_after_seconds(resp.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Never str(exc): some aiohttp errors carry the URL, and the URL carries the token.
            return DeliveryResult.retry(f"Send API unreachable: {type(exc).__name__}")

    async def _progress(self, key: str) -> list[str]:
        async with self.ctx.sessions() as session:
            row = await session.get(ChannelState, key)
            return list((row.value or {}).get("mids", [])) if row is not None else []

    async def _save_progress(self, key: str, mids: list[str] | None) -> None:
        async with self.ctx.sessions() as session, session.begin():
            if mids is None:
                await session.execute(delete(ChannelState).where(ChannelState.key == key))
                return
            row = await session.get(ChannelState, key)
            if row is None:
                session.add(ChannelState(key=key, value={"mids": mids}, version=1))
            else:
                row.value, row.version = {"mids": mids}, row.version + 1

    async def check_token(self) -> None:
        """While paused, ask Graph whether the page token works again; resume if it does."""
        if not self.ctx.is_paused(self.name):
            return
        try:
            async with self.ctx.http.get(f"{self._base}/me", params=self._auth(),
                                         timeout=aiohttp.ClientTimeout(total=10)) as resp:
                ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return
        if ok:
            self.ctx.resume(self.name)
