"""SMS through an HTTP gateway: the body from a template in settings, an auth header, Vietnamese
text split into at most ``sms_max_parts`` messages of ``sms_max_chars`` (the rest trimmed).

Vietnamese with diacritics is UCS-2 on the air (70 characters per SMS, 67 in a multi-part
message); gateways that only take GSM-7 text want ``sms_unaccented = true``. Parts of one
outbox message carry the reference ``<idempotency key>-<part>``, and the parts already accepted
are remembered in ``channel_state``, so a retry after a failure half-way sends only the rest.
"""
from __future__ import annotations

import json
import logging
import re
import unicodedata
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import aiohttp

from normalizer.schema import DeliveryResult, OutboundMessage

if TYPE_CHECKING:
    from channels.base import ChannelContext
    from channels.hotline.settings import HotlineSettings

log = logging.getLogger("hub.channels.hotline")

PLACEHOLDERS = ("phone", "phone_digits", "phone_national", "text", "ref", "code", "part", "parts")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_SPACES = re.compile(r"[ \t]+")
_ID_FIELDS = ("id", "message_id", "messageId", "sms_id", "SMSID", "smsid", "msgid")


def unaccented(text: str) -> str:
    """Vietnamese without diacritics (đ→d, Đ→D), case kept: what GSM-7 gateways accept."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


_LINK = re.compile(r"https?://\S+")
# A link with or without its scheme ("phananh.hue.gov.vn/r/PA-…"): a part never ends inside one.
_ANY_LINK = re.compile(r"(?:https?://)?[\w-]+(?:\.[\w-]+)+/\S*")


def sms_parts(text: str, max_chars: int, max_parts: int = 1, strip_accents: bool = False) -> list[str]:
    """Split at spaces into parts of at most ``max_chars`` (each numbered "(1/3)" when there are
    several); text beyond ``max_parts`` parts is trimmed with an ellipsis. A link is never cut
    or split over two SMS (a part ends before it instead; one longer than a part loses its
    "https://", which phones link without): a broken rating or status link is worse than a
    shorter note."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if strip_accents:
        text = unaccented(text)
    ellipsis = "..." if strip_accents else "…"
    if len(text) <= max_chars:
        return [text]
    if max_parts <= 1:
        return [_trim(_fit_links(text, max_chars), max_chars - len(ellipsis)) + ellipsis]
    size = max_chars - len(f" ({max_parts}/{max_parts})")
    text = _fit_links(text, size)
    chunks: list[str] = []
    rest = text
    while rest:
        if len(chunks) == max_parts - 1 and len(rest) > size:
            chunks.append(_trim(rest, size - len(ellipsis)) + ellipsis)
            break
        if len(rest) <= size:
            chunks.append(rest)
            break
        piece = _trim(rest, size)
        chunks.append(piece)
        rest = rest[len(piece):].lstrip()
    n = len(chunks)
    return [f"{c} ({i}/{n})" for i, c in enumerate(chunks, 1)]


def _fit_links(text: str, size: int) -> str:
    """Links longer than a part without their scheme (``phananh.hue.gov.vn/r/…``)."""
    return _LINK.sub(lambda m: m[0].split("://", 1)[1] if len(m[0]) > size else m[0], text)


def _trim(text: str, size: int) -> str:
    """At most ``size`` characters, cut at the last space when there is one in the second half,
    and never inside a link (before it instead)."""
    if len(text) <= size:
        return text
    cut = text.rfind(" ", 0, size + 1)
    cut = cut if cut > size // 2 else size
    for link in _ANY_LINK.finditer(text, 0, size + 1):
        if link.start() < cut < link.end() and link.start() > 0:
            cut = link.start()
            break
    return text[:cut].rstrip()


def render_body(template: str, values: dict[str, str]) -> tuple[bytes, str]:
    """The request body: a JSON template gets its string values filled (escaped by json), any
    other template is form-encoded (values URL-encoded)."""
    try:
        tree = json.loads(template)
    except ValueError:
        body = _PLACEHOLDER.sub(lambda m: quote_plus(values.get(m[1], "")), template)
        return body.encode(), "application/x-www-form-urlencoded"

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            return _PLACEHOLDER.sub(lambda m: values.get(m[1], ""), node)
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node

    return json.dumps(fill(tree), ensure_ascii=False).encode(), "application/json"


def auth_header(setting: str) -> dict[str, str]:
    """``"X-Api-Key: abc"`` → that header; a bare value → ``Authorization: <value>``."""
    if not setting:
        return {}
    name, sep, value = setting.partition(":")
    if sep and name.strip() and " " not in name.strip():
        return {name.strip(): value.strip()}
    return {"Authorization": setting.strip()}


