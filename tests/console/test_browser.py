"""The console in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Skipped with a reason where Chromium or Playwright is missing; ``HUB_REQUIRE_BROWSER=1`` turns
that skip into a failure (CI). ``HUB_CONSOLE_SCREENSHOTS=DIR`` keeps a PNG of each page checked.
"""
from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from store.models import utcnow
from tests.browser import CHROMIUM, Shots, new_page
from tests.console.conftest import PASSWORD, ROLE_ACCOUNTS, ConsoleDB, console_app


@pytest.fixture
async def site(sqlite_console_db: ConsoleDB, aiohttp_server: Any) -> AsyncIterator[tuple[str, ConsoleDB]]:
    """The console on a loopback port, with one account per role and a few reports."""
    db = sqlite_console_db
    for role, (username, agency) in ROLE_ACCOUNTS.items():
        await db.add_account(username, role, agency, name={
            "center": "Trần Thị Lan", "hotline": "Đỗ Văn Minh", "agency": "Lê Thị Hoa",
            "viewer": "Nguyễn Giám Đốc"}[role])
    now = utcnow()
    await db.add_report(code="PA-2026-000101", status="triage", category=None, channel="zalo",
                        description="Đống rác lớn bốc mùi hôi thối ở kiệt 34 Chi Lăng, mấy ngày chưa ai dọn",
                        ward="Phường Phú Xuân")
    await db.add_report(code="PA-2026-000102", status="forwarded", agency_id="moi-truong",
                        category="environment", channel="messenger", ward="Phường Thuận Hóa",
                        description="Nước thải chảy tràn ra đường Trần Hưng Đạo", due_at=now - timedelta(days=2))
    await db.add_report(code="PA-2026-000103", status="in_progress", agency_id="moi-truong",
                        category="environment", channel="hotline", ward="Phường Vỹ Dạ",
                        description="Thu gom rác không đúng giờ", due_at=now + timedelta(hours=5))
    await db.add_report(code="PA-2026-000104", status="forwarded", agency_id="so-xay-dung",
                        category="traffic_infrastructure", channel="email", ward="Phường Kim Long",
                        description="Ổ gà lớn trên đường Kim Long gây nguy hiểm", due_at=now + timedelta(days=4))
    server = await aiohttp_server(console_app(db))
    yield f"http://127.0.0.1:{server.port}", db


