"""Messenger webhook events → InboundMessage. Pure: no network, no database, no clock.

The webhook (channels/messenger.py) splits a POST into one stored payload per event:
``{"key": <inbox external id>, "source": "messaging"|"standby"|"changes", "entry_id", "event"}``.
``parse_payload`` turns one of them back into InboundMessages. One table maps event kinds to
handlers (``EVENT_PARSERS``); anything else is acknowledged as ``ignore`` with a reason.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from normalizer.phones import normalize_phone
from normalizer.schema import CATEGORIES, AttachmentRef, ContactInfo, InboundMessage, Location
from normalizer.text import fold, nfc

CHANNEL = "messenger"
# Postback payloads that mean "start / help", answered with the welcome text, not a report.
START_PAYLOADS = frozenset({"GET_STARTED", "GET_STARTED_PAYLOAD", "START", "HELP", "HUONG_DAN"})
MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "file",
               "reel": "video", "ig_reel": "video"}
# A lone sticker stands for an emoji (no letters: normalizer.dialogue.says_nothing): Meta's
# Like button sends one of three "thumbs-up" stickers (small, medium, large).
LIKE_STICKERS = frozenset({"369239263222822", "369239343222814", "369239383222810"})
LIKE_TEXT = "👍"
STICKER_TEXT = "🙂"
_STATUS_COMMAND = re.compile(r"^\s*/?(?:status|tra cuu|tracuu)\s+(pa-\d{4}-\d+)\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Coordinates inside map links (legacy location URLs wrap a Bing/Google maps link).
_COORDS_IN_URL = re.compile(
    r"(?:where1=|[?&](?:q|ll|query|daddr)=|/@|/place/)\s*(-?\d{1,2}\.\d+)\s*,\s*\+?\s*(-?\d{1,3}\.\d+)")


# --- keys and times ------------------------------------------------------------------------------
def event_key(event: Any) -> str:
    """The inbox external id of one event: the ``mid`` of a citizen message or postback, else a
    stable hash of the event's canonical JSON (so a redelivery gets the same key)."""
    if isinstance(event, dict):
        for field in ("message", "postback"):
            body = event.get(field)
            if isinstance(body, dict) and not body.get("is_echo"):
                mid = body.get("mid")
                if isinstance(mid, str) and mid:
                    return mid[:255]
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def to_datetime(value: Any) -> datetime | None:
    """Meta sends milliseconds as numbers, sometimes seconds or milliseconds as strings."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return None
    if number > 1e11:  # milliseconds (Meta's usual form)
        number /= 1000
    if not 0 < number < 1e10:
        return None
    return datetime.fromtimestamp(number, UTC)


# --- entry point -----------------------------------------------------------------------------
def parse_payload(payload: dict[str, Any]) -> list[InboundMessage]:
    event = payload.get("event", payload)
    key = payload.get("key") or event_key(event)
    if not isinstance(event, dict):
        return [_ignore(key, "", "malformed event")]
    kind = event_kind(event)
    sender = _sender(event)
    if kind is None:
        known = ",".join(sorted(k for k in event if k not in ("sender", "recipient", "timestamp")))
        return [_ignore(key, sender, f"unknown event kind: {known[:60]}")]
    try:
        messages = EVENT_PARSERS[kind](event, key, sender)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type
        return [_ignore(key, sender, f"malformed {kind} event ({type(exc).__name__})")]
    if payload.get("source") == "standby":
        for msg in messages:
            msg.meta["standby"] = True
    return messages


def event_kind(event: dict[str, Any]) -> str | None:
    return next((k for k in EVENT_PARSERS if k in event), None)


def _sender(event: dict[str, Any]) -> str:
    sender = event.get("sender")
    if not isinstance(sender, dict):
        return ""
    if sender.get("id"):
        return str(sender["id"])
    # Checkbox / chat plugin senders without a PSID yet; the Send API accepts a user_ref.
    return f"user_ref:{sender['user_ref']}" if sender.get("user_ref") else ""


def _ignore(key: str, sender: str, reason: str) -> InboundMessage:
    return InboundMessage(channel=CHANNEL, external_id=key, sender_id=sender, kind="ignore",
                          meta={"reason": reason})


# --- handlers ----------------------------------------------------------------------------------
def _message(event: dict[str, Any], key: str, sender: str) -> list[InboundMessage]:
    body = event.get("message")
    if not isinstance(body, dict):
        return [_ignore(key, sender, "malformed message")]
    if body.get("is_echo"):
        return [_ignore(key, sender, "echo of a page message")]
    if not sender:
        return [_ignore(key, sender, "message without sender")]
    text = nfc(body.get("text") if isinstance(body.get("text"), str) else "").strip()
    sent_at = to_datetime(event.get("timestamp"))
    meta: dict[str, Any] = {}
    attachments: list[AttachmentRef] = []
    location: Location | None = None
    for raw in body.get("attachments") or []:
        found = _attachment(raw) if isinstance(raw, dict) else None
        if isinstance(found, Location):
            location = location or found
        elif found is not None:
            attachments.append(found)
    reply_to = body.get("reply_to")
    if isinstance(reply_to, dict) and reply_to.get("mid"):
        meta["reply_to_mid"] = str(reply_to["mid"])
    quick = body.get("quick_reply")
    contact = None
    if isinstance(quick, dict) and quick.get("payload") is not None:
        payload = str(quick["payload"])
        meta["quick_reply_payload"] = payload
        contact = _shared_contact(payload, text)
        if hint := _category_hint(payload):
            meta["category_hint"] = hint
    msg = InboundMessage(channel=CHANNEL, external_id=key, sender_id=sender, text=text,
                         sent_at=sent_at, attachments=attachments, location=location,
                         contact=contact, meta=meta)
    command = _STATUS_COMMAND.match(fold(text)) if text else None
    if command:
        msg.kind, msg.report_code = "command", command.group(1).upper()
        msg.meta["command"] = "status"
    elif _is_category(meta.get("quick_reply_payload")) and location is None and not attachments:
        _choose_category(msg)  # the quick reply's text is its title, not the citizen's words
    elif contact is not None:
        # A phone/e-mail quick reply (user_phone_number / user_email): contact data, no report.
        msg.kind = "contact"
    elif not text and location is None and attachments and all(
            a.kind == "sticker" for a in attachments):
        # A lone sticker (most often the Like) says what an emoji says: the hub treats it as
        # the emoji it stands for (a greeting for a first-time citizen, never a report).
        sticker = str(body.get("sticker_id") or attachments[0].name or "").removeprefix("sticker ")
        msg.text, msg.attachments = LIKE_TEXT if sticker in LIKE_STICKERS else STICKER_TEXT, []
        msg.meta["sticker_id"] = sticker
    elif not text and location is None and not attachments:
        return [_ignore(key, sender, "empty message")]
    return [msg]


def _is_category(payload: str | None) -> bool:
    return bool(payload) and str(payload).upper().startswith("CATEGORY_")


def _category_hint(payload: str) -> str | None:
    """Buttons and quick replies whose payload is ``CATEGORY_<category>`` (see the docs) name
    the category of the report the citizen's next message makes."""
    if _is_category(payload):
        category = payload[len("CATEGORY_"):].lower()
        return category if category in CATEGORIES else None
    return None


