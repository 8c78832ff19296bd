"""Outgoing mail: a threaded, loop-safe message (pure) and an SMTP sender (aiosmtplib).

Every message carries our own Message-ID (derived from the outbox idempotency key, so a retry
re-sends the same id), ``In-Reply-To``/``References`` to the citizen's mail, the report code in
the Subject, and ``Auto-Submitted: auto-replied`` when automatic. SMTP 4xx → retry later,
5xx → give up with the server's reason; a refused login pauses the channel.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from collections import deque
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING

import aiosmtplib

from channels.email.xoauth2 import OAuthRefused, OAuthUnavailable, token_source
from normalizer.schema import DeliveryResult, OutboundMessage

if TYPE_CHECKING:
    from channels.email.settings import EmailSettings

log = logging.getLogger("hub.channels.email")

MAX_REFERENCES = 10
# A reused SMTP connection idle longer than this is replaced (servers drop idle sessions).
IDLE_RECONNECT_SECONDS = 30.0


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower() or "localhost"


def message_id_for(idempotency_key: str | None, code: str | None, from_address: str) -> str:
    """Stable per outbox row: a retried send keeps its id, so threads and bounces match."""
    key = idempotency_key or f"adhoc-{time.time_ns()}"
    digest = hashlib.sha256(f"{from_address}|{key}|{code}".encode()).hexdigest()[:12]
    local = f"{(code or 'hub').lower()}.{key}.{digest}"
    return f"<{local}@{domain_of(from_address)}>"


def subject_for(message: OutboundMessage) -> str:
    """The subject the router rendered, tagged with the report code so replies thread back."""
    subject = " ".join((message.subject or "").split())
    code = message.report_code
    if code and code not in subject:
        subject = f"[#{code}] {subject}"
    return subject.strip()


def build_message(settings: EmailSettings, address: str, message: OutboundMessage) -> EmailMessage:
    mail = EmailMessage()
    sender = settings.from_address
    if settings.from_name:
        local, _, domain = sender.partition("@")
        mail["From"] = Address(settings.from_name, local, domain)
    else:
        mail["From"] = sender
    mail["To"] = address
    mail["Subject"] = subject_for(message)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id_for(message.idempotency_key, message.report_code, sender)
    context = message.reply_context or {}
    parent = context.get("message_id")
    if parent:
        refs = [r for r in context.get("references", []) if r != parent][-(MAX_REFERENCES - 1):]
        mail["In-Reply-To"] = parent
        mail["References"] = " ".join([*refs, parent])
    if message.automatic:
        mail["Auto-Submitted"] = "auto-replied"
        # Ask Exchange/Outlook not to answer with out-of-office or read receipts.
        mail["X-Auto-Response-Suppress"] = "All"
    if message.report_code:
        mail["X-PA-Report"] = message.report_code
    mail.set_content(message.text, charset="utf-8")
    return mail


def classify_error(exc: BaseException) -> DeliveryResult:
    """SMTP outcome → sent/retry/give_up/paused, with the server's words as the reason."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        if first is not None:
            return _by_code(first.code, first.message, recipient=True)
        return DeliveryResult.give_up("all recipients refused", needs_other_route=True)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryResult.paused(f"SMTP login refused ({exc.code})")
    if isinstance(exc, OAuthRefused):
        return DeliveryResult.paused(f"SMTP OAuth token refused: {exc}")
    if isinstance(exc, OAuthUnavailable):
        return DeliveryResult.retry(f"SMTP OAuth token: {exc}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryResult.paused(f"SMTP server lacks a required extension: {exc}"[:200])
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, exc.message,
                        recipient=isinstance(exc, aiosmtplib.SMTPRecipientRefused))
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError |
                  aiosmtplib.SMTPTimeoutError | TimeoutError | OSError):
        return DeliveryResult.retry(f"SMTP connection: {type(exc).__name__}")
    return DeliveryResult.retry(f"SMTP error: {type(exc).__name__}")