async def log_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """As a person does: type the name, tab to the password, press Enter."""
    await page.goto(f"{base}/console/login")
    await page.locator("#username").fill(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def test_login_per_role(browser: Any, site: tuple[str, ConsoleDB], shots: Shots) -> None:
    base, _ = site
    errors: list[str] = []
    for role, (username, _agency) in ROLE_ACCOUNTS.items():
        page = await new_page(browser, errors, viewport={"width": 1280, "height": 800})
        await log_in(page, base, username)
        assert page.url == f"{base}/console/", role
        assert await page.locator("h1").first.inner_text() != ""
        header = await page.locator("header").inner_text()
        assert {"center": "Trung tâm giám sát", "hotline": "Tổng đài viên", "agency": "Cán bộ đơn vị xử lý",
                "viewer": "Chỉ xem"}[role] in header
        has_accounts = await page.locator("nav a[href='/console/accounts']").count()
        assert has_accounts == (1 if role == "center" else 0), role
        rows = await page.locator("table.queue tbody tr td:first-child").all_inner_texts()
        if role == "agency":
            assert rows == ["PA-2026-000102", "PA-2026-000103"]
            assert "Công ty Môi trường đô thị Huế" in await page.locator("h1").inner_text()
        else:
            assert sorted(rows) == ["PA-2026-000101", "PA-2026-000102", "PA-2026-000103", "PA-2026-000104"]
        if role == "center":
            assert rows[0] == "PA-2026-000101"  # triage first
        await shots.take(page, f"queue-{role}")
        await page.context.close()
    assert errors == []


async def test_no_session_goes_to_login_and_back(browser: Any, site: tuple[str, ConsoleDB],
                                                 shots: Shots) -> None:
    base, _ = site
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 800})
    await page.goto(f"{base}/console/accounts")
    assert page.url == f"{base}/console/login?next=%2Fconsole%2Faccounts"
    assert await page.locator("h1").inner_text() == "Đăng nhập"
    # Keyboard first: the skip link, then the form's fields in order, the name field focused.
    assert await page.evaluate("document.activeElement.id") == "username"
    await shots.take(page, "login")
    await page.locator("#username").fill("tt.lan")
    await page.locator("#password").fill("sai-mat-khau-000")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in await page.locator("[role=alert]").inner_text()
    assert await page.evaluate("document.activeElement.id") == "password"
    await shots.take(page, "login-error")
    await page.locator("#password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{base}/console/accounts"
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["hub_console"]["httpOnly"] and cookies["hub_console"]["sameSite"] == "Lax"
    assert await page.evaluate("document.cookie") == ""  # invisible to scripts
    # The wrong password was answered 401 (the browser logs that); nothing else failed.
    assert f"401 {base}/console/login" in errors and [e for e in errors if "401" not in e] == []


async def test_post_without_csrf_is_refused(browser: Any, site: tuple[str, ConsoleDB], shots: Shots) -> None:
    base, db = site
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 800})
    await log_in(page, base, "tt.lan")
    await page.goto(f"{base}/console/accounts")
    # A forged form: the page's form without its hidden token.
    await page.evaluate("document.querySelector('form[action=\"/console/accounts\"] input[name=csrf_token]').remove()")
    await page.locator("#a-username").fill("ke.gia.mao")
    await page.locator("#a-role").select_option("center")
    await page.locator("#a-password").fill("mat-khau-gia-mao-1")
    async with page.expect_navigation() as answer:
        await page.locator("form[action='/console/accounts'] button[type=submit]").click()
    assert (await answer.value).status == 403
    assert "thiếu mã CSRF" in await page.locator("[role=alert]").inner_text()
    await shots.take(page, "csrf-403")
    # A request from the same browser session, without the token, is refused as well.
    resp = await page.request.post(f"{base}/console/accounts/td.minh/disable", form={"x": "1"},
                                   max_redirects=0)
    assert resp.status == 403
    from store.accounts import account_by_username

    async with db.sessions() as session:
        assert await account_by_username(session, "ke.gia.mao") is None
        assert not (await account_by_username(session, "td.minh")).disabled
    # Only the refused form post failed.
    assert [e for e in errors if "403" not in e] == [] and f"403 {base}/console/accounts" in errors


