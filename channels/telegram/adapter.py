"""Telegram bot channel (python-telegram-bot 22, driven from our own aiohttp route).

The webhook checks ``X-Telegram-Bot-Api-Secret-Token`` in constant time, stores the update keyed
on ``update_id`` (durable intake) and answers 200. The inbox worker later calls ``parse``, which
turns the stored update into InboundMessages without any I/O (``Update.de_json`` only builds
objects). The python-telegram-bot ``Application`` (no updater, no web server of its own) owns the
``Bot`` and its HTTP client: replies go out through ``Bot.send_message``, attachments are fetched
with ``getFile`` and downloaded from the file endpoint of the configured ``api_base`` only.
"""
from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import os
import re
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, Message, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from channels.base import ChannelAdapter, ChannelConfigError, constant_time_equal
from hub.media import MediaRefused, MediaUnavailable, download
from normalizer.phones import normalize_phone
from normalizer.schema import (
    AttachmentRef,
    ContactInfo,
    DeliveryResult,
    InboundMessage,
    Location,
    OutboundMessage,
    RawEvent,
)
from normalizer.text import nfc
from channels.webhook import refuse, store_events

log = logging.getLogger("hub.channels.telegram")

# Opt in to python-telegram-bot's coming timedelta durations (RetryAfter.retry_after...). Without
# it, building a RetryAfter on a 429 emits a deprecation warning from inside the library.
os.environ.setdefault("PTB_TIMEDELTA", "true")

PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FILE_URL_PREFIX = "tg-file:"
MAX_TEXT = 4096  # Bot API limit for sendMessage text
# Telegram allows 1–256 characters A-Z a-z 0-9 _ - in a webhook secret token.
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.S)
REPORT_CODE_RE = re.compile(r"\bPA-\d{4}-\d{6,}\b", re.I)
# Update kinds this bot asks Telegram for (telegram-set-webhook); anything else is acknowledged.
ALLOWED_UPDATES = ("message", "edited_message", "my_chat_member")
# BadRequest descriptions meaning the chat itself cannot be reached: another route may work.
UNREACHABLE_CHAT = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated",
                    "bot can't initiate conversation")


def build_application(token: str, api_base: str, timeout: float) -> Application:
    """The Application without updater or web server; requests go to ``api_base``.

    We own the request objects so their HTTP clients can be closed even when the bot never
    managed to initialize (getMe failed)."""
    base = api_base.rstrip("/")
    return (ApplicationBuilder().token(token)
            .base_url(base + "/bot").base_file_url(base + "/file/bot")
            .request(HTTPXRequest(connection_pool_size=8, connect_timeout=timeout,
                                  read_timeout=timeout, write_timeout=timeout, pool_timeout=timeout))
            .get_updates_request(HTTPXRequest(connection_pool_size=1))
            .updater(None).job_queue(None).build())


