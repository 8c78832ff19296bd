"""Zalo OA webhook events → InboundMessages. Pure: no network, no database, no clock.

One table (``HANDLERS``) maps ``event_name`` to its handler; the supported set is derived from it.
Ids and timestamps stay strings (they exceed 2^53): the webhook parses JSON with
``parse_int=str`` so nothing is ever rounded through a float.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from normalizer.jsonsafe import loads_bounded
from normalizer.schema import AttachmentRef, ContactInfo, InboundMessage, Location

CHANNEL = "zalo"
TEXT_EVENTS_PREFIXES = ("user_send_", "anonymous_send_")
ATTACHMENT_KINDS = {"image": "image", "gif": "image", "audio": "audio", "video": "video",
                    "file": "file", "link": "link", "sticker": "sticker"}
GIF_TYPE = "image/gif"


def loads(raw: bytes | str) -> Any:
    """JSON with every number kept as its exact source text (ids, timestamps, coordinates);
    depth bounded before parsing (JSONRefused, a ValueError, for a body nested too deep)."""
    return loads_bounded(raw, parse=lambda r: json.loads(r, parse_int=str, parse_float=str))


def external_id(payload: dict[str, Any]) -> str:
    """The inbox dedupe key. A citizen's message: its ``msg_id``. Anything else (follow, shared
    info, receipts of OUR message ids, echoes) is keyed by event name plus the msg_id or a stable
    hash of the payload, so a receipt never collides with the message it confirms."""
    name = str(payload.get("event_name") or "unknown")
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    msg_id = message.get("msg_id")
    if not _is_id(msg_id):
        msg_id = None  # a wrongly typed msg_id (a list, an object) never becomes a key
    if msg_id and name.startswith(TEXT_EVENTS_PREFIXES):
        return str(msg_id)
    if msg_id:
        return f"{name}:{msg_id}"
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{name}:h:{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"


def sent_at(payload: dict[str, Any]) -> datetime | None:
    """Zalo timestamps are milliseconds as strings; a seconds value is accepted too."""
    raw = str(payload.get("timestamp") or "").strip()
    if not raw.isdigit():
        return None
    value = int(raw)
    seconds = value / 1000 if value > 10**11 else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _is_id(value: Any) -> bool:
    """An id as Zalo sends it: a non-empty string, or a number (kept as its digits by ``loads``)."""
    if isinstance(value, bool):
        return False
    return (isinstance(value, str) and bool(value.strip())) or isinstance(value, int)


def _id(node: Any) -> str:
    if not isinstance(node, dict) or not _is_id(node.get("id")):
        return ""
    return str(node["id"])


# --- shape check --------------------------------------------------------------------------------
# A correctly signed event may still carry fields of the wrong type (a list for the text, a
# string for the sender). Such an event is acknowledged and ignored — never a report made of
# "['a']" for an unreachable citizen. Problems name the field only, never its value (logged).
_PARTIES = ("sender", "recipient", "follower")
_ATTACHMENT_TEXT = ("url", "name", "title", "thumbnail", "checksum", "type")


def _optional_str(node: dict[str, Any], key: str) -> bool:
    return node.get(key) is None or isinstance(node.get(key), str)


def _optional_id(node: dict[str, Any], key: str) -> bool:
    return node.get(key) is None or _is_id(node.get(key))


def _attachment_problem(index: int, item: Any) -> str | None:
    where = f"message.attachments[{index}]"
    if not isinstance(item, dict):
        return f"{where} is not an object"
    if not isinstance(item.get("type"), str):
        return f"{where}.type is not a string"
    body = item.get("payload")
    if body is None:
        return None
    if not isinstance(body, dict):
        return f"{where}.payload is not an object"
    for key in _ATTACHMENT_TEXT:
        if not _optional_str(body, key):
            return f"{where}.payload.{key} is not a string"
    if not (body.get("description") is None or isinstance(body["description"], str | dict)):
        return f"{where}.payload.description is neither a string nor an object"
    if not _optional_id(body, "size"):
        return f"{where}.payload.size is not a number"
    if not (body.get("coordinates") is None or isinstance(body["coordinates"], dict)):
        return f"{where}.payload.coordinates is not an object"
    return None


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "message is not an object"
    if not _optional_str(message, "text"):
        return "message.text is not a string"
    for key in ("msg_id", "conversation_id"):
        if not _optional_id(message, key):
            return f"message.{key} is not a string or number"
    ids = message.get("msg_ids")
    if ids is not None and not (isinstance(ids, list) and all(_is_id(i) for i in ids)):
        return "message.msg_ids is not a list of ids"
    items = message.get("attachments")
    if items is not None:
        if not isinstance(items, list):
            return "message.attachments is not a list"
        for index, item in enumerate(items):
            problem = _attachment_problem(index, item)
            if problem:
                return problem
    if not (message.get("location") is None or isinstance(message["location"], dict)):
        return "message.location is not an object"
    return None


def shape_problem(payload: dict[str, Any]) -> str | None:
    """What is wrongly typed in a (signed) event, or None when its shape is usable."""
    name = payload.get("event_name")
    if not isinstance(name, str):
        return "event_name is not a string"
    for party in _PARTIES:
        node = payload.get(party)
        if node is not None and not _id(node):
            return f"{party} is not an object with an id"
    if payload.get("message") is not None or name.startswith(TEXT_EVENTS_PREFIXES):
        problem = _message_problem(payload.get("message"))
        if problem:
            return problem
    if name.startswith(TEXT_EVENTS_PREFIXES) or name == "user_submit_info":
        if not _id(payload.get("sender")):
            return "sender is missing"
    if name in ("follow", "unfollow") and not (_id(payload.get("follower"))
                                               or _id(payload.get("sender"))):
        return "follower is missing"
    info = payload.get("info")
    if info is not None:
        if not isinstance(info, dict):
            return "info is not an object"
        for key, value in info.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
                return f"info.{str(key)[:20]} is not a string"
    return None


def _message(payload: dict[str, Any]) -> dict[str, Any]:
    message = payload.get("message")
    return message if isinstance(message, dict) else {}


def _text(value: Any) -> str:
    from normalizer.text import nfc

    return nfc(str(value)).strip() if value is not None else ""


def _base(payload: dict[str, Any], sender: str, kind: str, **fields: Any) -> InboundMessage:
    meta = fields.pop("meta", {})
    meta.setdefault("event_name", payload.get("event_name"))
    return InboundMessage(channel=CHANNEL, external_id=external_id(payload), sender_id=sender,
                          kind=kind, sent_at=sent_at(payload), meta=meta, **fields)  # type: ignore[arg-type]


def _attachments(message: dict[str, Any]) -> list[dict[str, Any]]:
    items = message.get("attachments")
    return [a for a in items if isinstance(a, dict)] if isinstance(items, list) else []


def _size(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _attachment(item: dict[str, Any]) -> AttachmentRef | None:
    kind = ATTACHMENT_KINDS.get(str(item.get("type") or ""))
    payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
    url = payload.get("url")
    if kind is None or not url:
        return None
    content_type = GIF_TYPE if item.get("type") == "gif" else None
    name = payload.get("name") or (payload.get("description") if kind == "link" else None)
    return AttachmentRef(kind=kind, url=str(url), content_type=content_type,
                         name=_text(name) or None, size=_size(payload.get("size")))


def _coordinates(message: dict[str, Any]) -> tuple[float, float] | None:
    """Coordinates come as strings, in ``attachments[].payload.coordinates`` (documented) or a
    ``location`` object (seen in the wild)."""
    candidates = [a.get("payload", {}).get("coordinates") for a in _attachments(message)
                  if isinstance(a.get("payload"), dict)]
    candidates.append(message.get("location"))
    for node in candidates:
        if not isinstance(node, dict):
            continue
        lat = node.get("latitude", node.get("lat"))
        lon = node.get("longitude", node.get("long", node.get("lon")))
        try:
            lat_f, lon_f = float(str(lat)), float(str(lon))
        except ValueError:
            continue
        if -90 <= lat_f <= 90 and -180 <= lon_f <= 180:
            return lat_f, lon_f
    return None


def _sender(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The citizen's id and the reply routing. Anonymous chats reply through the anonymous id
    and the conversation id; everyone else through ``sender.id`` (never ``user_id_by_app``)."""
    sender = _id(payload.get("sender"))
    if str(payload.get("event_name", "")).startswith("anonymous_"):
        conversation = str(_message(payload).get("conversation_id") or "")
        meta = {"reply_address": f"anonymous:{sender}:{conversation}", "anonymous": True}
        return f"anonymous:{sender}", meta
    return sender, {}


