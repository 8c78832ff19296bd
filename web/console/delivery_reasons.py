"""Why a reply or a forward did not go out, in Vietnamese for the console's operators.

Senders record their reason in English (``outbox.last_error``: for logs and the admin who fixes
a setting). The console shows what it means for the operator, and what to do, with the
original text kept under "Chi tiết kỹ thuật". The first rule whose words occur in the
reason (compared in lower case) wins; a reason no rule knows gets the general sentence.
"""
from __future__ import annotations

RULES: tuple[tuple[str, str], ...] = (
    ("not configured", "Kênh gửi chưa được thiết lập đầy đủ; quản trị viên cần bổ sung cấu hình."),
    ("outside 24-hour window",
     "Đã quá 24 giờ kể từ tin nhắn cuối của người dân nên Messenger không cho gửi; "
     "hệ thống gửi qua cách liên hệ khác nếu có."),
    ("last 7 days", "Người dân chưa tương tác với Zalo OA trong 7 ngày qua nên Zalo không cho "
                    "nhắn; hệ thống gửi qua cách liên hệ khác nếu có."),
    ("interaction window", "Đã quá thời hạn Zalo cho phép nhắn loại tin này; hệ thống gửi qua cách "
                           "liên hệ khác nếu có."),
    ("allowed window", "Đã quá thời hạn Zalo cho phép nhắn loại tin này; hệ thống gửi qua cách "
                       "liên hệ khác nếu có."),
    ("declined zns", "Người dân đã từ chối nhận tin ZNS."),
    ("blocked", "Người dân đã chặn hoặc bỏ theo dõi kênh nên không nhận được tin."),
    ("does not follow", "Người dân không theo dõi Zalo OA nên không nhận được tin."),
    ("banned or inactive", "Tài khoản Zalo của người dân bị khóa hoặc lâu không hoạt động."),
    ("template", "Mẫu tin ZNS bị Zalo từ chối (chưa duyệt hoặc sai dữ liệu); quản trị viên cần "
                 "kiểm tra mẫu."),
    ("night time", "Zalo không cho gửi tin ZNS vào ban đêm; tin sẽ được gửi lại sau 6 giờ sáng."),
    ("no sms gateway", "Chưa có cổng SMS để nhắn cho người gọi đường dây nóng."),
    ("no webhook configured", "Cơ quan này chưa được cấu hình địa chỉ nhận (webhook)."),
    ("no open311_endpoint", "Cơ quan này chưa được cấu hình địa chỉ Open311."),
    ("suppressed", "Địa chỉ này đã bị chặn gửi (thư bị trả lại nhiều lần hoặc người nhận "
                      "từ chối nhận)."),
    ("token", "Mã truy cập của kênh bị từ chối hoặc hết hạn; quản trị viên cần cấp lại quyền "
                 "cho kênh. Tin được giữ lại và sẽ gửi khi kênh hoạt động."),
    ("login refused", "Máy chủ thư từ chối đăng nhập; quản trị viên cần kiểm tra tài khoản gửi "
                         "thư. Tin được giữ lại."),
    ("credentials", "Nhà cung cấp từ chối thông tin đăng nhập của kênh; quản trị viên cần "
                       "kiểm tra. Tin được giữ lại."),
    ("permission", "Ứng dụng chưa được cấp quyền gửi tin trên kênh này; quản trị viên cần kiểm tra."),
    ("rate limit", "Nhà cung cấp tạm giới hạn số tin gửi; hệ thống sẽ tự gửi lại."),
    ("http 429", "Nhà cung cấp tạm giới hạn số tin gửi; hệ thống sẽ tự gửi lại."),
    ("http 5", "Nơi nhận đang gặp lỗi; hệ thống sẽ thử lại."),
    ("user unavailable", "Người dân không còn nhận được tin trên kênh này (đã chặn, bỏ theo dõi "
                            "hoặc xóa tài khoản)."),
    ("no such messenger user", "Không tìm thấy tài khoản Messenger của người dân."),
    ("not a vietnamese phone", "Số điện thoại của người dân không hợp lệ để nhắn tin."),
    ("not a phone number", "Số điện thoại của người dân không hợp lệ để nhắn tin."),
    ("not an email", "Địa chỉ thư điện tử của người dân không hợp lệ."),
    ("recipients refused", "Máy chủ thư từ chối địa chỉ người nhận."),
    ("is not enabled", "Kênh này đang tắt nên không gửi được."),
    ("cannot send", "Kênh này không gửi được tin trả lời."),
    ("nothing to post", "Phản ánh đã được rút hoặc không còn; không có gì để gửi."),
    ("empty message", "Tin nhắn trống nên không gửi."),
    ("redirect", "Địa chỉ nhận của cơ quan chuyển hướng sang nơi khác; hệ thống không theo. "
                    "Quản trị viên cần sửa địa chỉ."),
    ("unreachable", "Không kết nối được tới nơi nhận; hệ thống sẽ thử lại."),
    ("timed out", "Nơi nhận không trả lời kịp; hệ thống sẽ thử lại."),
    ("connection", "Không kết nối được tới nơi nhận; hệ thống sẽ thử lại."),
    ("network", "Không kết nối được tới nơi nhận; hệ thống sẽ thử lại."),
    ("unavailable", "Nhà cung cấp tạm thời không phục vụ; hệ thống sẽ thử lại."),
    ("temporary", "Nhà cung cấp báo lỗi tạm thời; hệ thống sẽ thử lại."),
    ("refused", "Nơi nhận từ chối tin này."),
    ("rejected", "Nơi nhận từ chối tin này."),
)
GENERAL = "Gửi không thành công; xem chi tiết kỹ thuật."


def explain(reason: str | None) -> str:
    """The operator's sentence for an outbox ``last_error`` ("" for none)."""
    if not reason or not reason.strip():
        return ""
    low = reason.lower()
    for words, sentence in RULES:
        if words in low:
            return sentence
    return GENERAL
