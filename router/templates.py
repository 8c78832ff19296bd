"""Every citizen-facing text, in Vietnamese, in one place.

Templates use str.format fields. ``render`` picks a channel-specific variant when one exists
(``<name>@sms`` shorter for SMS, ``<name>@email`` with a subject line) and falls back to the
plain template — richer channels fall back to text.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from normalizer.schema import OutboundMessage

TEMPLATES: dict[str, str] = {
    "ack": (
        "Trung tâm Giám sát, điều hành đô thị thông minh đã tiếp nhận phản ánh của bạn.\n"
        "Mã phản ánh: {code}. Bạn có thể tra cứu tại {status_url}"
    ),
    "ack_forwarded": (
        "Trung tâm Giám sát, điều hành đô thị thông minh đã tiếp nhận phản ánh của bạn.\n"
        "Mã phản ánh: {code}. Phản ánh đã được chuyển đến {agency} để xử lý.\n"
        "Tra cứu tiến độ tại {status_url}"
    ),
    "forwarded": "Phản ánh {code} đã được chuyển đến {agency} để xử lý.",
    "in_progress": "Phản ánh {code} đang được {agency} xử lý.{note_line}",
    "note_line": "\nGhi chú của đơn vị: {note}",
    "resolved": (
        "Phản ánh {code} đã được {agency} xử lý xong.\nKết quả: {note}\n"
        "Mời bạn đánh giá mức độ hài lòng từ 1 đến 5 (trả lời bằng một số, 5 là rất hài lòng)."
    ),
    "rejected": "Phản ánh {code} không được tiếp nhận xử lý. Lý do: {note}",
    "returned": "Phản ánh {code} đang được Trung tâm xem xét để chuyển đến đơn vị có thẩm quyền.",
    "rerouted": "Phản ánh {code} đã được chuyển lại đến {agency} để xử lý.",
    "duplicate": "Phản ánh {code} trùng với phản ánh {duplicate_of}; bạn có thể theo dõi kết "
                 "quả tại {status_url}",
    "closed": "Phản ánh {code} đã kết thúc. Cảm ơn bạn đã đồng hành cùng thành phố.",
    "agency_reply": "{agency} phản hồi về phản ánh {code}: {note}",
    "rating_thanks": "Cảm ơn bạn đã đánh giá {score}/5 cho phản ánh {code}.",
    # A message in a Telegram group the bot was added to (router.commands, "group").
    "group_private": (
        "Trung tâm không nhận phản ánh trong nhóm để giữ kín thông tin của người gửi. Bạn vui "
        "lòng nhắn tin riêng cho bot này (bấm vào tên bot, chọn Nhắn tin) để gửi phản ánh. "
        "Tra cứu trong nhóm: /status <mã phản ánh>."
    ),
    "welcome": (
        "Xin chào! Đây là kênh tiếp nhận phản ánh hiện trường của Trung tâm Giám sát, "
        "điều hành đô thị thông minh. Hãy gửi nội dung phản ánh, hình ảnh và vị trí; "
        "chúng tôi sẽ gửi lại mã để bạn tra cứu. Để tra cứu, gửi: tra cứu <mã phản ánh>"
    ),
    "welcome@telegram": (
        "Xin chào! Đây là kênh tiếp nhận phản ánh hiện trường của Trung tâm Giám sát, "
        "điều hành đô thị thông minh. Hãy gửi nội dung phản ánh, hình ảnh và vị trí; "
        "chúng tôi sẽ gửi lại mã để bạn tra cứu. Tra cứu: /status <mã phản ánh>"
    ),
    # A mail over [channels.email] max_message_bytes: only its beginning was fetched.
    "mail_truncated": (
        "Thư của bạn lớn hơn {limit_mb} MB nên Trung tâm chỉ nhận được phần đầu thư{files}. Bạn "
        "vui lòng gửi lại ảnh hoặc video trong thư nhỏ hơn {limit_mb} MB, hoặc gửi đường liên kết "
        "đến tệp."
    ),
    "mail_truncated_files": "; các tệp không nhận được: {names}",
    "attachment_too_large": (
        "Tệp {names} lớn hơn {limit_mb} MB nên Trung tâm không nhận được. Bạn vui lòng gửi ảnh "
        "hoặc video nhỏ hơn, hoặc đường liên kết đến tệp."
    ),
    # A file the media worker could not download (hub.inbound.media_notice): one message for the
    # files of a batch. {files} "2 ảnh" / "ảnh và video", {reasons} the attachment_reason_*
    # below, {resend} what to send again.
    "attachment_refused": (
        "Trung tâm chưa nhận được {files} bạn gửi cho phản ánh {code} vì {reasons}. Bạn vui lòng "
        "gửi lại {resend} tại đây."
    ),
    "attachment_refused@email": (
        "Trung tâm chưa nhận được {files} bạn gửi cho phản ánh {code} vì {reasons}. Bạn vui lòng "
        "trả lời thư này, đính kèm {resend}."
    ),
    "attachment_refused@sms": (
        "Trung tâm chưa nhận được {files} của phản ánh {code} vì {reasons}. Vui lòng gửi lại "
        "{resend} qua kênh bạn đã gửi phản ánh."
    ),
    "attachment_resend_smaller": "{kinds} nhỏ hơn {limit}, hoặc đường liên kết đến tệp",
    "attachment_reason_too_large": "{kind} lớn hơn {limit}",
    "attachment_reason_expired": "{kind} đã hết hạn trên máy chủ của kênh trước khi Trung tâm kịp tải về",
    "attachment_reason_host": "{kind} nằm trên một trang ngoài kênh nhắn tin nên Trung tâm không tải về",
    "attachment_reason_type": "Trung tâm không nhận loại {kind} này",
    "attachment_reason_failed": "Trung tâm không tải được {kind} sau nhiều lần thử",
    "attachment_reason_other": "Trung tâm không tải được {kind}",
    "attachment_kind_image": "ảnh",
    "attachment_kind_video": "video",
    "attachment_kind_audio": "tệp ghi âm",
    "attachment_kind_file": "tệp",
    # A citizen writing about a result they dispute ("vẫn chưa sửa") after it was resolved.
    "followup_after_result": (
        "Ý kiến của bạn về kết quả xử lý phản ánh {code} đã được gửi đến {agency} để xem xét lại."
    ),
    # A category button tapped alone (Messenger): the next message is that category's report.
    "category_chosen": (
        "Bạn đã chọn lĩnh vực “{category}”. Bạn mô tả sự việc giúp nhé: chuyện gì, ở đâu, kèm "
        "ảnh nếu có."
    ),
    # A chat citizen's answer to an agency's question, passed on to the agency.
    "followup_to_agency": "Cảm ơn bạn! Thông tin đã được chuyển đến {agency} cho phản ánh {code}.",
    # A citizen withdrawing a report ("hủy phản ánh …", router.commands.cancel_report).
    "cancelled": "Phản ánh {code} đã được hủy theo yêu cầu của bạn. Khi cần, bạn cứ gửi phản ánh mới.",
    "cancel_forwarded": (
        "Phản ánh {code} đã được chuyển đến {agency} nên Trung tâm không thể hủy ngay; yêu cầu hủy của bạn "
        "đã được gửi kèm để đơn vị xem xét."
    ),
    "cancel_finished": "Phản ánh {code} hiện ở trạng thái “{status_label}”, không cần hủy nữa.",
    "cancel_none": (
        "Không tìm thấy phản ánh đang chờ xử lý nào của bạn để hủy. Để hủy một phản ánh, gửi: "
        "hủy <mã phản ánh>."
    ),
    # Small talk: said to the bot, never a report.
    "smalltalk_greeting": (
        "Xin chào! Trung tâm Giám sát, điều hành đô thị thông minh luôn sẵn sàng tiếp nhận phản "
        "ánh của bạn. Hãy mô tả sự việc, gửi kèm ảnh và vị trí hoặc địa chỉ; chúng tôi sẽ gửi "
        "lại mã để bạn tra cứu."
    ),
    "smalltalk_thanks": (
        "Không có gì ạ! Khi cần phản ánh thêm, bạn cứ nhắn cho Trung tâm nhé."
    ),
    "my_codes": "Các phản ánh gần đây của bạn:\n{lines}\nGửi mã (ví dụ: tra cứu {example}) để xem chi tiết.",
    "my_codes_line": "• {code}: {status_label} (gửi ngày {date})",
    "my_codes_none": (
        "Bạn chưa gửi phản ánh nào qua kênh này. Hãy mô tả sự việc, gửi kèm ảnh và vị trí; "
        "chúng tôi sẽ gửi lại mã để bạn tra cứu."
    ),
    "status": "Phản ánh {code}: {status_label}. Cập nhật lúc {updated}.",
    "status_usage": "Để tra cứu, gửi: tra cứu <mã phản ánh> (mã có dạng PA-2026-000123).",
    "status_usage@telegram": "Để tra cứu, gửi: /status <mã phản ánh> (mã có dạng PA-2026-000123).",
    "status_unknown": "Không tìm thấy phản ánh có mã {code}. Vui lòng kiểm tra lại mã.",
    # Email: under every mail about a report, so the citizen's answer threads into it.
    "email_reply_hint": (
        "—\nKhi trả lời thư này, vui lòng giữ nguyên mã [#{code}] trong tiêu đề để nội dung "
        "được bổ sung vào đúng phản ánh."
    ),
    "email_subject_default": "Trung tâm Giám sát, điều hành đô thị thông minh",
    # Email to a citizen opens with a greeting and closes with the center's sign-off. In the
    # register of every message here ("bạn"): "Kính gửi Ông/Bà" above a body that says "bạn"
    # reads wrong to a Vietnamese reader (email walkthrough). {person}: the name the recipient
    # gave in their own mail (reply_context["name"]), else the line without it.
    "email_salutation": "Chào bạn {person},",
    "email_salutation_noname": "Chào bạn,",
    "email_signoff": "Trân trọng,\nTrung tâm Giám sát, điều hành đô thị thông minh",
    # Zalo's request-user-info card (title ≤ 100 characters, subtitle ≤ 500).
    "zalo_request_info_title": "Chia sẻ thông tin liên hệ với Trung tâm",
    "zalo_request_info_subtitle": (
        "Vui lòng chia sẻ họ tên, số điện thoại và địa chỉ để cán bộ liên hệ xác minh "
        "phản ánh {code} khi cần."
    ),
    "zalo_request_info_subtitle_nocode": (
        "Vui lòng chia sẻ họ tên, số điện thoại và địa chỉ để cán bộ liên hệ khi cần "
        "xác minh phản ánh của bạn."
    ),
    # Agency-facing (delivery and SLA), also Vietnamese.
    "agency_new": "Phản ánh mới {code} ({category}) tại {place}:\n{description}\nXem: {status_url}",
    "agency_reminder": "Nhắc việc: phản ánh {code} đến hạn xử lý ngày {due}.",
    "center_escalation": "Quá hạn: phản ánh {code} giao {agency} đã quá hạn xử lý từ ngày {due}.",
    "director_escalation": (
        "Báo cáo Giám đốc Trung tâm: phản ánh {code} giao {agency} vẫn chưa được xử lý, quá hạn "
        "{days} ngày làm việc (hạn {due})."
    ),
    "agency_citizen_message": "Công dân bổ sung thông tin cho phản ánh {code}: {note}",
    # Under every mail to an agency: where its answer goes (a reply is kept on the report for
    # the center, never sent to the citizen).
    "agency_mail_footer": (
        "Thư gửi tự động từ Trung tâm Giám sát, điều hành đô thị thông minh. Cập nhật tiến độ, kết "
        "quả xử lý trên bảng điều khiển hoặc qua API của đơn vị; thư trả lời thư này được lưu vào "
        "phản ánh để Trung tâm theo dõi, không gửi đến công dân."
    ),
    "agency_rerouted_away": "Phản ánh {code} đã được Trung tâm chuyển cho đơn vị khác xử lý.",
    # Notes for a status an agency's own Open311 system reported without a note of its own.
    "open311_resolved_note": "Đơn vị đã báo hoàn thành xử lý trên hệ thống của mình.",
    "open311_returned_note": "Đơn vị báo phản ánh không thuộc thẩm quyền xử lý của mình.",
    # Router: shorter variants for a phone reached by SMS when the origin channel refused.
    # Vietnamese SMS travel as UCS-2, 70 characters each: the code is in the link (without its
    # "https://", which phones link anyway), not said twice. "Đã tiếp nhận phản ánh. Tra cứu:
    # phananh.hue.gov.vn/r/PA-2026-000123" is one SMS; with the code and scheme it was two.
    "ack@sms": "Đã tiếp nhận phản ánh. Tra cứu: {status_link}",
    "ack_forwarded@sms": "Phản ánh đã được chuyển đến {agency}. Tra cứu: {status_link}",
    "forwarded@sms": "Phản ánh đã được chuyển đến {agency}. Tra cứu: {status_link}",
    "rerouted@sms": "Phản ánh đã được chuyển lại đến {agency}. Tra cứu: {status_link}",
    "in_progress@sms": "Phản ánh đang được xử lý. Tra cứu: {status_link}",
    # The rating link before the note: what does not fit in the SMS is the note's end.
    "resolved@sms": "Phản ánh {code} đã được xử lý xong.{rate_link}\nKết quả: {note}",
    "rejected@sms": "Phản ánh {code} không được tiếp nhận. Lý do: {note}",
    "duplicate@sms": "Phản ánh {code} trùng với phản ánh {duplicate_of}. Theo dõi: {status_link}",
    "agency_reply@sms": "{agency} phản hồi phản ánh {code}: {note}",
    "resolved_merged@sms": "Phản ánh {code} đã được xử lý xong. Kết quả: {note}",
    "returned@sms": "Phản ánh đang được chuyển đến đơn vị có thẩm quyền. Tra cứu: {status_link}",
    # --- The intake dialogue (issue 15): one short question at a time, each asked once. The
    # plain text always works; channels with buttons get them too (OutboundMessage.quick_replies).
    "ask_place": "Sự việc ở đâu ạ? Bạn gửi giúp vị trí hoặc gõ địa chỉ (số nhà, tên đường, phường/xã).",
    "ask_place@telegram": "Sự việc ở đâu ạ? Bấm “Gửi vị trí” bên dưới, hoặc gõ địa chỉ (số nhà, tên đường, phường/xã).",
    "ask_place@zalo": (
        "Sự việc ở đâu ạ? Bạn gửi vị trí (bấm dấu + rồi chọn Vị trí) hoặc gõ địa chỉ. "
        "Không rõ thì trả lời “bỏ qua”."
    ),
    "ask_place@email": (
        "Để xử lý nhanh hơn, bạn vui lòng trả lời thư này kèm địa chỉ cụ thể nơi xảy ra sự việc "
        "(số nhà, tên đường, phường/xã)."
    ),
    "ask_photo": "Bạn có ảnh chụp hiện trường không? Gửi giúp chúng tôi một ảnh nhé.",
    "ask_photo@zalo": "Bạn có ảnh chụp hiện trường không? Gửi giúp một ảnh, không có thì trả lời “bỏ qua”.",
    "ask_photo@email": "Nếu có ảnh chụp hiện trường, bạn vui lòng trả lời thư này và đính kèm ảnh.",
    "ask_phone": "Cho chúng tôi xin số điện thoại để cán bộ liên hệ khi cần xác minh nhé.",
    "ask_phone@messenger": (
        "Cho chúng tôi xin số điện thoại để cán bộ liên hệ khi cần xác minh: bấm vào số bên dưới "
        "hoặc gõ số."
    ),
    "ask_phone@telegram": (
        "Cho chúng tôi xin số điện thoại để cán bộ liên hệ khi cần xác minh: bấm “Chia sẻ số "
        "điện thoại” bên dưới hoặc gõ số."
    ),
    "ask_phone@zalo": (
        "Cho chúng tôi xin số điện thoại để cán bộ liên hệ khi cần xác minh: bấm “Chia sẻ” trên "
        "thẻ bên dưới hoặc gõ số."
    ),
    "ask_phone@email": (
        "Bạn vui lòng trả lời thư này kèm số điện thoại để cán bộ liên hệ khi cần xác minh."
    ),
    "button_location": "Gửi vị trí",
    "button_phone": "Chia sẻ số điện thoại",
    "button_skip": "Bỏ qua",
    "button_done": "Xong",
    "dialogue_thanks": "Cảm ơn bạn! Thông tin đã được bổ sung vào phản ánh {code}.",
    "dialogue_triage": (
        "Phản ánh {code} đang được Trung tâm xem xét để chuyển đến đơn vị có thẩm quyền."
    ),
    # Status lookup: the citizen's own report in full, anyone else's as the public page shows it.
    "status_own": (
        "Phản ánh {code}: {status_label}.{agency_line}{note_line}\n"
        "Cập nhật lúc {updated}. Chi tiết: {status_url}"
    ),
    "status_own_agency": " Đơn vị xử lý: {agency}.",
    "status_own_note": "\nGhi chú: {note}",
    "status_public": "Phản ánh {code}: {status_label}. Chi tiết: {status_url}",
    # Ratings by a one-time link (citizens who cannot answer on their channel: SMS, hotline, web).
    "resolved@email": (
        "Phản ánh {code} đã được {agency} xử lý xong.\nKết quả: {note}\n"
        "Mời bạn đánh giá mức độ hài lòng từ 1 đến 5: trả lời thư này bằng một số (5 là rất hài "
        "lòng){rate_link}"
    ),
    # The web portal and app have no reply box: the link is the way to rate.
    "resolved@web": "Phản ánh {code} đã được {agency} xử lý xong.\nKết quả: {note}{rate_link}",
    # An operator reads it out on a call-back and notes the answer.
    "resolved@callback": (
        "Phản ánh {code} đã được {agency} xử lý xong. Kết quả: {note}\n"
        "Xin ông/bà cho biết mức độ hài lòng từ 1 đến 5 (5 là rất hài lòng)."
    ),
    "agency_reply@callback": (
        "{agency} phản hồi về phản ánh {code}: {note}\n"
        "Xin ông/bà cho biết ý kiến để Trung tâm chuyển lại đơn vị."
    ),
    "rate_link@email": ", hoặc bấm vào liên kết:\n{rate_url}",
    "rate_link": "\nĐánh giá mức độ hài lòng (1–5): {rate_url}",
    "rate_link@callback": "",  # an operator reads it on the phone: no link
    "rate_link@sms": " Đánh giá 1-5: {rate_url}",
    # "Me too": a duplicate's reporter hears the surviving report's news.
    "merged_prefix": "Phản ánh {own_code} của bạn đã được gộp vào phản ánh {code}. ",
    "resolved_merged": "Phản ánh {code} đã được {agency} xử lý xong.\nKết quả: {note}",
    # The center hears of a report an agency sent back.
    "center_returned": (
        "{agency} trả lại phản ánh {code}: {note}\nĐề nghị Trung tâm phân loại và chuyển lại.\n"
        "Xem: {console_url}"
    ),
}

SUBJECTS: dict[str, str] = {
    "ack": "[#{code}] Đã tiếp nhận phản ánh",
    "ack_forwarded": "[#{code}] Đã tiếp nhận phản ánh",
    "agency_new": "[#{code}] Phản ánh mới: {category}",
    "agency_reminder": "[#{code}] Nhắc hạn xử lý",
    "center_escalation": "[#{code}] Quá hạn xử lý",
    "director_escalation": "[#{code}] Quá hạn kéo dài — báo Giám đốc",
    "agency_citizen_message": "[#{code}] Công dân bổ sung thông tin",
    "center_returned": "[#{code}] Đơn vị trả lại phản ánh",
    "status_own": "[#{code}] Tình trạng phản ánh",
    # no [#code] tag: the asker is not the reporter, and a reply to it must not look like one
    "status_public": "Tình trạng phản ánh {code}",
    "status_unknown": "Tra cứu phản ánh",
    "cancel_none": "Hủy phản ánh",
    "resolved": "[#{code}] Phản ánh đã được xử lý xong",
    "rejected": "[#{code}] Phản ánh không được tiếp nhận",
    "agency_reply": "[#{code}] Phản hồi của đơn vị xử lý",
    "ask": "[#{code}] Bổ sung thông tin phản ánh",
}
DEFAULT_SUBJECT = "[#{code}] Cập nhật phản ánh"

STATUS_LABELS: dict[str, str] = {
    "received": "Đã tiếp nhận",
    "triage": "Đang phân loại",
    "forwarded": "Đã chuyển đến đơn vị xử lý",
    "in_progress": "Đang xử lý",
    "resolved": "Đã xử lý xong",
    "closed": "Đã kết thúc",
    "rejected": "Không tiếp nhận",
    "returned": "Đang chuyển lại đơn vị khác",
    "duplicate": "Trùng phản ánh khác",
}


WITHDRAWN_LABEL = "Đã hủy theo yêu cầu người gửi"


def status_label(status: str, extra: dict[str, Any] | None = None) -> str:
    """A report's status as the citizen reads it: one they withdrew is not "Không tiếp nhận"
    (which reads as the center refusing it)."""
    if status == "rejected" and (extra or {}).get("withdrawn"):
        return WITHDRAWN_LABEL
    return STATUS_LABELS.get(status, status)


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(name: str, **fields: Any) -> str:
    if name not in TEMPLATES:
        raise KeyError(f"no template {name!r}")
    return TEMPLATES[name].format_map(_Default(fields))


# Channels that reuse another channel's variants: a hotline caller is answered by SMS.
VARIANT_OF: dict[str, str] = {"hotline": "sms"}


def render_for(name: str, channel: str | None, **fields: Any) -> str:
    """``<name>@<channel>`` when that variant exists (shorter SMS, ZNS...), else ``name``."""
    channel = VARIANT_OF.get(channel or "", channel)
    if channel and f"{name}@{channel}" in TEMPLATES:
        return TEMPLATES[f"{name}@{channel}"].format_map(_Default(fields))
    return render(name, **fields)


def subject(name: str, **fields: Any) -> str:
    """A mail's subject; without a report code, one that does not need it (no "[#] …")."""
    line = SUBJECTS.get(name, DEFAULT_SUBJECT)
    if "{code}" in line and not fields.get("code"):
        return render("email_subject_default")
    return line.format_map(_Default(fields))


