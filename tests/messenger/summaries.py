"""Compact, comparable views of parsed messages (only the fields a fixture is about)."""
from __future__ import annotations

from typing import Any

from normalizer.schema import InboundMessage

META_KEYS = ("reason", "edited_external_id", "command", "quick_reply_payload", "reply_to_mid",
             "postback_payload", "category_hint", "provider_ids", "delivery_state", "watermark", "standby")


def summarize(msg: InboundMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": msg.kind,
                           "id": "HASH" if msg.external_id.startswith("h:") else msg.external_id,
                           "sender": msg.sender_id}
    if msg.text:
        out["text"] = msg.text
    if msg.sent_at is not None:
        out["sent_at"] = msg.sent_at.isoformat()
    if msg.attachments:
        out["attachments"] = [(a.kind, a.url) for a in msg.attachments]
    if msg.location is not None:
        out["location"] = (msg.location.lat, msg.location.lon, msg.location.address)
    if msg.contact is not None:
        out["contact"] = {k: v for k, v in (("phone", msg.contact.phone),
                                            ("email", msg.contact.email)) if v}
    if msg.report_code:
        out["report_code"] = msg.report_code
    for key in META_KEYS:
        if key in msg.meta:
            value = msg.meta[key]
            out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
