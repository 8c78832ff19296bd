"""Why a reply or a forward did not go out, in Vietnamese for the console's operators.

Senders record their reason in English (``outbox.last_error``, and the timeline's failure notes:
for logs and the admin who fixes a setting). The console says what it means, and — from the
row's state, not the reason's words — what happens next: a row still being retried will be sent
again, a paused channel keeps it, a dead-lettered row is not retried unless someone re-sends it.
The original text stays on the page under "Chi tiết kỹ thuật". The first rule whose words occur
in the reason (compared in lower case) wins; a reason no rule knows gets the general sentence.
"""
from __future__ import annotations

import re

# What the reason is about: the recipient's side (nothing for an administrator to fix), the set-up
# (an administrator fixes it, then re-sends), or a passing failure.
CITIZEN, SETUP, PASSING = "citizen", "setup", "passing"
# A mail server's own reply ("SMTP 550 5.1.1 …"): its code says whose side it is, whatever words
# the server used (which would match the rules below: "mailbox unavailable", "blocked").
_SMTP = re.compile(r"^smtp (\d)(\d\d) ", re.I)
SMTP_RULES = {
    "recipient": ("Máy chủ thư của người nhận từ chối địa chỉ (hộp thư không có hoặc không nhận "
                  "thư).", CITIZEN),
    "5": ("Máy chủ thư từ chối thư (có thể do bị coi là thư rác); quản trị viên cần kiểm tra "
          "máy chủ gửi thư.", SETUP),
    "4": ("Máy chủ thư tạm thời chưa nhận thư.", PASSING),
}
# (words that may occur in the reason — any of them —, the sentence, whose side it is)
RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("token refresh unavailable", "oauth token:"), "Chưa lấy được mã truy cập mới cho kênh (lỗi kết nối "
                                                    "tạm thời).", PASSING),
    (("(http 401)", "(http 403)"), "Hệ thống của đơn vị không chấp nhận xác thực; quản trị viên cần"
                                   " kiểm tra khóa bí mật đã trao đổi với đơn vị.", SETUP),
    (("invalid for zns",), "Số điện thoại này không dùng được cho tin ZNS.", CITIZEN),
    (("no zalo account",), "Số điện thoại này không có tài khoản Zalo.", CITIZEN),
    (("cannot receive zns",), "Tài khoản Zalo này không nhận được tin ZNS.", CITIZEN),
    (("not configured",), "Kênh gửi chưa được thiết lập đầy đủ; quản trị viên cần bổ sung cấu hình.", SETUP),
    (("outside 24-hour window",), "Đã quá 24 giờ kể từ tin nhắn cuối của người dân nên Messenger "
                                  "không cho gửi; hệ thống gửi qua cách liên hệ khác nếu có.", CITIZEN),
    (("last 7 days",), "Người dân chưa tương tác với Zalo OA trong 7 ngày qua nên Zalo không "
                       "cho nhắn; hệ thống gửi qua cách liên hệ khác nếu có.", CITIZEN),
    (("interaction window", "allowed window"), "Đã quá thời hạn Zalo cho phép nhắn loại tin này; hệ thống"
                                               " gửi qua cách liên hệ khác nếu có.", CITIZEN),
    (("declined zns",), "Người dân đã từ chối nhận tin ZNS.", CITIZEN),
    (("blocked",), "Người dân đã chặn hoặc bỏ theo dõi kênh nên không nhận được tin.", CITIZEN),
    (("does not follow",), "Người dân không theo dõi Zalo OA nên không nhận được tin.", CITIZEN),
    (("banned or inactive",), "Tài khoản Zalo của người dân bị khóa hoặc lâu không hoạt động.", CITIZEN),
    (("template",), "Mẫu tin ZNS bị Zalo từ chối (chưa duyệt hoặc sai dữ liệu); quản trị "
                    "viên cần kiểm tra mẫu.", SETUP),
    (("night time",), "Zalo không cho gửi tin ZNS vào ban đêm (trước 6 giờ sáng).", PASSING),
    (("no sms gateway",), "Chưa có cổng SMS để nhắn cho người gọi đường dây nóng.", SETUP),
    (("no webhook configured",), "Cơ quan này chưa được cấu hình địa chỉ nhận (webhook).", SETUP),
    (("no open311_endpoint",), "Cơ quan này chưa được cấu hình địa chỉ Open311.", SETUP),
    (("suppressed",), "Địa chỉ này đã bị chặn gửi (thư bị trả lại nhiều lần hoặc người nhận "
                      "từ chối nhận).", CITIZEN),
    (("token",), "Mã truy cập của kênh bị từ chối hoặc hết hạn; quản trị viên cần cấp lại "
                 "quyền cho kênh.", SETUP),
    (("login refused",), "Máy chủ thư từ chối đăng nhập; quản trị viên cần kiểm tra tài khoản "
                         "gửi thư.", SETUP),
    (("credentials",), "Nhà cung cấp từ chối thông tin đăng nhập của kênh; quản trị viên cần "
                       "kiểm tra.", SETUP),
    (("permission",), "Ứng dụng chưa được cấp quyền gửi tin trên kênh này; quản trị viên cần"
                      " kiểm tra.", SETUP),
    (("rate limit", "http 429"), "Nhà cung cấp tạm giới hạn số tin gửi.", PASSING),
    (("http 5",), "Nơi nhận đang gặp lỗi.", PASSING),
    (("user unavailable",), "Người dân không còn nhận được tin trên kênh này (đã chặn, bỏ theo "
                            "dõi hoặc xóa tài khoản).", CITIZEN),
    (("no such messenger user",), "Không tìm thấy tài khoản Messenger của người dân.", CITIZEN),
    (("not a vietnamese phone", "not a phone number"), "Số điện thoại của người dân không hợp lệ để nhắn tin.", CITIZEN),
    (("not an email",), "Địa chỉ thư điện tử của người dân không hợp lệ.", CITIZEN),
    (("recipients refused",), "Máy chủ thư từ chối địa chỉ người nhận.", CITIZEN),
    (("is not enabled",), "Kênh này đang tắt nên không gửi được.", SETUP),
    (("cannot send",), "Kênh này không gửi được tin trả lời.", CITIZEN),
    (("nothing to post",), "Phản ánh đã được rút hoặc không còn; không có gì để gửi.", CITIZEN),
    (("empty message",), "Tin nhắn trống nên không gửi.", CITIZEN),
    (("redirect",), "Địa chỉ nhận của cơ quan chuyển hướng sang nơi khác; hệ thống không "
                    "theo. Quản trị viên cần sửa địa chỉ.", SETUP),
    (("unreachable",), "Không kết nối được tới nơi nhận.", PASSING),
    (("timed out", "timeouterror"), "Nơi nhận không trả lời kịp.", PASSING),
    (("connection", "network"), "Không kết nối được tới nơi nhận.", PASSING),
    (("unavailable",), "Nhà cung cấp tạm thời không phục vụ.", PASSING),
    (("temporar",), "Nhà cung cấp báo lỗi tạm thời.", PASSING),
    (("refused", "rejected"), "Nơi nhận từ chối tin này.", CITIZEN),
)
GENERAL = "Gửi không thành công; xem chi tiết kỹ thuật."
# What happens next, by the outbox row's state (and, once given up, by whose side the cause is).
NEXT = {**dict.fromkeys(("pending", "retry", "sending"), "Hệ thống sẽ tự gửi lại."),
        "paused": "Tin được giữ lại và sẽ gửi khi kênh hoạt động trở lại."}
