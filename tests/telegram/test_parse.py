"""One line per fixture: the stored Telegram update → the InboundMessage the worker applies.
parse_update is pure (Update.de_json builds objects, no network)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.telegram.parse import FILE_URL_PREFIX, UPDATE_HANDLERS, parse_update
from normalizer.schema import AttachmentRef, ContactInfo, InboundMessage, Location

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"
CHAT = "512340001"
GROUP = "-4012345678"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def summary(msg: InboundMessage) -> dict[str, Any]:
    """The fields a fixture's expectation names (anything not named is not compared)."""
    return {"kind": msg.kind, "sender": msg.sender_id, "text": msg.text,
            "attachments": [(a.kind, a.url, a.content_type) for a in msg.attachments],
            "location": msg.location, "contact": msg.contact, "code": msg.report_code,
            "command": msg.meta.get("command"), "reason": msg.meta.get("reason"),
            "contact_state": msg.meta.get("contact_state")}


MINH = ContactInfo(name="Minh Trần")
F = FILE_URL_PREFIX
CASES: list[tuple[str, dict[str, Any]]] = [
    ("message__text", {"kind": "message", "sender": CHAT, "contact": MINH, "attachments": [],
                       "text": "Đường Lê Lợi trước số nhà 12 có ổ gà rất lớn, xe máy đi qua dễ ngã, đề nghị sửa gấp."}),
    ("message__photo", {"kind": "message", "text": "Rác thải đổ trộm ven sông Hương, đoạn gần cầu Dã Viên",
                        "attachments": [("image", F + "AgACAgUAAxkBAAIBZ2Wphoto_x", "image/jpeg")]}),
    ("message__video", {"kind": "message", "attachments": [("video", F + "BAACAgUAAxkBAAIBvideo01", "video/mp4")],
                        "text": "Quán nhậu lấn chiếm vỉa hè đường Phạm Ngũ Lão buổi tối"}),
    ("message__document", {"kind": "message", "attachments": [("file", F + "BQACAgUAAxkBAAIBdoc01", "application/pdf")]}),
    ("message__document_image", {"kind": "message", "text": "",
                                 "attachments": [("image", F + "BQACAgUAAxkBAAIBdocimg", "image/jpeg")]}),
    ("message__voice", {"kind": "message", "attachments": [("audio", F + "AwACAgUAAxkBAAIBvoice01", "audio/ogg")]}),
    ("message__location", {"kind": "message", "text": "", "attachments": [],
                           "location": Location(lat=16.463713, lon=107.590866)}),
    ("message__venue", {"kind": "message", "location": Location(
        lat=16.4676, lon=107.5791, address="Chợ Đông Ba, 2 Trần Hưng Đạo, Phú Hòa, Huế")}),
    ("message__contact_own", {"kind": "contact", "sender": CHAT,
                              "contact": ContactInfo(name="Minh Trần", phone="+84905123456")}),
    ("message__contact_other", {"kind": "message", "contact": MINH,
                                "text": "Liên hệ: Ban quản lý chợ +842343822123"}),
    ("message__reply_to_ack", {"kind": "message", "code": "PA-2026-000123",
                               "text": "Bổ sung: ổ gà nằm ngay trước cổng trường tiểu học"}),
    ("message__group_text", {"kind": "message", "sender": GROUP,
                             "text": "Đèn đường kiệt 14 Phan Đình Phùng bị hỏng cả tuần nay"}),
    ("command__start", {"kind": "command", "command": "start", "code": None, "sender": CHAT}),
    ("command__status", {"kind": "command", "command": "status", "code": "PA-2026-000123"}),
    ("command__status_botname", {"kind": "command", "command": "status", "code": "PA-2026-000123"}),
    ("command__status_no_code", {"kind": "command", "command": "status", "code": None}),
    ("my_chat_member__blocked", {"kind": "contact", "sender": CHAT, "contact_state": "blocked", "contact": None}),
    ("my_chat_member__unblocked", {"kind": "contact", "contact_state": "active"}),
    ("message__sticker", {"kind": "ignore", "reason": "sticker without report content"}),
    ("message__from_bot", {"kind": "ignore", "reason": "message from a bot"}),
    ("edited_message__text", {"kind": "edit", "reason": None}),
    ("callback_query__button", {"kind": "ignore", "reason": "update kind callback_query not handled"}),
    ("channel_post__text", {"kind": "ignore", "reason": "update kind channel_post not handled"}),
]


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(name for name, _ in CASES)


@pytest.mark.parametrize(("fixture", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fixture(fixture: str, expected: dict[str, Any]) -> None:
    data = load(fixture)
    [msg] = parse_update(data)
    assert msg.channel == "telegram" and msg.external_id == str(data["update_id"])
    got = summary(msg)
    assert {k: got[k] for k in expected} == expected


def test_sent_at_is_the_message_date_in_utc() -> None:
    [msg] = parse_update(load("message__text"))
    assert msg.sent_at == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


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