def _by_code(code: int, text: str, recipient: bool) -> DeliveryResult:
    reason = f"SMTP {code} {' '.join(str(text).split())}"[:300]
    if 400 <= code < 500 or code < 0:
        return DeliveryResult.retry(reason)
    return DeliveryResult.give_up(reason, needs_other_route=recipient or code in (550, 551, 553))


class ReplyRateLimit:
    """At most ``limit`` mails per address within ``window`` seconds, per process (the last
    line against loops that slip past header checks)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._sent: dict[str, deque[float]] = {}

    def wait_seconds(self, address: str, now: float | None = None) -> float:
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        times = self._sent.get(address)
        if not times:
            return 0.0
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            self._sent.pop(address, None)
            return 0.0
        return 0.0 if len(times) < self.limit else self.window - (now - times[0])

    def record(self, address: str, now: float | None = None) -> None:
        self._sent.setdefault(address, deque()).append(time.monotonic() if now is None else now)


def tls_context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class SmtpSender:
    """One reused SMTP session (reconnected when it was idle or dropped), one send at a time.
    Every SMTP setting applies (implicit TLS, STARTTLS, a private CA, timeouts, login); the email
    channel's replies and the agencies' mail both go through it."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = asyncio.Lock()

    @property
    def from_address(self) -> str:
        return self.settings.from_address or self.settings.smtp_username

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        context = tls_context(s.tls_ca_file) if (s.smtp_ssl or s.smtp_starttls) else None
        return aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, use_tls=s.smtp_ssl,
                               start_tls=bool(s.smtp_starttls and not s.smtp_ssl),
                               timeout=s.smtp_timeout_seconds, tls_context=context)

    async def _connected(self) -> aiosmtplib.SMTP:
        fresh = time.monotonic() - self._last_used < IDLE_RECONNECT_SECONDS
        if self._client is not None and self._client.is_connected and fresh:
            return self._client
        await self.close()
        client = self._new_client()
        await client.connect()
        s = self.settings
        if s.auth == "oauth2":
            await self._xoauth2(client)
        elif s.smtp_username:
            await client.login(s.smtp_username, s.smtp_password.get_secret_value())
        self._client = client
        return client

    async def _xoauth2(self, client: aiosmtplib.SMTP) -> None:
        """AUTH XOAUTH2; a token the server refuses (revoked, expired early) is replaced once."""
        s = self.settings
        source = token_source(s)
        user = s.smtp_username or s.username
        for attempt in (1, 2):
            token = await source.token()
            try:
                await client.auth_xoauth2(user, token)
                return
            except aiosmtplib.SMTPAuthenticationError:
                source.invalidate(token)
                if attempt == 2:
                    raise

    async def send(self, mail: EmailMessage, recipient: str) -> DeliveryResult:
        async with self._lock:
            for attempt in (1, 2):
                try:
                    client = await self._connected()
                    await client.send_message(mail, sender=self.from_address,
                                              recipients=[recipient])
                    self._last_used = time.monotonic()
                    return DeliveryResult.sent(provider_id=str(mail["Message-ID"]))
                except aiosmtplib.SMTPServerDisconnected as exc:
                    await self.close()
                    if attempt == 2:  # a stale reused session gets one fresh try
                        return classify_error(exc)
                except Exception as exc:
                    await self.close()
                    result = classify_error(exc)
                    log.warning("SMTP send failed: %s", result.reason)
                    return result
        return DeliveryResult.retry("SMTP: no attempt made")

    async def check_login(self) -> bool:
        """Used while paused: does the server accept our login again?"""
        async with self._lock:
            try:
                await self.close()
                await self._connected()
                self._last_used = time.monotonic()
                return True
            except Exception as exc:
                log.warning("SMTP check failed: %s", classify_error(exc).reason)
                await self.close()
                return False

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await asyncio.wait_for(client.quit(), timeout=5)
        except Exception:
            client.close()