# Reply and forward prefixes a mail client puts before a subject (English, Vietnamese, German,
# Nordic, French, Spanish/Italian clients), possibly several ("Re: Fwd: RE[2]: …").
_SUBJECT_PREFIXES = re.compile(
    r"^(\s*(re|aw|sv|tl|antw|fwd?|tr|wg|rv|ct|trả lời|phản hồi|chuyển tiếp)\s*(\[\d+\])?\s*:)+\s*",
    re.IGNORECASE)
THREAD_SUBJECT_MAX = 160


def thread_subject(citizen_subject: str, code: str) -> str:
    """The subject of every mail to a citizen about the report their mail opened: "Re: <their
    subject> [#code]", the same on each one, as helpdesks answer. Mail clients thread by subject
    (Gmail puts mails with different subjects in different conversations even when they reply
    to each other): a subject per status ("Đã tiếp nhận…", "Tình trạng…") scattered one
    report's mails over as many conversations. The tag keeps a reply joining the report when a
    client drops the thread headers."""
    base = _SUBJECT_PREFIXES.sub("", " ".join(citizen_subject.split()))
    if len(base) > THREAD_SUBJECT_MAX:
        base = base[:THREAD_SUBJECT_MAX].rstrip() + "…"
    if code.lower() not in base.lower():
        base = f"{base} [#{code}]"
    return f"Re: {base}"