def _choose_category(msg: InboundMessage) -> None:
    """A category button or quick reply alone: a command carrying the category (the hub keeps
    it for the citizen's next message and asks them to describe the matter). Its title
    ("Trật tự xây dựng") is no description: it opens no report and never joins one's text."""
    msg.kind, msg.text, msg.meta["command"] = "command", "", "category"


def _shared_contact(payload: str, text: str) -> ContactInfo | None:
    value = payload.strip()
    if text and text.replace(" ", "") != value.replace(" ", ""):
        return None
    if _EMAIL.match(value):
        return ContactInfo(email=value.lower())
    phone = normalize_phone(value)
    return ContactInfo(phone=phone) if phone else None


def _attachment(raw: dict[str, Any]) -> AttachmentRef | Location | None:
    kind = str(raw.get("type") or "")
    payload = raw.get("payload") if isinstance(raw.get("payload"), dict) else {}
    url = payload.get("url") or raw.get("url")
    url = url if isinstance(url, str) and url else None
    title = raw.get("title") or payload.get("title")
    title = nfc(title) if isinstance(title, str) else None
    if kind == "location":
        return _location(payload.get("coordinates"), url)
    if kind == "image" and payload.get("sticker_id"):
        return AttachmentRef(kind="sticker", url=url, name=f"sticker {payload['sticker_id']}")
    if kind in MEDIA_KINDS:
        return AttachmentRef(kind=MEDIA_KINDS[kind], url=url, name=title)
    if kind == "fallback" and url:
        place = _location(None, url)
        return place if place is not None else AttachmentRef(kind="link", url=url, name=title)
    # template, story_mention, product, unknown future types: kept as a link, never fetched.
    return AttachmentRef(kind="link", url=url, name=title or kind or None) if url else None


