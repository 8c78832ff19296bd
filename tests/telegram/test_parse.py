"""Telegram parsing rules beyond the fixtures (tests/test_channel_fixtures.py runs every update in
tests/fixtures/telegram against its .expected.json). parse_update is pure (Update.de_json builds
objects, no network)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from channels.telegram.parse import FILE_URL_PREFIX, UPDATE_HANDLERS, parse_update
from normalizer.schema import AttachmentRef, ContactInfo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"
F = FILE_URL_PREFIX


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_largest_photo_wins_whatever_the_order() -> None:
    data = load("message__photo")
    data["message"]["photo"].reverse()
    [msg] = parse_update(data)
    assert msg.attachments == [AttachmentRef(kind="image", url=F + "AgACAgUAAxkBAAIBZ2Wphoto_x",
                                             content_type="image/jpeg", size=98211)]


def test_nfd_text_is_normalized_to_nfc() -> None:
    import unicodedata

    data = load("message__text")
    data["message"]["text"] = unicodedata.normalize("NFD", "Rác ở đường Hùng Vương")
    [msg] = parse_update(data)
    assert msg.text == unicodedata.normalize("NFC", "Rác ở đường Hùng Vương")


def test_foreign_contact_number_keeps_its_country() -> None:
    data = load("message__contact_own")
    data["message"]["contact"]["phone_number"] = "12025550123"  # a tourist's US number, no "+"
    [msg] = parse_update(data)
    assert msg.contact == ContactInfo(name="Minh Trần", phone="+12025550123")


def test_handled_kinds_are_the_table() -> None:
    assert set(UPDATE_HANDLERS) == {"message", "edited_message", "my_chat_member"}


@pytest.mark.parametrize("payload", [{"update_id": 9, "message": {"text": "no chat, no date"}},
                                     {"update_id": 9, "message": "not an object"},
                                     {"update_id": 9, "my_chat_member": {"chat": {"id": 1}}}])
def test_malformed_update_is_ignored_not_retried(payload: dict[str, Any]) -> None:
    [msg] = parse_update(payload)
    assert msg.kind == "ignore" and msg.meta["reason"].startswith("malformed update")
