"""One parametrized case per mail fixture: raw mail → the InboundMessage the core receives."""
from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from channels.email.adapter import EmailChannel, clean_subject
from channels.email.text import html_to_text, strip_quoted
from hub.app import build_hub
from tests.email.conftest import CENTER, FIXTURES, fixture_bytes

OURS = "<pa-2026-000001.outbox-1.abcdef012345@hue.gov.vn>"

# fixture → what the core must see. text: substrings of the stored (new) text; not_text: must be
# gone (quoted history); files: (name, kind) of attachments.
EXPECTED: dict[str, dict[str, Any]] = {
    "message__plain_utf8_photo.eml": dict(kind="message", sender="nguyenvana@gmail.com",
                                          name="Nguyễn Văn A",
                                          text=["Rác thải ở kiệt 12 Lê Lợi\n", "phường Vĩnh Ninh",
                                                "0905 123 456"], files=[("rac.jpg", "image")]),
    "message__windows1258.eml": dict(kind="message", text=["Đèn hỏng\n", "Đèn đường hỏng ở đường Hùng Vương"]),
    "message__html_only.eml": dict(kind="message", text=["Quán cà phê lấn chiếm", "Nguyễn Huệ"],
                                   not_text=["alert(1)", "thư cũ không lấy", "color:red"]),
    "message__rfc2231_filename.eml": dict(kind="message", files=[("ổ gà Trường Chinh.jpg", "image"),
                                                                 ("đơn.pdf", "file")]),
    "message__raw_utf8_headers.eml": dict(kind="message", name="Hoàng Thị E",
                                          text=["Nước thải chảy ra đường Phan Đình Phùng"]),
    "message__nfd_iphone.eml": dict(kind="message", text=["Cây đổ\n", "Cây xanh bị đổ chắn ngang đường Lê Duẩn"]),
    "message__inline_image.eml": dict(kind="message", text=["Cột điện nghiêng sắp đổ"],
                                      files=[("cot.jpg", "image")]),
    "message__tnef_winmail.eml": dict(kind="message", files=[("winmail.dat", "file")]),
    "message__forwarded_rfc822.eml": dict(kind="message", text=["chợ Đông Ba"],
                                          files=[("Phản ánh chặt chém khách du lịch.eml", "file")]),
    "message__no_message_id.eml": dict(kind="message", external_id="uid:INBOX:7:42"),
    "message__auto_submitted_no.eml": dict(kind="message", text=["Cống thoát nước bị tắc"]),
    "reply__code_in_subject_vi_gmail.eml": dict(kind="message", code="PA-2026-000001",
                                                text=["Rác vẫn chưa được dọn"],
                                                not_text=["đã viết", "Mã phản ánh", "Đã tiếp nhận"]),
    "reply__in_reply_to_outlook.eml": dict(kind="message", code=None, thread=[OURS],
                                           text=["kiệt 12 Lê Lợi"], not_text=["Sent:", "Cập nhật"]),
    "reply__german_outlook.eml": dict(kind="message", code="PA-2026-000002",
                                      text=["Das Taxi"], not_text=["schrieb"]),
    "reply__outlook_vi_header.eml": dict(kind="message", code="PA-2026-000003",
                                         text=["Đến nay cống vẫn tắc."], not_text=["Đã gửi:"]),
    "auto__gmail_vacation.eml": dict(kind="ignore", reason="auto-reply:auto-submitted"),
    "auto__zimbra_vacation.eml": dict(kind="ignore", reason="auto-reply:auto-submitted"),
    "auto__exchange_oof.eml": dict(kind="ignore", reason="auto-reply:x-auto-response-suppress"),
    "auto__x_autoreply.eml": dict(kind="ignore", reason="auto-reply:x-autoreply"),
    "auto__x_autorespond.eml": dict(kind="ignore", reason="auto-reply:x-autorespond"),
    "auto__subject_only_vi.eml": dict(kind="ignore", reason="auto-reply:subject"),
    "bulk__precedence_bulk.eml": dict(kind="ignore", reason="bulk:precedence-bulk"),
    "bulk__list_unsubscribe.eml": dict(kind="ignore", reason="bulk:list"),
    "loop__own_address.eml": dict(kind="ignore", reason="loop:own-address"),
    "receipt__mdn_read.eml": dict(kind="ignore", reason="auto-reply:report"),
    "bounce__dsn_other.eml": dict(kind="ignore", reason="bounce:dsn"),
    "bounce__dsn_delayed.eml": dict(kind="ignore", reason="bounce:delayed"),
    "bounce__dsn_ours.eml": dict(kind="delivery", provider_ids=[OURS],
                                 suppress="sai.dia.chi@gmail.com", reason_has="5.1.1"),
    "bounce__mailer_daemon_plain.eml": dict(
        kind="delivery", provider_ids=["<pa-2026-000004.outbox-9.0123456789ab@hue.gov.vn>"],
        suppress=None),
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.eml")) == sorted(EXPECTED)


@pytest.fixture
async def channel(settings_factory: Any) -> AsyncIterator[EmailChannel]:
    settings = settings_factory(channels={"email": {
        "enabled": True, "imap_host": "imap.invalid", "username": CENTER, "password": "x",
        "smtp_host": "smtp.invalid", "from_address": CENTER}})
    hub = build_hub(settings)
    yield hub.channels["email"]  # type: ignore[misc]
    await hub.engine.dispose()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(channel: EmailChannel, name: str) -> None:
    want = EXPECTED[name]
    payload = {"raw": base64.b64encode(fixture_bytes(name)).decode(), "uid": 42,
               "uidvalidity": 7, "mailbox": "INBOX"}
    [msg] = channel.parse(payload)
    assert msg.channel == "email" and msg.kind == want["kind"]
    assert msg.meta.get("reason", "") == want.get("reason", msg.meta.get("reason", ""))
    if "reason_has" in want:
        assert want["reason_has"] in msg.meta["reason"]
    if "external_id" in want:
        assert msg.external_id == want["external_id"]
    if want["kind"] == "delivery":
        assert msg.meta["delivery_state"] == "bounced" and msg.meta["suppress"] is True
        assert msg.meta["provider_ids"] == want["provider_ids"]
        assert msg.meta["suppress_address"] == want["suppress"]
        return
    if want["kind"] != "message":
        return
    assert msg.sender_id == want.get("sender", msg.sender_id) and "@" in msg.sender_id
    assert msg.contact is not None and msg.contact.email == msg.sender_id
    if "name" in want:
        assert msg.contact.name == want["name"]
    assert msg.report_code == want.get("code")
    for piece in want.get("text", []):
        assert piece in msg.text, (piece, msg.text)
    for piece in want.get("not_text", []):
        assert piece not in msg.text, (piece, msg.text)
    assert [(a.name, a.kind) for a in msg.attachments] == want.get("files", [])
    assert all(a.data and a.size == len(a.data) for a in msg.attachments)
    if want.get("thread"):
        assert msg.meta["in_reply_to_ids"][:len(want["thread"])] == want["thread"]
    if msg.external_id.startswith("<"):
        assert msg.reply_context["message_id"] == msg.external_id


@pytest.mark.parametrize("quoted, new", [
    ("Đã dọn chưa?\n\nOn Mon, Jul 7, 2025 at 10:00 AM Trung tâm <a@b.vn> wrote:\n> cũ", "Đã dọn chưa?"),
    ("Mới\n-----Original Message-----\nFrom: x", "Mới"),
    ("Mới\n\n-------- Thư gốc --------\ncũ", "Mới"),
    ("Mới\n> cũ\n>> cũ hơn\nthêm", "Mới\nthêm"),
    ("Le 17 juil. 2025 à 07:00, Centre <a@b.vn> a écrit :\n> vieux", ""),
    ("Chữ ký\n--\nNguyễn Văn A\n0905123456", "Chữ ký\n--\nNguyễn Văn A\n0905123456"),
])
def test_strip_quoted(quoted: str, new: str) -> None:
    assert strip_quoted(quoted) == new


def test_html_to_text_keeps_structure_and_marks_quotes() -> None:
    text = html_to_text("<p>Một</p><ul><li>hai</li></ul><blockquote>ba</blockquote>&nbsp;bốn")
    assert text.splitlines()[:2] == ["Một", ""] and "- hai" in text and "> ba" in text


@pytest.mark.parametrize("subject, clean", [
    ("Re: [#PA-2026-000001] Đã tiếp nhận", "Đã tiếp nhận"),
    ("TL: Fwd: Rác", "Rác"), ("Trả lời: Chuyển tiếp: Ổ gà", "Ổ gà"), ("Rác thải", "Rác thải"),
])
def test_clean_subject(subject: str, clean: str) -> None:
    assert clean_subject(subject) == clean