def user_message(payload: dict[str, Any]) -> list[InboundMessage]:
    """user_send_text|image|link|audio|video|gif|file|location (and anonymous_send_*)."""
    message = _message(payload)
    sender, meta = _sender(payload)
    text = _text(message.get("text"))
    attachments = [a for a in (_attachment(i) for i in _attachments(message)) if a is not None]
    location = None
    coords = _coordinates(message)
    if coords is not None:
        # The place name, when Zalo gives one, is the message text: it is the address.
        location = Location(lat=coords[0], lon=coords[1], address=text or None)
        text = ""
    if str(payload.get("event_name")).endswith("_link") and text in {a.url for a in attachments}:
        text = ""  # the link's own URL repeated as text adds nothing
    return [_base(payload, sender, "message", text=text, attachments=attachments,
                  location=location, reply_context=dict(meta), meta=meta)]


def sticker(payload: dict[str, Any]) -> list[InboundMessage]:
    """A sticker alone carries nothing for a report (no text, no place, no evidence)."""
    sender, meta = _sender(payload)
    return [_base(payload, sender, "ignore", meta={**meta, "reason": "sticker"})]


def business_card(payload: dict[str, Any]) -> list[InboundMessage]:
    """A contact card may be anyone's (a landlord, a contractor): kept as report text, never
    taken as the citizen's own phone."""
    message = _message(payload)
    sender, meta = _sender(payload)
    parts = []
    for item in _attachments(message):
        body = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        card: dict[str, Any] = {}
        description = body.get("description")
        if isinstance(description, str) and description.startswith("{"):
            try:
                card = json.loads(description)
            except ValueError:
                card = {}
        elif isinstance(description, dict):
            card = description
        name = _text(body.get("title") or card.get("name"))
        phone = _text(card.get("phone"))
        if name or phone:
            parts.append(" ".join(p for p in ("Danh thiếp:", name, phone) if p))
    text = "\n".join(p for p in (_text(message.get("text")), *parts) if p)
    return [_base(payload, sender, "message", text=text, reply_context=dict(meta),
                  meta={**meta, "business_card": True})]


