"""The router finishes every text for its medium; channels only transmit."""
from __future__ import annotations

from normalizer.schema import OutboundMessage
from router import templates


def test_mail_gets_a_subject_and_the_reply_hint_once() -> None:
    plain = OutboundMessage(text="Đã tiếp nhận.", report_code="PA-2026-000001")
    mail = templates.for_channel(plain, "email")
    assert mail.subject == templates.render("email_subject_default")
    assert mail.text.startswith("Chào bạn,\n\nĐã tiếp nhận.\n\nTrân trọng,\n")
    assert "giữ nguyên mã [#PA-2026-000001]" in mail.text
    assert templates.for_channel(mail, "email").text == mail.text  # not twice


def test_other_channels_get_the_text_as_it_is() -> None:
    plain = OutboundMessage(text="Đã tiếp nhận.", report_code="PA-2026-000001")
    assert templates.for_channel(plain, "zalo") is plain


def test_a_resolved_report_is_rated_the_way_each_channel_can() -> None:
    """Web and app citizens have no reply box: their 'resolved' carries the one-time link, not
    'reply with a number'; an operator reading it on a call-back asks, with no link."""
    from router.messages import citizen_message

    values = {"code": "PA-2026-000004", "agency": "Sở Xây dựng", "note": "Đã vá ổ gà",
              "rate_url": "https://hue.example/r/PA-2026-000004?rate=abc"}
    web = citizen_message("resolved", "web", values).text
    assert "https://hue.example/r/PA-2026-000004?rate=abc" in web and "trả lời" not in web
    chat = citizen_message("resolved", "zalo", values).text
    assert "trả lời bằng một số" in chat
    call = citizen_message("resolved", "callback", values).text
    assert "http" not in call and "trả lời" not in call and "từ 1 đến 5" in call


def test_a_mailed_report_is_answered_in_the_citizens_thread() -> None:
    """Every mail about a report a citizen's mail opened carries "Re: <their subject> [#code]"
    (one subject, so mail clients keep one conversation), whatever the status it tells."""
    from router.messages import citizen_message

    code = "PA-2026-000007"
    context = {"subject": "Fwd: RE: Đèn đường   hỏng kiệt 5", "message_id": "<a@b>"}
    subjects = {templates.for_channel(citizen_message(name, "email", {"code": code},
                                                      reply_context=context, report_code=code),
                                      "email").subject
                for name in ("ack", "in_progress", "resolved", "ask_place")}
    assert subjects == {f"Re: Đèn đường hỏng kiệt 5 [#{code}]"}
    # a subject that already carries the code keeps it once; a bare "Re:" or none keeps ours
    tagged = {"subject": f"Re: [#{code}] Tình trạng phản ánh"}
    again = templates.for_channel(citizen_message("ack", "email", {"code": code},
                                                  reply_context=tagged, report_code=code), "email")
    assert again.subject == f"Re: [#{code}] Tình trạng phản ánh"
    for empty in ({"subject": "Re:  "}, {}):
        plain = templates.for_channel(citizen_message("ack", "email", {"code": code},
                                                      reply_context=empty, report_code=code),
                                      "email")
        assert plain.subject == f"[#{code}] Đã tiếp nhận phản ánh"
    # a stranger's status answer (no report code of theirs) is not tagged
    public = templates.for_channel(citizen_message("status_public", "email", {"code": code},
                                                   reply_context=context), "email")
    assert public.subject == f"Tình trạng phản ánh {code}"


def test_wording_a_citizen_reads_right() -> None:
    """Vietnamese review: no "[#] Cập nhật phản ánh" subject without a code, sizes as a
    Vietnamese reader writes them, Telegram's /status only on Telegram, and a merged report
    that points to a finished one does not say it is 'still being handled'."""
    from hub.inbound.assembly import megabytes

    assert templates.subject("cancel_none", code="") == "Hủy phản ánh"
    assert templates.subject("some_command_answer", code="") == templates.render(
        "email_subject_default")
    assert templates.subject("resolved", code="PA-2026-000001").startswith("[#PA-2026-000001] ")
    assert megabytes(26214400) == "25" and megabytes(1572864) == "1,5"
    for channel in ("messenger", "zalo", "email"):
        for name in ("welcome", "status_usage"):
            assert "/status" not in templates.render_for(name, channel)
    assert "/status" in templates.render_for("status_usage", "telegram")
    assert "đang được xử lý" not in templates.render("duplicate", code="A", duplicate_of="B",
                                                      status_url="u")
