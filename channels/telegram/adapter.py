"""Telegram bot channel (python-telegram-bot 22, driven from our own aiohttp route).

The webhook checks ``X-Telegram-Bot-Api-Secret-Token`` in constant time, stores the update keyed
on ``update_id`` (durable intake) and answers 200. The inbox worker later calls ``parse``, which
turns the stored update into InboundMessages without any I/O (``Update.de_json`` only builds
objects). The python-telegram-bot ``Application`` (no updater, no web server of its own) owns the
``Bot`` and its HTTP client: replies go out through ``Bot.send_message`` (the dialogue's
questions with a one-time reply keyboard: share location, share phone, "Bỏ qua", "Xong";
every other message removes the keyboard), attachments are fetched
with ``getFile`` and downloaded from the file endpoint of the configured ``api_base`` only.
"""
from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import re
import warnings
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import web
from telegram import Bot, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
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

from channels.base import ChannelConfigError, ChannelContext, constant_time_equal
from channels.media import MediaRefused, MediaUnavailable, download
from channels.telegram.parse import FILE_URL_PREFIX, parse_update
from channels.telegram.settings import TelegramSettings
from channels.webhook import Body, Refused, WebhookChannel
from normalizer.schema import (
    DeliveryResult,
    InboundMessage,
    OutboundMessage,
    RawEvent,
)

log = logging.getLogger("hub.channels.telegram")

# Opt in to python-telegram-bot's coming timedelta durations (RetryAfter.retry_after...). Without
# it, building a RetryAfter on a 429 emits a deprecation warning from inside the library.
os.environ.setdefault("PTB_TIMEDELTA", "true")

PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096  # Bot API limit for sendMessage text
# Telegram allows 1–256 characters A-Z a-z 0-9 _ - in a webhook secret token.
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
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


class TelegramChannel(WebhookChannel):
    name = "telegram"
    webhook_path = PATH
    settings_model = TelegramSettings
    chat_style = True
    dialogue = True  # reply keyboards with request_location / request_contact

    def __init__(self, ctx: ChannelContext, cfg: TelegramSettings) -> None:
        super().__init__(ctx, cfg)
        self.secret = cfg.secret_token.get_secret_value()
        self.api_base = cfg.api_base.rstrip("/")
        self.app = build_application(cfg.bot_token.get_secret_value(), self.api_base,
                                     cfg.request_timeout_seconds)
        self._ready_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, ctx: ChannelContext, cfg: TelegramSettings) -> TelegramChannel:
        cls.require(cfg, "channels.telegram", "bot_token", "secret_token", "api_base")
        if not SECRET_TOKEN_RE.match(cfg.secret_token.get_secret_value()):
            raise ChannelConfigError("channels.telegram.secret_token must be 1-256 characters "
                                     "A-Z, a-z, 0-9, _ or - (Telegram's rule)")
        return cls(ctx, cfg)

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
    def verify(self, headers: Any, raw_body: bytes) -> bool:
        given = headers.get(SECRET_HEADER)
        return given is not None and constant_time_equal(given, self.secret)

    def authenticate(self, headers: Any, body: Body) -> None:
        if not self.verify(headers, body.raw):
            raise Refused(401, "bad secret token")

    def split(self, payload: Any) -> list[RawEvent]:
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise Refused(400, "update_id missing or not an integer")
        return [RawEvent(str(update_id), payload)]

    def acknowledge(self, results: list[Any]) -> web.StreamResponse:
        if results and results[0].duplicate:
            log.info("telegram update redelivered; already stored")
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
        if not file_url.startswith(bot.base_file_url + "/") or _escapes(
                file_url[len(bot.base_file_url) + 1:]):
            raise MediaRefused("file path outside the configured Bot API file endpoint")
        data, ctype = await download(self.ctx.http, file_url, max_bytes, self.allowed_media_hosts,
                                     timeout=self.ctx.download_timeout_seconds)
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
            markup = reply_markup(message.quick_replies)
            try:
                sent = await bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            except ChatMigrated as exc:  # a group became a supergroup: same people, new id
                sent = await bot.send_message(chat_id=exc.new_chat_id, text=text,
                                              reply_markup=markup)
        except Exception as exc:
            return delivery_result(exc)
        return DeliveryResult.sent(provider_id=str(sent.message_id))


def reply_markup(buttons: list[dict[str, str]]) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """OutboundMessage.quick_replies → a one-time reply keyboard: location and phone buttons
    (``request_location`` / ``request_contact``, each on its own row) above the text answers.

    A message without buttons removes the keyboard (``remove_keyboard``): a one-time keyboard
    hides itself only when tapped, so a citizen who typed their answer would otherwise keep
    "Bỏ qua" / "Xong" of a finished dialogue under every later message."""
    rows: list[list[KeyboardButton]] = []
    texts: list[KeyboardButton] = []
    for button in buttons or []:
        title = button.get("title") or ""
        if not title:
            continue
        if button.get("kind") == "location":
            rows.append([KeyboardButton(title, request_location=True)])
        elif button.get("kind") == "phone":
            rows.append([KeyboardButton(title, request_contact=True)])
        elif button.get("kind") == "text":
            texts.append(KeyboardButton(title))
    if texts:
        rows.append(texts)
    if not rows:
        return ReplyKeyboardRemove()
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


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


def _escapes(relative: str) -> bool:
    """A getFile path that could normalise out of ``/file/bot<token>/`` (``..``, ``%2e%2e``,
    backslashes, a query or fragment): the download URL must stay under the file endpoint."""
    decoded = unquote(unquote(relative)).replace("\\", "/")
    return (not decoded or decoded.startswith("/") or "?" in relative or "#" in relative
            or any(seg in ("..", ".") for seg in decoded.split("/")))


def _describe(exc: BaseException) -> str:
    # TelegramError messages carry Telegram's description or httpx's error, never the URL.
    message = getattr(exc, "message", "") or ""
    return f"{type(exc).__name__}: {message}"[:200] if message else type(exc).__name__


# --- parsing (pure) -------------------------------------------------------------------------