class TelegramChannel(ChannelAdapter):
    name = "telegram"

    def __init__(self, hub: Any) -> None:
        super().__init__(hub)
        cfg = hub.settings.channels.telegram
        self.secret = cfg.secret_token.get_secret_value()
        self.api_base = cfg.api_base.rstrip("/")
        self.app = build_application(cfg.bot_token.get_secret_value(), self.api_base,
                                     cfg.request_timeout_seconds)
        self._ready_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, hub: Any) -> TelegramChannel:
        cfg = hub.settings.channels.telegram
        cls.require(cfg, "channels.telegram", "bot_token", "secret_token", "api_base")
        if not SECRET_TOKEN_RE.match(cfg.secret_token.get_secret_value()):
            raise ChannelConfigError("channels.telegram.secret_token must be 1-256 characters "
                                     "A-Z, a-z, 0-9, _ or - (Telegram's rule)")
        return cls(hub)

    @property
    def allowed_media_hosts(self) -> tuple[str, ...]:  # type: ignore[override]
        host = urlsplit(self.api_base).hostname
        return (host,) if host else ()

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Initialize the bot (getMe) and start the Application. Telegram being unreachable must
        not stop intake: on failure the bot is initialized again on first use."""
        try:
            await self._ready()
        except TelegramError as exc:
            log.warning("telegram bot not ready at start (%s); will retry on first use",
                        _describe(exc))

    async def _ready(self) -> Bot:
        if self.app.running:
            return self.app.bot
        async with self._ready_lock:
            if not self.app.running:
                try:
                    await self.app.initialize()
                except InvalidToken:
                    # PTB's message quotes the token: never let it reach a log.
                    raise InvalidToken("bot token rejected by Telegram") from None
                await self.app.start()
        return self.app.bot

    async def aclose(self) -> None:
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await self.app.bot.shutdown()  # closes the HTTP clients even if getMe never succeeded

    # --- intake ------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.webhook)]

    def verify(self, headers: Any, raw_body: bytes) -> bool:
        given = headers.get(SECRET_HEADER)
        return given is not None and constant_time_equal(given, self.secret)

    async def webhook(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        if not self.verify(request.headers, b""):
            return refuse(self.hub, self.name, 401, "bad secret token")
        raw = await request.read()
        try:
            update = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return refuse(self.hub, self.name, 400, "body is not JSON")
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return refuse(self.hub, self.name, 400, "update_id missing or not an integer")
        [result] = await store_events(self.hub, self.name, [RawEvent(str(update_id), update)], started)
        if result.duplicate:
            log.info("telegram update %s redelivered; already stored", update_id)
        # An empty JSON object: no "method" field, so Telegram performs nothing on our behalf.
        return web.json_response({})

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        return parse_update(payload, self.app.bot)

    # --- media -------------------------------------------------------------------------------
    async def fetch_media(self, url: str, max_bytes: int) -> tuple[bytes, str | None]:
        if not url.startswith(FILE_URL_PREFIX):
            raise MediaRefused("not a Telegram file reference")
        try:
            bot = await self._ready()
            tg_file = await bot.get_file(url[len(FILE_URL_PREFIX):])
        except BadRequest as exc:  # "file is too big" (> 20 MB for bots), bad file_id
            raise MediaRefused(f"getFile refused: {exc.message}") from None
        except TelegramError as exc:
            raise MediaUnavailable(f"getFile failed: {_describe(exc)}") from None
        if tg_file.file_size and tg_file.file_size > max_bytes:
            raise MediaRefused(f"file of {tg_file.file_size} bytes exceeds {max_bytes}")
        file_url = tg_file.file_path or ""
        if not file_url.startswith(bot.base_file_url + "/"):
            raise MediaRefused("file path outside the configured Bot API file endpoint")
        data, ctype = await download(self.hub.http, file_url, max_bytes, self.allowed_media_hosts,
                                     timeout=self.hub.settings.storage.download_timeout_seconds)
        if ctype in (None, "application/octet-stream"):  # the file server says little
            ctype = mimetypes.guess_type(file_url)[0] or None
        return data, ctype

    # --- sending -----------------------------------------------------------------------------
    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        text = message.text if len(message.text) <= MAX_TEXT else message.text[:MAX_TEXT - 1] + "…"
        try:
            chat_id: int | str = int(address)
        except ValueError:
            chat_id = address  # @channelusername
        try:
            bot = await self._ready()
            try:
                sent = await bot.send_message(chat_id=chat_id, text=text)
            except ChatMigrated as exc:  # a group became a supergroup: same people, new id
                sent = await bot.send_message(chat_id=exc.new_chat_id, text=text)
        except Exception as exc:
            return delivery_result(exc)
        return DeliveryResult.sent(provider_id=str(sent.message_id))


def delivery_result(exc: Exception) -> DeliveryResult:
    """Map a Telegram error to what the outbox should do. Order matters: BadRequest and TimedOut
    are NetworkErrors in python-telegram-bot."""
    if isinstance(exc, RetryAfter):
        return DeliveryResult.retry("rate limited by Telegram", retry_after=retry_after_seconds(exc))
    if isinstance(exc, InvalidToken):
        return DeliveryResult.paused("bot token rejected by Telegram")
    if isinstance(exc, Forbidden):
        reason = "bot blocked by user" if "blocked" in exc.message.lower() else (
            f"forbidden by Telegram: {exc.message}")
        return DeliveryResult.give_up(reason, needs_other_route=True)
    if isinstance(exc, BadRequest):
        lowered = exc.message.lower()
        unreachable = any(marker in lowered for marker in UNREACHABLE_CHAT)
        return DeliveryResult.give_up(f"rejected by Telegram: {exc.message}",
                                      needs_other_route=unreachable)
    if isinstance(exc, TimedOut):
        return DeliveryResult.retry("Telegram timed out")
    if isinstance(exc, TelegramError):  # NetworkError and the rest: transient
        return DeliveryResult.retry(f"Telegram unavailable: {_describe(exc)}")
    raise exc


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # the int/timedelta transition warns on access
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _describe(exc: BaseException) -> str:
    # TelegramError messages carry Telegram's description or httpx's error, never the URL.
    message = getattr(exc, "message", "") or ""
    return f"{type(exc).__name__}: {message}"[:200] if message else type(exc).__name__


# --- parsing (pure) -------------------------------------------------------------------------
def parse_update(payload: dict[str, Any], bot: Bot | None = None) -> list[InboundMessage]:
    """One stored update → InboundMessages. ``Update.de_json`` builds objects only (no I/O)."""
    external_id = str(payload.get("update_id", ""))
    try:
        update = Update.de_json(payload, bot)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Deterministic: retrying would fail the same way, so acknowledge and log it.
        return [_ignore(external_id, "", f"malformed update ({type(exc).__name__})")]
    for attribute, handler in UPDATE_HANDLERS.items():
        value = getattr(update, attribute, None)
        if value is not None:
            return handler(external_id, value)
    kinds = sorted(k for k in payload if k != "update_id")
    return [_ignore(external_id, "", f"update kind {','.join(kinds) or 'empty'} not handled")]


def _ignore(external_id: str, sender: str, reason: str) -> InboundMessage:
    return InboundMessage(channel="telegram", external_id=external_id, sender_id=sender or "unknown",
                          kind="ignore", meta={"reason": reason})


def _person(message: Message) -> ContactInfo | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None
    name = nfc(" ".join(p for p in (user.first_name, user.last_name) if p)).strip()
    return ContactInfo(name=name or None)


def _telegram_phone(raw: str | None) -> str | None:
    """Telegram sends international numbers, usually without the leading "+"."""
    if not raw:
        return None
    phone = normalize_phone(raw)
    digits = raw.strip().lstrip("+")
    if phone is None and digits.isdigit():
        phone = normalize_phone("+" + digits)
    return phone


def _attachments(message: Message) -> list[AttachmentRef]:
    refs: list[AttachmentRef] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        refs.append(AttachmentRef(kind="image", url=FILE_URL_PREFIX + largest.file_id,
                                  content_type="image/jpeg", size=largest.file_size))
    for media, kind in ((message.video, "video"), (message.video_note, "video"),
                        (message.animation, "video"), (message.voice, "audio"),
                        (message.audio, "audio"), (message.document, "file")):
        if media is None or (kind == "file" and message.animation is not None):
            continue  # an animation also arrives as a document: keep it once
        mime = getattr(media, "mime_type", None)
        if kind == "file" and mime and mime.startswith("image/"):
            kind = "image"  # a photo sent uncompressed, full resolution
        refs.append(AttachmentRef(kind=kind, url=FILE_URL_PREFIX + media.file_id, content_type=mime,
                                  name=getattr(media, "file_name", None), size=media.file_size))
    return refs


def _location(message: Message) -> Location | None:
    if message.venue is not None:
        venue = message.venue
        parts = [nfc(p).strip() for p in (venue.title, venue.address) if p and p.strip()]
        if len(parts) == 2 and parts[0].casefold() in parts[1].casefold():
            parts = parts[1:]
        return Location(lat=venue.location.latitude, lon=venue.location.longitude,
                        address=", ".join(parts) or None)
    if message.location is not None:
        return Location(lat=message.location.latitude, lon=message.location.longitude)
    return None


def _command(external_id: str, sender: str, message: Message, text: str) -> InboundMessage | None:
    match = COMMAND_RE.match(text.strip())
    if match is None:
        return None
    command, args = match.group(1).lower(), (match.group(2) or "").split()
    code = args[0].upper() if command == "status" and args else None
    return InboundMessage(channel="telegram", external_id=external_id, sender_id=sender,
                          kind="command", text=text, sent_at=message.date, report_code=code,
                          contact=_person(message),
                          meta={"command": command, "args": args,
                                "telegram_message_id": message.message_id})


def parse_message(external_id: str, message: Message) -> list[InboundMessage]:
    sender = str(message.chat.id)
    if message.from_user is not None and message.from_user.is_bot:
        return [_ignore(external_id, sender, "message from a bot")]
    text = nfc(message.text or message.caption or "")
    if message.text:
        command = _command(external_id, sender, message, message.text)
        if command is not None:
            return [command]
    meta: dict[str, Any] = {"telegram_message_id": message.message_id,
                            "message_key": message_key(message)}
    if message.media_group_id:
        meta["media_group_id"] = message.media_group_id
    person = _person(message)
    shared = message.contact
    if shared is not None:
        phone = _telegram_phone(shared.phone_number)
        name = nfc(" ".join(p for p in (shared.first_name, shared.last_name) if p)).strip() or None
        own = shared.user_id is None or (message.from_user is not None
                                         and shared.user_id == message.from_user.id)
        if own:  # the citizen shared their own number (the "share phone" button)
            return [InboundMessage(channel="telegram", external_id=external_id, sender_id=sender,
                                   kind="contact", sent_at=message.date, meta=meta,
                                   contact=ContactInfo(name=name or (person and person.name),
                                                       phone=phone))]
        # Someone else's card (a witness, the site's owner): part of the report's content.
        text = "\n".join(p for p in (text, f"Liên hệ: {name or ''} {phone or shared.phone_number}".strip())
                         if p)
    attachments = _attachments(message)
    location = _location(message)
    if not (text or attachments or location):
        what = "sticker" if message.sticker is not None else "service message"
        return [_ignore(external_id, sender, f"{what} without report content")]
    reply = message.reply_to_message
    code = None
    if reply is not None and reply.from_user is not None and reply.from_user.is_bot:
        # A reply to one of our messages (the acknowledgement) threads into that report.
        found = REPORT_CODE_RE.search(reply.text or "")
        code = found.group(0).upper() if found else None
    return [InboundMessage(channel="telegram", external_id=external_id, sender_id=sender,
                           kind="message", text=text, sent_at=message.date, attachments=attachments,
                           location=location, contact=person, report_code=code, meta=meta)]


def message_key(message: Message) -> str:
    """How Telegram names a message (edits refer to it): chat id and message id."""
    return f"tg:{message.chat.id}:{message.message_id}"


def parse_edit(external_id: str, message: Message) -> list[InboundMessage]:
    """An edited text or caption replaces that message's text in its report. Live-location
    updates also arrive as edits and carry no text: acknowledged and logged."""
    sender = str(message.chat.id)
    text = nfc(message.text or message.caption or "").strip()
    if not text:
        return [_ignore(external_id, sender, "edit without text (live location)")]
    return [InboundMessage(channel="telegram", external_id=external_id, sender_id=sender,
                           kind="edit", text=text, sent_at=message.edit_date or message.date,
                           meta={"edited_external_id": message_key(message),
                                 "telegram_message_id": message.message_id})]


def parse_member(external_id: str, change: Any) -> list[InboundMessage]:
    """my_chat_member in a private chat: the citizen blocked (kicked) or restarted the bot."""
    sender = str(change.chat.id)
    if change.chat.type != "private":
        return [_ignore(external_id, sender, "bot membership changed in a group")]
    state = "blocked" if change.new_chat_member.status in ("kicked", "left") else "active"
    return [InboundMessage(channel="telegram", external_id=external_id, sender_id=sender,
                           kind="contact", sent_at=change.date,
                           meta={"contact_state": state, "citizen_initiated": False})]


# One table maps update kinds to handlers; the supported set is derived from it.
UPDATE_HANDLERS: dict[str, Callable[[str, Any], list[InboundMessage]]] = {
    "message": parse_message,
    "edited_message": parse_edit,
    "my_chat_member": parse_member,
}