def follow(payload: dict[str, Any]) -> list[InboundMessage]:
    following = payload.get("event_name") == "follow"
    user = _id(payload.get("follower")) or _id(payload.get("sender"))
    return [_base(payload, user, "contact", meta={
        "contact_state": "active" if following else "unfollowed",
        "source": payload.get("source"), "citizen_initiated": following})]


def submit_info(payload: dict[str, Any]) -> list[InboundMessage]:
    """The citizen answered our request-user-info template: name, phone, address."""
    from normalizer.phones import normalize_phone

    info = payload.get("info") if isinstance(payload.get("info"), dict) else {}
    phone = normalize_phone(str(info.get("phone") or "")) if info.get("phone") else None
    address = ", ".join(p for p in (_text(info.get(k)) for k in ("address", "ward", "district",
                                                                     "city")) if p) or None
    meta: dict[str, Any] = {"contact_address": address} if address else {}
    return [_base(payload, _id(payload.get("sender")), "contact",
                  contact=ContactInfo(name=_text(info.get("name")) or None, phone=phone),
                  meta=meta)]


def receipt(payload: dict[str, Any]) -> list[InboundMessage]:
    """Delivery/seen receipts of our messages. Zalo inverts the roles here: ``sender`` is the OA
    and ``recipient`` the citizen; ``msg_ids`` (a list) or ``msg_id`` name OUR message ids."""
    message = _message(payload)
    ids = message.get("msg_ids")
    ids = [str(i) for i in ids] if isinstance(ids, list) else []
    if message.get("msg_id"):
        ids.append(str(message["msg_id"]))
    state = "seen" if payload.get("event_name") == "user_seen_message" else "delivered"
    user = _id(payload.get("recipient")) or _id(payload.get("sender"))
    return [_base(payload, user, "delivery", meta={
        "provider_ids": list(dict.fromkeys(ids)), "delivery_state": state})]


def echo(payload: dict[str, Any]) -> list[InboundMessage]:
    return [_base(payload, _id(payload.get("recipient")), "ignore",
                  meta={"reason": "echo of an OA message"})]


def reaction(payload: dict[str, Any]) -> list[InboundMessage]:
    return [_base(payload, _id(payload.get("sender")), "ignore", meta={"reason": "reaction"})]


Handler = Callable[[dict[str, Any]], list[InboundMessage]]

HANDLERS: dict[str, Handler] = {
    **{f"user_send_{k}": user_message
       for k in ("text", "image", "link", "audio", "video", "gif", "file", "location")},
    "user_send_sticker": sticker,
    "user_send_business_card": business_card,
    **{f"anonymous_send_{k}": user_message for k in ("text", "image", "file")},
    "anonymous_send_sticker": sticker,
    "follow": follow,
    "unfollow": follow,
    "user_submit_info": submit_info,
    "user_received_message": receipt,
    "user_seen_message": receipt,
    "user_reacted_message": reaction,
    "oa_reacted_message": reaction,
}
SUPPORTED_EVENTS = frozenset(HANDLERS)


def _malformed(payload: dict[str, Any], reason: str) -> list[InboundMessage]:
    return [InboundMessage(channel=CHANNEL, external_id=external_id(payload),
                           sender_id=_id(payload.get("sender")) or "unknown", kind="ignore",
                           sent_at=sent_at(payload), meta={"reason": reason})]


def parse_event(payload: dict[str, Any]) -> list[InboundMessage]:
    problem = shape_problem(payload)
    if problem:
        # Deterministic: retrying would fail the same way, so acknowledge it and log why.
        return _malformed(payload, f"malformed event: {problem}")
    name = str(payload.get("event_name") or "")
    handler = HANDLERS.get(name)
    if handler is None and name.startswith("oa_send_"):
        handler = echo
    if handler is None:
        return [_base(payload, _id(payload.get("sender")) or "unknown", "ignore",
                      meta={"reason": f"unknown event {name[:40]}"})]
    try:
        return handler(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type
        return _malformed(payload, f"malformed {name[:40]} event ({type(exc).__name__})")