GAVE_UP = {CITIZEN: "Đã ngừng gửi{after}.",
           SETUP: "Đã ngừng gửi{after}; sau khi khắc phục, quản trị viên có thể cho gửi lại.",
           PASSING: "Đã ngừng gửi{after}; quản trị viên có thể cho gửi lại."}
_GAVE_UP_AFTER = re.compile(r"gave up after (\d+) attempts?: ", re.I)


def _rule(reason: str) -> tuple[str, str]:
    low = reason.lower()
    if smtp := _SMTP.search(_GAVE_UP_AFTER.sub("", low)):
        if smtp[1] == "5" and smtp[2] in ("50", "51", "53"):  # 550, 551, 553: the address
            return SMTP_RULES["recipient"]
        if smtp[1] in SMTP_RULES:
            return SMTP_RULES[smtp[1]]
    for words, sentence, side in RULES:
        if any(w in low for w in words):
            return sentence, side
    return GENERAL, PASSING


def explain(reason: str | None, state: str | None = None, attempts: int | None = None) -> str:
    """The operator's sentence for an outbox ``last_error`` ("" for none), followed by what
    happens next when the row's ``state`` is given (``dead``: given up, after ``attempts``)."""
    if not reason or not reason.strip():
        return ""
    sentence, side = _rule(reason)
    if state == "dead":
        after = f" sau {attempts} lần thử" if attempts and attempts > 1 else ""
        return f"{sentence} {GAVE_UP[side].format(after=after)}"
    if state in NEXT:
        return f"{sentence} {NEXT[state]}"
    return sentence


def explain_failure(reason: str) -> str:
    """A timeline failure note's reason ("gave up after 2 attempts: webhook unreachable: …"):
    what it means, and after how many attempts."""
    attempts = _GAVE_UP_AFTER.search(reason)
    sentence, _ = _rule(reason)
    if sentence == GENERAL:  # no rule knows it: the sender's own words, as they are
        return reason
    return f"{sentence.rstrip('.')} (sau {attempts[1]} lần thử)." if attempts else sentence
