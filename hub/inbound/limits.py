"""What a parsed message may carry into the store, enforced in one place for every channel.

- Free text has a clear limit (``TEXT_MAX`` characters for a message, ``FIELD_MAX`` for names,
  phones, emails, addresses): longer text is cut, with ``meta["truncated"]`` listing the fields,
  so a 900 KB name or a 450 KB chat message is neither stored whole nor lost.
- NUL characters are removed from every string: PostgreSQL refuses them in text columns, which
  would fail the event after its acknowledgement.
- Provider timestamps are clamped to a window around the time we received the event: a signed
  event dated 2100 must not set ``last_message_at`` to 2100 or schedule anything then.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from normalizer.schema import FIELD_MAX, TEXT_MAX, InboundMessage

# How far before its receipt a provider may date an event (hotline backfills are older than
# chat redeliveries; a call log older than this is imported at its receipt time).
PAST_WINDOW = timedelta(days=400)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v) for v in value)
    return value


def _cut(value: str | None, limit: int, label: str, cut: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):  # a provider's number where text belongs (fuzzing found it)
        value = str(value)
    value = _clean(value)
    if len(value) > limit:
        cut.append(label)
        return value[:limit - 1] + "…"
    return value


def bound_message(msg: InboundMessage) -> InboundMessage:
    """Strip NULs and cut over-long free text, in place (the message is ours after parsing)."""
    cut: list[str] = []
    msg.text = _cut(msg.text, TEXT_MAX, "text", cut) or ""
    for name in ("sender_id", "external_id", "report_code"):
        setattr(msg, name, _cut(getattr(msg, name), FIELD_MAX[name], name, cut))
    if msg.contact is not None:
        msg.contact = dataclasses.replace(msg.contact, **{
            f: _cut(getattr(msg.contact, f), FIELD_MAX[f], f"contact.{f}", cut)
            for f in ("name", "phone", "email")})
    if msg.location is not None:
        msg.location = dataclasses.replace(
            msg.location, address=_cut(msg.location.address, FIELD_MAX["address"], "address", cut),
            ward=_cut(msg.location.ward, FIELD_MAX["ward"], "ward", cut))
    msg.attachments = [dataclasses.replace(
        a, name=_cut(a.name, FIELD_MAX["name"], "attachment.name", cut),
        url=_clean(a.url), content_type=_cut(a.content_type, 128, "attachment.type", cut))
        for a in msg.attachments]
    msg.reply_context = _clean(msg.reply_context)
    msg.meta = _clean(msg.meta)
    for key in ("reply_address", "contact_address"):
        if isinstance(msg.meta.get(key), str):
            msg.meta[key] = _cut(msg.meta[key], FIELD_MAX["address"], key, cut)
    if cut:
        msg.meta["truncated"] = cut
    return msg


def clamp_time(value: Any, received: datetime, skew: timedelta) -> Any:
    """A provider time within [received − PAST_WINDOW, received + skew], else ``received``."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None or received.tzinfo is None:
        return value  # naive times are compared nowhere; leave them as parsed
    if value > received + skew or value < received - PAST_WINDOW:
        return received
    return value


def clamp_times(msg: InboundMessage, received: datetime, skew: timedelta) -> InboundMessage:
    msg.sent_at = clamp_time(msg.sent_at, received, skew)
    for key in ("created_at", "watermark"):
        if key in msg.meta:
            msg.meta[key] = clamp_time(msg.meta[key], received, skew)
    return msg