def _location(coords: Any, url: str | None) -> Location | None:
    """Coordinates only, never the attachment's title as the address: Meta titles a shared
    location "Pinned Location" or "<name>'s Location", localized ("Vị trí của Lan"), so a title
    may name the citizen and would be published with the report; the coordinates give the place."""
    lat = lon = None
    if isinstance(coords, dict):
        lat, lon = _number(coords.get("lat")), _number(coords.get("long", coords.get("lon")))
    if (lat is None or lon is None) and url:
        found = _COORDS_IN_URL.search(unquote(unquote(url)))
        if found:
            lat, lon = float(found.group(1)), float(found.group(2))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Location(lat=lat, lon=lon)


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _edit(event: dict[str, Any], key: str, sender: str) -> list[InboundMessage]:
    body = event.get("message_edit")
    if not isinstance(body, dict) or not body.get("mid") or not sender:
        return [_ignore(key, sender, "malformed message_edit")]
    text = nfc(body.get("text") if isinstance(body.get("text"), str) else "").strip()
    return [InboundMessage(channel=CHANNEL, external_id=key, sender_id=sender, kind="edit",
                           text=text, sent_at=to_datetime(event.get("timestamp")),
                           meta={"edited_external_id": str(body["mid"]),
                                 "num_edit": body.get("num_edit")})]


def _postback(event: dict[str, Any], key: str, sender: str) -> list[InboundMessage]:
    body = event.get("postback")
    if not isinstance(body, dict) or not sender:
        return [_ignore(key, sender, "malformed postback")]
    payload = str(body.get("payload") or "")
    title = nfc(body.get("title") if isinstance(body.get("title"), str) else "").strip()
    meta: dict[str, Any] = {"postback_payload": payload, "postback_title": title}
    referral = body.get("referral")
    if isinstance(referral, dict) and referral.get("ref"):
        meta["referral_ref"] = str(referral["ref"])[:200]
    if hint := _category_hint(payload):
        meta["category_hint"] = hint
    msg = InboundMessage(channel=CHANNEL, external_id=key, sender_id=sender, text=title,
                         sent_at=to_datetime(event.get("timestamp")), meta=meta)
    if _is_category(payload):
        _choose_category(msg)
    elif payload.upper() in START_PAYLOADS or not title:
        msg.kind, msg.text, msg.meta["command"] = "command", "", "start"
    return [msg]


def _receipt(state: str) -> Callable[[dict[str, Any], str, str], list[InboundMessage]]:
    def parse(event: dict[str, Any], key: str, sender: str) -> list[InboundMessage]:
        body = event.get(state)
        if not isinstance(body, dict):
            return [_ignore(key, sender, f"malformed {state}")]
        meta: dict[str, Any] = {"delivery_state": "delivered" if state == "delivery" else "read"}
        mids = body.get("mids")
        if isinstance(mids, list) and mids:
            meta["provider_ids"] = [str(m) for m in mids]
        watermark = to_datetime(body.get("watermark"))
        if watermark is not None:
            meta["watermark"] = watermark
        return [InboundMessage(channel=CHANNEL, external_id=key, sender_id=sender,
                               kind="delivery", sent_at=to_datetime(event.get("timestamp")),
                               meta=meta)]
    return parse


def _ignored(reason: str) -> Callable[[dict[str, Any], str, str], list[InboundMessage]]:
    def parse(event: dict[str, Any], key: str, sender: str) -> list[InboundMessage]:
        return [_ignore(key, sender, reason)]
    return parse


# Event kind → handler. The supported set is derived from this table; order matters only when
# an event carries several kinds (it never does in Meta's formats).
EVENT_PARSERS: dict[str, Callable[[dict[str, Any], str, str], list[InboundMessage]]] = {
    "message": _message,
    "message_edit": _edit,
    "postback": _postback,
    "delivery": _receipt("delivery"),
    "read": _receipt("read"),
    "reaction": _ignored("reaction"),
    "referral": _ignored("referral"),
    "optin": _ignored("optin"),
    "account_linking": _ignored("account linking"),
    "pass_thread_control": _ignored("handover"),
    "take_thread_control": _ignored("handover"),
    "request_thread_control": _ignored("handover"),
    "policy_enforcement": _ignored("policy enforcement"),
}
