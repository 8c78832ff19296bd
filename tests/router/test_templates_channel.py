"""The router finishes every text for its medium; channels only transmit."""
from __future__ import annotations

from normalizer.schema import OutboundMessage
from router import templates


def test_mail_gets_a_subject_and_the_reply_hint_once() -> None:
    plain = OutboundMessage(text="Đã tiếp nhận.", report_code="PA-2026-000001")
    mail = templates.for_channel(plain, "email")
    assert mail.subject == templates.render("email_subject_default")
    assert mail.text.startswith("Đã tiếp nhận.")
    assert "giữ nguyên mã [#PA-2026-000001]" in mail.text
    assert templates.for_channel(mail, "email").text == mail.text  # not twice


def test_other_channels_get_the_text_as_it_is() -> None:
    plain = OutboundMessage(text="Đã tiếp nhận.", report_code="PA-2026-000001")
    assert templates.for_channel(plain, "zalo") is plain