def for_channel(message: OutboundMessage, channel: str) -> OutboundMessage:
    """What a channel's medium needs on top of the text: a mail gets a subject (always), the
    salutation and sign-off of administrative mail, and the hint that a reply keeping the code in
    the subject joins the report. A report that came by mail is answered in the citizen's own
    thread (``thread_subject``)."""
    if channel != "email":
        return message
    citizen_subject = str((message.reply_context or {}).get("subject") or "")
    if message.report_code and _SUBJECT_PREFIXES.sub("", citizen_subject).strip():
        subject_line = thread_subject(citizen_subject, message.report_code)
    else:
        subject_line = (message.subject or "").strip() or render("email_subject_default")
    text = message.text
    if not text.startswith(_SALUTATION_START):
        name = greeting_name((message.reply_context or {}).get("name"))
        salutation = render("email_salutation", person=name) if name else render("email_salutation_noname")
        text = f"{salutation}\n\n{text}\n\n{render('email_signoff')}"
    hint = render("email_reply_hint", code=message.report_code) if message.report_code else ""
    if hint and hint not in text:
        text = f"{text}\n\n{hint}"
    return dataclasses.replace(message, subject=subject_line, text=text)


_SALUTATION_START = TEMPLATES["email_salutation_noname"][:-1]  # "Chào bạn"
# A display name that is an organisation's, not a person's ("CÔNG TY TNHH XÂY DỰNG MINH PHÁT",
# "UBND phường …", "Sở Xây dựng"): not greeted by name. Words that are also people's names
# (Trương, Phong, Sơ, Hội: "Trương Thị Lan", "Nguyễn Thanh Phong") count only as the name's
# first word written as the organisation's ("Phòng …", "Trường …", "Hội …"), never folded.
_ORGANISATION = re.compile(
    r"\b(?:cong ty|cty|tnhh|co phan|ubnd|uy ban|ban quan ly|benh vien|ngan hang|hop tac xa|"
    r"htx|doanh nghiep|trung tam|chi nhanh|van phong)\b", re.IGNORECASE)
_ORGANISATION_LEAD = re.compile(
    r"(?:sở|phòng|trường|hội|cục|chi cục|công an|đội|tổ dân phố|ủy ban|uỷ ban)\s",
    re.IGNORECASE)
GREETING_NAME_MAX = 80


def greeting_name(value: object) -> str:
    """The recipient's own name as a salutation may carry it; "" when there is none fit to
    print (an address as display name, quotes, an over-long name)."""
    from normalizer.text import fold

    name = " ".join(str(value or "").replace('"', " ").split()).strip(" ,;")
    if not name or "@" in name or len(name) > GREETING_NAME_MAX:
        return ""
    if _ORGANISATION.search(fold(name)) or _ORGANISATION_LEAD.match(name):
        return ""
    return name


def without_salutation(text: str) -> str:
    """``text`` without the salutation ``for_channel`` opened a mail with (a mail's words moved
    to another route keep what came before the template's own, not the salutation)."""
    if text.startswith(_SALUTATION_START):
        head, sep, rest = text.partition("\n\n")
        return rest if sep else ""
    return text
