"""Staff see words, not internal keys: the rating event, the fallback's call-back notes, the
officer who made a call-back and the account log's actor and role."""
from __future__ import annotations

from store.callbacks import add_callback, mark_callback_done
from tests.console.conftest import ConsoleDB, login
from web.console.render import event_note
from web.console.report_page import EVENT_KINDS


def test_timeline_words() -> None:
    assert EVENT_KINDS["rating"] == "Đánh giá"
    for note in ("đưa vào danh sách gọi lại (hotline: no SMS gateway configured)",
                 "không còn cách nào liên hệ công dân (hotline: no SMS gateway configured)"):
        text = event_note("notification", note)
        assert "(hotline:" not in text and "(Đường dây nóng: " in text, text


async def test_callbacks_and_account_log_name_the_officer(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center", name="Trần Thị Lan")
    await console_db.add_account("op.minh", "hotline", name="Đỗ Văn Minh")
    async with console_db.sessions() as session, session.begin():
        entry = await add_callback(session, phone="0905123456", text="Kết quả: đã xử lý",
                                   report_code=None, reason="hotline: no SMS gateway")
        await session.flush()
        await mark_callback_done(session, entry.id, done_by="user:op.minh", outcome="Đã báo")
    client = await console_client(console_db)
    await login(client, "tt.lan")
    html = await (await client.get("/console/callbacks", params={"state": "done"})).text()
    assert "Đỗ Văn Minh" in html and "user:op.minh" not in html
    html = await (await client.get("/console/accounts/op.minh")).text()
    assert "role=hotline" not in html and "vai trò " in html


def test_return_alert_links_the_console_page() -> None:
    note = ("Sở Xây dựng trả lại phản ánh PA-2026-000042: không thuộc thẩm quyền\n"
            "Đề nghị Trung tâm phân loại và chuyển lại.\nXem: https://hub.test/r/PA-2026-000042")
    shown = event_note("note", note)
    assert "/r/PA-2026-000042" not in shown
    assert shown.endswith("Xem: /console/reports/PA-2026-000042") and shown.startswith("Sở Xây dựng")
