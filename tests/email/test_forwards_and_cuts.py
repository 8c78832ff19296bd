"""Mails a new user's walkthrough got wrong: forwards (inline from Gmail and Outlook, attached
as message/rfc822) lost the forwarded complaint, a citizen's own dashed underline cut the mail,
HTML table cells ran together, skipped mails were logged as "<<email>>", and a part cut off by
the partial IMAP fetch was stored as if whole. Real MIME built with the standard library."""
from __future__ import annotations

import base64
import logging
import unicodedata
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest

from channels.email.adapter import EmailChannel
from channels.email.mime import parse_mail
from channels.email.settings import EmailSettings
from channels.email.text import html_to_text
from hub.logs import scrub
from tests.email.conftest import CENTER

CITIZEN = "nguyenvana@gmail.com"
NEIGHBOUR = "hangxom.b@gmail.com"
COMPLAINT = "Cống thoát nước trước nhà số 22 Đống Đa, phường Thuận Hóa bị vỡ, nước bẩn tràn ra đường."


def mail(subject: str, text: str | None = None, html: str | None = None,
         headers: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Nguyễn Văn A <{CITIZEN}>"
    msg["To"] = CENTER
    msg["Subject"] = subject
    msg["Date"] = "Tue, 15 Jul 2025 11:00:00 +0700"
    msg["Message-ID"] = "<CAF1walk001@mail.gmail.com>"
    for name, value in (headers or {}).items():
        msg[name] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    return msg


def channel() -> EmailChannel:
    """The adapter without a hub, as the fixture harness builds it: ``parse`` is pure."""
    return EmailChannel(None, EmailSettings(username=CENTER, from_address=CENTER))  # type: ignore[arg-type]


def parse(msg: EmailMessage | bytes, **stored: Any) -> Any:
    raw = msg if isinstance(msg, bytes) else msg.as_bytes(policy=SMTP)
    payload = {"raw": base64.b64encode(raw).decode(), "uid": 42, "uidvalidity": 7,
               "mailbox": "INBOX", **stored}
    [message] = channel().parse(payload)
    return message


GMAIL_FORWARD = (
    "Nhờ trung tâm xử lý giúp.\n\n"
    "---------- Forwarded message ---------\n"
    f"From: Hàng xóm Trần Văn B <{NEIGHBOUR}>\n"
    "Date: Mon, 14 Jul 2025 at 20:15\n"
    "Subject: Cống vỡ\n"
    f"To: <{CITIZEN}>\n\n\n"
    f"{COMPLAINT}\n")
OUTLOOK_FORWARD = (
    "Chuyển trung tâm phản ánh của người dân.\n\n"
    "________________________________\n"
    f"From: Tran Van B <{NEIGHBOUR}>\n"
    "Sent: Monday, July 14, 2025 8:15 PM\n"
    f"To: Nguyen Van A <{CITIZEN}>\n"
    "Subject: Cống vỡ\n\n"
    f"{COMPLAINT}\n")


@pytest.mark.parametrize("subject, text", [
    ("Fwd: Cống vỡ", GMAIL_FORWARD),
    ("Cống vỡ", GMAIL_FORWARD),  # the marker alone says forward
    ("FW: Cống vỡ", OUTLOOK_FORWARD),
    ("Chuyển tiếp: Cống vỡ", OUTLOOK_FORWARD),
    ("Cống vỡ", OUTLOOK_FORWARD),  # an Outlook block in a mail that answers nothing
])
def test_inline_forward_keeps_the_forwarded_complaint(subject: str, text: str) -> None:
    message = parse(mail(subject, text))
    assert message.text.startswith("Cống vỡ\nNhờ trung tâm" if "Nhờ" in text
                                   else "Cống vỡ\nChuyển trung tâm")
    assert message.text.endswith(COMPLAINT)
    # The forwarded header lines carry a third party's name and address: not stored.
    for gone in (NEIGHBOUR, CITIZEN, "From:", "Date:", "Sent:", "Forwarded message", "_____"):
        assert gone not in message.text


def test_html_only_gmail_forward_keeps_the_forwarded_complaint() -> None:
    html = ('<div dir="ltr">Nhờ trung tâm xử lý giúp.<br><br><div class="gmail_quote">'
            '<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>'
            f'From: <strong>Trần Văn B</strong> &lt;{NEIGHBOUR}&gt;<br>Date: Mon, 14 Jul 2025<br>'
            f'Subject: Cống vỡ<br>To: &lt;{CITIZEN}&gt;<br></div><br><br>'
            f'<div dir="ltr">{COMPLAINT}</div></div></div>')
    parsed = parse_mail(mail("Fwd: Cống vỡ", html=html).as_bytes(policy=SMTP))
    assert parsed.kind == "forward"
    assert parsed.new_text == f"Nhờ trung tâm xử lý giúp.\n\n{COMPLAINT}"


def test_a_dashed_underline_in_a_new_mail_cuts_nothing() -> None:
    text = ("PHẢN ÁNH HIỆN TRƯỜNG\n--------------------\nĐịa điểm: 22 Đống Đa, phường Thuận Hóa\n"
            "Nội dung: cống thoát nước bị vỡ, nước bẩn tràn ra đường.\n"
            "__________________________\nNgười gửi: Nguyễn Văn A")
    parsed = parse_mail(mail("Cống vỡ", text).as_bytes(policy=SMTP))
    assert parsed.kind == "new" and parsed.new_text == text


def test_a_dashed_underline_in_a_reply_cuts_nothing_but_the_quote_still_goes() -> None:
    text = ("Bổ sung thông tin:\n--------------------\nĐịa điểm: 22 Đống Đa\n\n"
            "Vào Th 5, 17 thg 7, 2025 vào lúc 07:00 Trung tâm <phananh@hue.gov.vn> đã viết:\n"
            "> Trung tâm đã tiếp nhận phản ánh của bạn.\n")
    parsed = parse_mail(mail("Re: [#PA-2026-000001] Đã tiếp nhận", text,
                             headers={"In-Reply-To": "<pa-2026-000001.outbox-1.x@hue.gov.vn>"})
                        .as_bytes(policy=SMTP))
    assert parsed.kind == "reply"
    assert parsed.new_text == "Bổ sung thông tin:\n--------------------\nĐịa điểm: 22 Đống Đa"


def test_an_outlook_reply_drops_its_rule_with_the_quoted_block() -> None:
    text = ("Đã xác nhận địa chỉ.\n\n" + OUTLOOK_FORWARD.split("\n\n", 1)[1])
    parsed = parse_mail(mail("RE: Cống vỡ", text).as_bytes(policy=SMTP))
    assert parsed.kind == "reply" and parsed.new_text == "Đã xác nhận địa chỉ."


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below


def windows_1258(text: str) -> bytes:
    """As Vietnamese Windows mailers write it: letters precomposed, tone marks combining."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            tone = [c for c in decomposed if c in TONE_MARKS]
            letter = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tone))
            out += (letter + "".join(tone)).encode("cp1258")
    return out


def attached_mail(note: str | None, subject: str) -> EmailMessage:
    """A mail forwarded as an attachment; the inner one in windows-1258, base64, with a photo."""
    inner = EmailMessage()
    inner["From"] = f"Trần Văn B <{NEIGHBOUR}>"
    inner["Subject"] = "Cống vỡ"
    inner.set_content(windows_1258(COMPLAINT), maintype="text", subtype="plain",
                      params={"charset": "windows-1258"}, cte="base64")
    inner.add_attachment(b"\xff\xd8\xff\xe0" + b"\x11" * 2000, maintype="image", subtype="jpeg",
                         filename="cong.jpg")
    outer = mail(subject, note)
    if note is None:
        outer.set_content("")  # Gmail's "forward as attachment" with nothing typed
    outer.add_attachment(inner)
    return outer


@pytest.mark.parametrize("note, subject, text", [
    ("Nhờ trung tâm xử lý giúp.", "Fwd: Cống vỡ", f"Cống vỡ\nNhờ trung tâm xử lý giúp.\n\n{COMPLAINT}"),
    (None, "Cống vỡ", f"Cống vỡ\n{COMPLAINT}"),
])
def test_attached_forward_gives_its_text_and_photos(note: str | None, subject: str,
                                                    text: str) -> None:
    message = parse(attached_mail(note, subject))
    assert message.text == text
    assert [(a.name, a.content_type) for a in message.attachments] == [
        ("Cống vỡ.eml", "message/rfc822"), ("cong.jpg", "image/jpeg")]
    assert message.attachments[1].data == b"\xff\xd8\xff\xe0" + b"\x11" * 2000


def test_html_table_cells_are_kept_apart() -> None:
    html = ("<p>Phản ánh:</p><table><tr><td>Vị trí</td><td>gần số 100</td></tr>"
            "<tr><th>Nội dung:</th><td>đèn đường hỏng</td></tr>"
            "<tr><td>a</td><td></td><td>b</td><td>c</td></tr></table>")
    assert html_to_text(html).split("\n") == [
        "Phản ánh:", "", "Vị trí: gần số 100", "", "Nội dung: đèn đường hỏng", "", "a | b | c"]


def test_a_skipped_mail_is_logged_by_its_place_not_its_address(
        caplog: pytest.LogCaptureFixture) -> None:
    msg = mail("Trả lời tự động: Cống vỡ", "Tôi đang đi vắng.")
    msg.replace_header("Message-ID", f"<auto.{CITIZEN}@mail.gmail.com>")
    with caplog.at_level(logging.INFO, logger="hub.channels.email"):
        message = parse(msg)
    assert message.kind == "ignore"
    [line] = [scrub(r.getMessage()) for r in caplog.records if "skipped mail" in r.getMessage()]
    assert line.startswith("skipped mail INBOX uid 42 (uidvalidity 7, mid:")
    assert line.endswith("): auto-reply:subject")
    assert "<email>" not in line and "nguyenvana" not in line


JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 586  # 150,020 bytes, not compressible by base64


def big_mail() -> bytes:
    msg = mail("Ổ gà đường Trường Chinh", "Mặt đường có ổ gà lớn, gửi kèm 2 ảnh.")
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="o-ga-1.jpg")
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="o-ga-2.jpg")
    return msg.as_bytes(policy=SMTP)


def test_a_part_cut_by_the_partial_fetch_is_refused_not_stored() -> None:
    raw = big_mail()
    cut = raw.index(b"o-ga-2.jpg") + 60_000  # as BODY.PEEK[]<0.N> stops: mid-photo
    message = parse(raw[:cut], truncated=True, size=len(raw))
    text_part, photo1, photo2 = message.text, *message.attachments
    assert "Mặt đường có ổ gà lớn" in text_part and "o-ga-2.jpg" in text_part.splitlines()[-1]
    assert (photo1.name, photo1.data) == ("o-ga-1.jpg", JPEG)
    assert photo2.name == "o-ga-2.jpg" and photo2.data is None and photo2.size is None
    assert parse_mail(raw[:cut], truncated=True).attachments[1].refused == (
        "cut off: the mail is larger than max_message_bytes")


def test_a_cut_inside_the_first_photo_refuses_it_and_keeps_the_text() -> None:
    raw = big_mail()
    message = parse(raw[:raw.index(b"o-ga-1.jpg") + 60_000], truncated=True)
    assert "Mặt đường có ổ gà lớn" in message.text
    assert [(a.name, a.data) for a in message.attachments] == [("o-ga-1.jpg", None)]


def test_a_cut_after_the_last_boundary_refuses_nothing() -> None:
    raw = big_mail() + b"\r\nan epilogue nobody reads\r\n" * 10
    message = parse(raw[:-30], truncated=True)
    assert [a.data for a in message.attachments] == [JPEG, JPEG]


OUTLOOK_HTML = ('<div>Đã xác nhận địa chỉ.</div><div id="appendonsend"></div><hr>'
                f'<div id="divRplyFwdMsg"><b>From:</b> Trần Văn B &lt;{NEIGHBOUR}&gt;<br>'
                f'<b>Sent:</b> Monday, July 14, 2025<br><b>To:</b> {CITIZEN}<br>'
                f'<b>Subject:</b> Cống vỡ</div><div>{COMPLAINT}</div>')


@pytest.mark.parametrize("subject, text", [
    ("FW: Cống vỡ", f"Đã xác nhận địa chỉ.\n\n{COMPLAINT}"),
    ("RE: Cống vỡ", "Đã xác nhận địa chỉ."),
])
def test_outlook_html_forward_keeps_and_reply_drops_what_is_below_its_header(
        subject: str, text: str) -> None:
    """Outlook's HTML marks only its From:/Sent: block as a quote, not the mail below it."""
    assert parse_mail(mail(subject, html=OUTLOOK_HTML).as_bytes(policy=SMTP)).new_text == text


def test_a_from_to_date_list_in_a_new_mail_is_no_forward() -> None:
    text = ("Công trình thi công gây ồn:\nTừ: 22 giờ\nĐến: 5 giờ sáng\nNgày: 14/7/2025\n"
            "Địa điểm: 22 Đống Đa")
    parsed = parse_mail(mail("Tiếng ồn ban đêm", text).as_bytes(policy=SMTP))
    assert parsed.kind == "new" and parsed.new_text == text
