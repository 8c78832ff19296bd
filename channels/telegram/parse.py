"""Telegram updates → InboundMessages (pure: ``Update.de_json`` only builds objects)."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from telegram import Bot, Message, Update

from normalizer.phones import normalize_phone
from normalizer.schema import AttachmentRef, ContactInfo, InboundMessage, Location
from normalizer.text import nfc

FILE_URL_PREFIX = "tg-file:"
COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.S)
REPORT_CODE_RE = re.compile(r"\bPA-\d{4}-\d{6,}\b", re.I)


def parse_update(payload: dict[str, Any], bot: Bot | None = None) -> list[InboundMessage]:
    """One stored update → InboundMessages. ``Update.de_json`` builds objects only (no I/O)."""
    external_id = str(payload.get("update_id", ""))
    try:
        update = Update.de_json(payload, bot)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        # Deterministic: retrying would fail the same way, so acknowledge and log it.
        return [_ignore(external_id, "", f"malformed update ({type(exc).__name__})")]
    for attribute, handler in UPDATE_HANDLERS.items():
        value = getattr(update, attribute, None)
        if value is not None:
            try:
                return handler(external_id, value)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:  # wrong types inside
                return [_ignore(external_id, "", f"malformed update ({type(exc).__name__})")]
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
    group = message.chat.type != "private"
    if group and command != "status":
        command = "group"  # /start, /help in a group: pointed to a private chat, not welcomed
    code = args[0].upper() if command == "status" and args else None
    # In a group the chat is the group: a member's name is not the group's contact name.
    return InboundMessage(channel="telegram", external_id=external_id, sender_id=sender,
                          kind="command", text=text, sent_at=message.date, report_code=code,
                          contact=None if group else _person(message),
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
    if message.chat.type != "private":
        # A group or a supergroup: everyone there reads the answers, and its members are not
        # one citizen. No report is made and nothing is asked (a phone, a place); the group is
        # told once in a while to write to the bot privately (router.commands, "group").
        # Commands (/status PA-…) are still answered, with the public status.
        return [InboundMessage(channel="telegram", external_id=external_id, sender_id=sender,
                               kind="command", sent_at=message.date,
                               meta={"command": "group",
                                     "telegram_message_id": message.message_id})]
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
        # Someone else's card (a witness, the site's owner): part of the report's content, never
        # the answer to "your phone?" (as a Zalo business card).
        text = "\n".join(p for p in (text, f"Liên hệ: {name or ''} {phone or shared.phone_number}".strip())
                         if p)
        meta["business_card"] = True
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
    if message.chat.type != "private":
        return [_ignore(external_id, sender, "edit in a group (no reports from groups)")]
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