async def test_disabled_account_session_stops_working(browser: Any, site: tuple[str, ConsoleDB],
                                                      shots: Shots) -> None:
    base, _ = site
    errors: list[str] = []
    center = await new_page(browser, errors, viewport={"width": 1280, "height": 900})
    officer = await new_page(browser, errors, viewport={"width": 1280, "height": 800})
    await log_in(officer, base, "mt.hoa")
    assert officer.url == f"{base}/console/"
    await log_in(center, base, "tt.lan")
    await center.goto(f"{base}/console/accounts")
    await shots.take(center, "accounts")
    async with center.expect_navigation():
        await center.get_by_role("link", name="mt.hoa").click()
    async with center.expect_navigation():
        await center.get_by_role("button", name="Cấp mã mới").click()
    token = await center.locator(".secret-value").inner_text()
    assert token.startswith("hub_")
    await shots.take(center, "account-token")
    # Locking asks first: cancelled, nothing happens; confirmed, the account is locked.
    asked: list[str] = []

    async def answer(dialog: Any, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    center.once("dialog", lambda d: answer(d, False))
    before = center.url
    await center.get_by_role("button", name="Khóa tài khoản").click()
    await center.wait_for_timeout(300)
    assert asked == ["Khóa tài khoản mt.hoa? Người này bị đăng xuất ngay và các mã API của họ ngừng "
                     "hoạt động."] and center.url == before
    await officer.reload()
    assert officer.url == f"{base}/console/"  # still signed in
    center.once("dialog", lambda d: answer(d, True))
    async with center.expect_navigation():
        await center.get_by_role("button", name="Khóa tài khoản").click()
    assert "Đã khóa tài khoản" in await center.locator("[role=status]").first.inner_text()
    await shots.take(center, "account-disabled")
    # The officer's next click lands on the login page; logging in again is refused.
    await officer.reload()
    assert officer.url.startswith(f"{base}/console/login")
    await log_in(officer, base, "mt.hoa")
    assert "đã bị khóa" in await officer.locator("[role=alert]").inner_text()
    # The refused login is a 403 (and the browser logs it); nothing else failed.
    assert [e for e in errors if "403" not in e] == []


async def test_filters_update_the_table_in_place(browser: Any, site: tuple[str, ConsoleDB],
                                                 shots: Shots) -> None:
    base, _ = site
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 800})
    await log_in(page, base, "tt.lan")
    await page.evaluate("window.__same_document = true")
    async with page.expect_response(lambda r: "status=forwarded" in r.url):
        await page.locator("#f-status").select_option("forwarded")
    await page.wait_for_load_state("networkidle")
    rows = await page.locator("table.queue tbody tr td:first-child").all_inner_texts()
    assert rows == ["PA-2026-000102", "PA-2026-000104"]
    assert await page.evaluate("window.__same_document") is True  # htmx swapped, no reload
    assert "status=forwarded" in page.url  # and the URL can be shared or bookmarked
    assert "Quá hạn 2 ngày" in await page.locator("tr.sla-late").inner_text()
    async with page.expect_response(lambda r: "overdue=1" in r.url):
        await page.locator("#f-overdue").check()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("table.queue tbody tr td:first-child").all_inner_texts() == ["PA-2026-000102"]
    await shots.take(page, "queue-filtered")
    # Without JavaScript the same form works as a plain GET.
    ctx = await browser.new_context(java_script_enabled=False, locale="vi-VN")
    plain = await ctx.new_page()
    await log_in(plain, base, "tt.lan")
    await plain.locator("#f-q").fill("ổ gà")
    async with plain.expect_navigation():
        await plain.locator("#f-q").press("Enter")
    assert await plain.locator("table.queue tbody tr td:first-child").all_inner_texts() == ["PA-2026-000104"]
    await ctx.close()
    assert errors == []


async def test_phone_screen(browser: Any, site: tuple[str, ConsoleDB], shots: Shots) -> None:
    base, _ = site
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 390, "height": 844}, is_mobile=True,
                          has_touch=True, device_scale_factor=2)
    await log_in(page, base, "mt.hoa")
    # Nothing wider than the screen: rows become cards.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert await page.locator("table.queue tbody tr").first.evaluate("e => getComputedStyle(e).display") == "block"
    await shots.take(page, "queue-phone")
    assert errors == []


def _png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A plain-colour PNG (a map tile without any network)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


