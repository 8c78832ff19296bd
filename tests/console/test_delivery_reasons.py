"""The console explains in Vietnamese why a message did not go out, for the reasons the senders
really record (taken from the channels' code paths), and keeps the original under a toggle."""
from __future__ import annotations

import pytest

from channels.messenger.send import OUTSIDE_WINDOW
from channels.zalo.api import CS_ERRORS, classify
from store.models import OutboxMessage
from tests.console.conftest import ConsoleDB, login
from web.console.delivery_reasons import GENERAL, explain


def _zalo(code: int) -> str:
    return classify({"error": code, "message": "x"}, CS_ERRORS, "zalo").reason


@pytest.mark.parametrize(("reason", "expected"), [
    ("channels.zalo.zns_template_id is not configured", "chưa được thiết lập"),
    ("SMTP is not configured (channels.email.smtp_host)", "chưa được thiết lập"),
    (f"{OUTSIDE_WINDOW} (#10 Message sent outside allowed window)", "quá 24 giờ"),
    (_zalo(-230), "7 ngày"),
    (_zalo(-213), "theo dõi"),
    (_zalo(-244), "đã chặn"),
    (_zalo(-32), "giới hạn số tin"),
    (_zalo(-234), "ban đêm"),
    ("zalo token refresh refused: invalid refresh token", "cấp lại quyền"),
    ("page access token invalid or expired (#190)", "cấp lại quyền"),
    ("SMTP login refused (535)", "đăng nhập"),
    ("Telegram timed out", "không trả lời kịp"),
    ("webhook unreachable: ClientConnectorError", "Không kết nối được"),
    ("Open311 endpoint answered HTTP 503", "đang gặp lỗi"),
    ("address suppressed: hard bounce", "bị chặn gửi"),
    ("all recipients refused", "từ chối địa chỉ người nhận"),
    ("agency moi-truong has no webhook configured", "chưa được cấu hình địa chỉ nhận"),
    ("something nobody foresaw", GENERAL),
    # review: the server's words must not pick the rule, its code does
    ("SMTP 550 5.1.1 <lan@example.vn>: Recipient address rejected: mailbox unavailable",
     "hộp thư không có"),
    ("SMTP 554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
     "thư rác"),
    ("SMTP 451 4.7.1 Greylisted, temporarily rejected", "tạm thời chưa nhận"),
    ("token refresh unavailable: ClientConnectorError", "lỗi kết nối tạm thời"),
    ("SMTP OAuth token: TimeoutError", "lỗi kết nối tạm thời"),
    ("webhook refused the delivery (HTTP 401)", "khóa bí mật"),
    ("zns error -118: x (no Zalo account for this phone number)", "không có tài khoản Zalo"),
    ("sender error: TimeoutError", "không trả lời kịp"),
])
def test_each_real_reason_gets_a_vietnamese_sentence(reason: str, expected: str) -> None:
    assert expected in explain(reason)


def test_no_reason_no_sentence() -> None:
    assert explain(None) == explain("  ") == ""


def test_what_happens_next_follows_the_rows_state_not_the_words() -> None:
    """A dead-lettered row is not retried by itself: no "sẽ thử lại" for it, whatever the cause."""
    reason = "gave up after 2 attempts: webhook unreachable: ClientConnectorError"
    assert explain(reason, "retry").endswith("Hệ thống sẽ tự gửi lại.")
    dead = explain(reason, "dead")
    assert "sẽ" not in dead and dead.endswith("quản trị viên có thể cho gửi lại.")
    assert explain("channels.zalo.zns_template_id is not configured", "dead").endswith(
        "sau khi khắc phục, quản trị viên có thể cho gửi lại.")
    assert explain(_zalo(-244), "dead").endswith("Đã ngừng gửi.")  # nothing to fix on our side
    assert explain("bot token rejected by Telegram", "paused").endswith("khi kênh hoạt động trở lại.")
    # how many attempts, when there were several
    assert "Đã ngừng gửi sau 3 lần thử;" in explain("webhook unreachable: X", "dead", 3)
    assert "Đã ngừng gửi;" in explain("webhook unreachable: X", "dead", 1)
    assert explain("SMTP 550 5.1.1 no such user", "dead", 1).endswith("Đã ngừng gửi.")


async def test_report_page_shows_the_sentence_and_keeps_the_detail(console_db: ConsoleDB,
                                                                   console_client) -> None:
    await console_db.add_account("tt.lan", "center", name="Trần Thị Lan")
    report = await console_db.add_report(status="forwarded", agency_id="moi-truong",
                                         category="environment", description="Rác đổ trộm")
    async with console_db.sessions() as session, session.begin():
        session.add(OutboxMessage(channel="zns", address="84905123456", report_id=report.id,
                                  state="dead", attempts=1, last_error="channels.zalo.zns_template_id is not configured"))
    client = await console_client(console_db)
    await login(client, "tt.lan")
    html = await (await client.get(f"/console/reports/{report.code}")).text()
    assert ("Kênh gửi chưa được thiết lập đầy đủ; quản trị viên cần bổ sung cấu hình. Đã ngừng gửi; "
            "sau khi khắc phục, quản trị viên có thể cho gửi lại.") in html
    assert "<summary>Chi tiết kỹ thuật</summary><code>channels.zalo.zns_template_id is not configured" in html
    assert ">Zalo ZNS<" in html  # the route as the timeline names it, not "zns"