def phone_forms(e164: str) -> dict[str, str]:
    digits = e164.lstrip("+")
    national = "0" + digits[2:] if digits.startswith("84") else digits
    return {"phone": e164, "phone_digits": digits, "phone_national": national}


class SmsSender:
    """The "sms" outbox sender: one HTTP POST per part to the configured gateway."""

    name = "sms"

    def __init__(self, ctx: ChannelContext, cfg: HotlineSettings) -> None:
        self.ctx, self.cfg = ctx, cfg

    @property
    def configured(self) -> bool:
        return bool(self.cfg.sms_gateway_url)

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        if not self.configured:
            return DeliveryResult.give_up("no SMS gateway configured", needs_other_route=True)
        if not re.fullmatch(r"\+\d{8,15}", address or ""):
            return DeliveryResult.give_up("address is not a phone number", needs_other_route=True)
        cfg = self.cfg
        parts = sms_parts(message.text, cfg.sms_max_chars, cfg.sms_max_parts, cfg.sms_unaccented)
        key = message.idempotency_key or ""
        done = await self._sent_parts(key) if len(parts) > 1 and key else {}
        for index, part in enumerate(parts, 1):
            if str(index) in done:
                continue
            values = {**phone_forms(address), "text": part, "code": message.report_code or "",
                      "ref": f"{key}-{index}" if key else "", "part": str(index),
                      "parts": str(len(parts))}
            result = await self._post(values)
            if result.status != "sent":
                return result
            done[str(index)] = result.provider_id or values["ref"]
            if len(parts) > 1 and key and index < len(parts):
                await self._remember(key, done)
        if len(parts) > 1 and key:
            await self._forget(key)
        ids = [done[str(i)] for i in range(1, len(parts) + 1) if done.get(str(i))]
        return DeliveryResult.sent(provider_id=",".join(ids)[:255] or None)

    async def _post(self, values: dict[str, str]) -> DeliveryResult:
        body, content_type = render_body(self.cfg.sms_body_template, values)
        headers = {"Content-Type": content_type,
                   **auth_header(self.cfg.sms_auth_header.get_secret_value())}
        if values.get("ref"):
            headers["Idempotency-Key"] = values["ref"]
        timeout = aiohttp.ClientTimeout(total=self.cfg.sms_timeout_seconds)
        try:
            async with self.ctx.http.post(self.cfg.sms_gateway_url, data=body, headers=headers,
                                          timeout=timeout) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return DeliveryResult.retry(f"SMS gateway unreachable: {type(exc).__name__}")
        if 200 <= status < 300:
            return DeliveryResult.sent(provider_id=_provider_id(raw))
        if status == 429:
            return DeliveryResult.retry("SMS gateway rate limit (HTTP 429)",
                                        retry_after=_seconds(retry_after))
        if status in (401, 403):
            return DeliveryResult.paused(f"SMS gateway refused the credentials (HTTP {status})")
        if status >= 500 or status == 408:
            return DeliveryResult.retry(f"SMS gateway error (HTTP {status})",
                                        retry_after=_seconds(retry_after))
        return DeliveryResult.give_up(f"SMS gateway refused the message (HTTP {status})",
                                      needs_other_route=True)

    # Parts already accepted by the gateway, per outbox message (multi-part messages only).
    async def _sent_parts(self, key: str) -> dict[str, str]:
        from store.models import ChannelState

        async with self.ctx.sessions() as session:
            row = await session.get(ChannelState, f"hotline:sms:{key}")
            return dict(row.value.get("parts", {})) if row is not None else {}

    async def _remember(self, key: str, done: dict[str, str]) -> None:
        from store.models import ChannelState

        async with self.ctx.sessions() as session, session.begin():
            row = await session.get(ChannelState, f"hotline:sms:{key}")
            if row is None:
                session.add(ChannelState(key=f"hotline:sms:{key}", value={"parts": dict(done)}))
            else:
                row.value, row.version = {"parts": dict(done)}, row.version + 1

    async def _forget(self, key: str) -> None:
        from sqlalchemy import delete

        from store.models import ChannelState

        async with self.ctx.sessions() as session, session.begin():
            await session.execute(delete(ChannelState).where(ChannelState.key == f"hotline:sms:{key}"))


def _provider_id(raw: bytes) -> str | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if isinstance(data, dict):
        for name in _ID_FIELDS:
            if data.get(name) not in (None, ""):
                return str(data[name])[:120]
    return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