async def test_report_page_with_map(browser: Any, sqlite_console_db: ConsoleDB, aiohttp_server: Any,
                                    shots: Shots) -> None:
    from aiohttp import web

    from store.models import Contact, OutboxMessage, ReportEvent

    db = sqlite_console_db
    await db.add_account("tt.lan", "center", name="Trần Thị Lan")
    await db.add_account("xd.nam", "agency", "so-xay-dung")
    async with db.sessions() as session, session.begin():
        contact = Contact(channel="zalo", channel_user_id="z-9", name="Phạm Văn Bình", phone="0905123456")
        session.add(contact)
        await session.flush()
        contact_id = contact.id
    report = await db.add_report(code="PA-2026-000201", status="forwarded", agency_id="moi-truong",
                                 category="environment", category_confidence=0.91, contact_id=contact_id,
                                 lat=16.4637, lon=107.5909, ward="Phường Thuận Hóa", address="Bến Tòa Khâm",
                                 description="Rác thải sinh hoạt đổ tràn xuống bờ sông Hương, bốc mùi.",
                                 due_at=utcnow() + timedelta(days=3))
    async with db.sessions() as session, session.begin():
        session.add_all([
            ReportEvent(report_id=report.id, actor="system", status_to="received"),
            ReportEvent(report_id=report.id, actor="user:tt.lan", status_from="triage", status_to="forwarded",
                        note="Chuyển Công ty Môi trường đô thị Huế xử lý"),
            OutboxMessage(channel="zns", address="84905123456", report_id=report.id, state="dead",
                          attempts=1, last_error="channels.zalo.zns_template_id is not configured")])
    tiles: list[str] = []

    async def tile(request: web.Request) -> web.Response:
        tiles.append(request.path)
        return web.Response(body=_png((170, 211, 223)), content_type="image/png")

    app = console_app(db, tile_url="/tiles/{z}/{x}/{y}.png", tile_attribution="Bản đồ thử")
    app.router.add_get("/tiles/{z}/{x}/{y}.png", tile)
    base = f"http://127.0.0.1:{(await aiohttp_server(app)).port}"
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 1000})
    await log_in(page, base, "tt.lan")
    async with page.expect_navigation():
        await page.get_by_role("link", name="PA-2026-000201").click()
    await page.wait_for_selector("#map[data-ready='1'] .leaflet-marker-icon")
    await page.wait_for_load_state("networkidle")
    assert tiles and all(t.startswith("/tiles/16/") for t in tiles)
    text = await page.locator("main").inner_text()
    for expected in ("Phạm Văn Bình", "Trần Thị Lan", "Chuyển Công ty Môi trường đô thị Huế xử lý",
                     "Vệ sinh môi trường", "91%", "Còn 2 ngày 23 giờ", "Hệ thống",
                     "Kênh gửi chưa được thiết lập đầy đủ"):
        assert expected in text, expected
    # the sender's own words only when asked for
    detail = page.locator("details.tech code")
    assert not await detail.is_visible()
    await page.locator("details.tech summary").click()
    assert await detail.inner_text() == "channels.zalo.zns_template_id is not configured"
    await shots.take(page, "report")
    # On a phone the page (action forms with long agency names included) fits the screen.
    await page.set_viewport_size({"width": 390, "height": 844})
    wide = await page.evaluate("document.documentElement.scrollWidth")
    await shots.take(page, "report-phone")
    assert wide <= 390, wide
    # Another agency's officer: the same page is a 404.
    other = await new_page(browser, errors, viewport={"width": 1280, "height": 800})
    await log_in(other, base, "xd.nam")
    answer = await other.goto(f"{base}/console/reports/PA-2026-000201")
    assert answer.status == 404 and "Phạm Văn Bình" not in await other.content()
    assert [e for e in errors if "404" not in e] == []


async def test_hotline_works_the_callback_list(browser: Any, site: tuple[str, ConsoleDB], shots: Shots) -> None:
    from store.callbacks import add_callback

    base, db = site
    async with db.sessions() as session, session.begin():
        await add_callback(session, phone="0234 3822 111", report_code="PA-2026-000103",
                           text="Phản ánh PA-2026-000103 đã xử lý xong: đã thu gom rác.",
                           reason="số bàn, không nhận SMS")
        await add_callback(session, phone="0905 123 456", report_code="PA-2026-000104",
                           text="Phản ánh PA-2026-000104 đã chuyển Sở Xây dựng.", reason="SMS lỗi")
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 800})
    await log_in(page, base, "td.minh")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Gọi lại").click()
    await shots.take(page, "callbacks")
    field = page.get_by_label("Kết quả cuộc gọi 1")
    await field.fill("Đã báo, ông Bình cảm ơn")
    async with page.expect_navigation():  # the outcome is a text box (a few lines): the button sends it
        await page.locator("form.callback-done", has=field).get_by_role("button", name="Đã gọi").click()
    assert page.url == f"{base}/console/callbacks"
    rows = await page.locator("table.callbacks tbody tr td:first-child").all_inner_texts()
    assert rows == ["PA-2026-000104"]
    async with page.expect_navigation():
        await page.get_by_role("link", name="Đã gọi").click()
    assert "Đã báo, ông Bình cảm ơn" in await page.locator("table.callbacks").inner_text()
    assert errors == []


def test_chromium_path_is_what_ci_installs() -> None:
    """.ci/run installs Debian's chromium; the tests use that binary, never a download."""
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "chromium" in ci, ".ci/run must install chromium for the browser tests"
    assert shutil.which("chromium") in (None, CHROMIUM)
