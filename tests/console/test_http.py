"""The console over HTTP (aiohttp test client): sessions, cookies, CSRF, roles, pages."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from store.models import ConsoleSession, utcnow
from tests.console.conftest import PASSWORD, ConsoleDB, csrf_of, login


async def test_no_session_redirects_to_login(console_db: ConsoleDB, console_client) -> None:
    client = await console_client(console_db)
    for path in ("/console/", "/console/accounts", "/console/password", "/console/reports/PA-2026-000001"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 303, path
        assert resp.headers["Location"].startswith("/console/login"), path
    resp = await client.get("/console/accounts?x=1", allow_redirects=False)
    assert resp.headers["Location"] == "/console/login?next=%2Fconsole%2Faccounts%3Fx%3D1"
    # htmx asks for a client-side redirect instead of swapping the login page into the table.
    resp = await client.get("/console/", headers={"HX-Request": "true"}, allow_redirects=False)
    assert resp.status == 200 and resp.headers["HX-Redirect"] == "/console/login"
    resp = await client.get("/console", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/"


async def test_login_sets_a_server_side_session_cookie(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center", name="Trần Thị Lan")
    client = await console_client(console_db)
    resp = await login(client, "TT.Lan")  # usernames are case-insensitive
    assert resp.status == 303 and resp.headers["Location"] == "/console/"
    cookie = resp.cookies["hub_console"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/console"
    assert not cookie["secure"]  # http public_base_url
    async with console_db.sessions() as session:
        stored = list((await session.execute(select(ConsoleSession))).scalars())
    # Only a hash of the cookie value is stored.
    assert len(stored) == 1 and stored[0].id_hash != cookie.value and len(stored[0].id_hash) == 64
    page = await client.get("/console/")
    assert page.status == 200
    html = await page.text()
    assert "Trần Thị Lan" in html and "Hàng đợi phản ánh" in html and 'lang="vi"' in html
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


async def test_secure_cookie_when_public_url_is_https(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db, public_base_url="https://phananh.hue.gov.vn")
    page = await client.get("/console/login")
    login_cookie = page.cookies["hub_console_login"]
    assert login_cookie["secure"] and login_cookie["httponly"]
    # The test server speaks http, so the client keeps Secure cookies to itself: send it by hand.
    resp = await client.post("/console/login", cookies={"hub_console_login": login_cookie.value},
                             data={"csrf_token": csrf_of(await page.text()), "username": "tt.lan",
                                   "password": PASSWORD}, allow_redirects=False)
    assert resp.status == 303
    cookie = resp.cookies["hub_console"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


async def test_wrong_password_and_unknown_user_look_the_same(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db)
    wrong = await login(client, "tt.lan", "sai-mat-khau-123")
    nobody = await login(client, "khong.co", "sai-mat-khau-123")
    assert wrong.status == nobody.status == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in await wrong.text()
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in await nobody.text()
    assert "hub_console" not in wrong.cookies


async def test_post_without_csrf_is_403(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db)
    await login(client, "tt.lan")
    form = {"username": "moi.nguoi", "role": "viewer", "password": PASSWORD}
    resp = await client.post("/console/accounts", data=form, allow_redirects=False)
    assert resp.status == 403
    resp = await client.post("/console/accounts", data={**form, "csrf_token": "doan-bua"},
                             allow_redirects=False)
    assert resp.status == 403
    resp = await client.post("/console/logout", allow_redirects=False)
    assert resp.status == 403
    # Nothing was created; with the page's token the same form works. The form names no role
    # until one is chosen (the full-rights role used to be preselected).
    page = await (await client.get("/console/accounts")).text()
    assert '<option value="" selected disabled>— Chọn vai trò —</option>' in page
    assert 'value="center" selected' not in page
    token = csrf_of(page)
    resp = await client.post("/console/accounts", data={**form, "csrf_token": token}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/accounts/moi.nguoi"
    # The htmx header carries the token as well.
    resp = await client.post("/console/accounts/moi.nguoi/disable", headers={"X-CSRF-Token": token})
    assert resp.status == 200 and "Đã khóa tài khoản" in await resp.text()


async def test_login_form_needs_its_csrf_cookie(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db)
    resp = await client.post("/console/login", data={"username": "tt.lan", "password": PASSWORD,
                                                     "csrf_token": "x"}, allow_redirects=False)
    assert resp.status == 403 and "hub_console" not in resp.cookies


async def test_logout_ends_the_session_server_side(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db)
    resp = await login(client, "tt.lan")
    raw = resp.cookies["hub_console"].value
    token = csrf_of(await (await client.get("/console/")).text())
    resp = await client.post("/console/logout", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/login"
    # Replaying the old cookie (say, copied before logout) no longer works.
    client.session.cookie_jar.clear()
    resp = await client.get("/console/", cookies={"hub_console": raw}, allow_redirects=False)
    assert resp.status == 303


async def test_disabled_account_session_stops_at_once(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    center = await console_client(console_db)
    officer = await console_client(console_db)
    await login(center, "tt.lan")
    await login(officer, "mt.hoa")
    assert (await officer.get("/console/", allow_redirects=False)).status == 200
    token = csrf_of(await (await center.get("/console/accounts/mt.hoa")).text())
    resp = await center.post("/console/accounts/mt.hoa/disable", data={"csrf_token": token})
    assert resp.status == 200
    assert (await officer.get("/console/", allow_redirects=False)).status == 303
    # And the password no longer opens a session.
    resp = await login(officer, "mt.hoa")
    assert resp.status == 403 and "đã bị khóa" in await resp.text()


async def test_expired_and_idle_sessions_end(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db)
    await login(client, "tt.lan")
    assert (await client.get("/console/", allow_redirects=False)).status == 200
    async with console_db.sessions() as session, session.begin():
        await session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    assert (await client.get("/console/", allow_redirects=False)).status == 303


async def test_roles_on_the_accounts_page(console_db: ConsoleDB, console_client) -> None:
    for username, role, agency in (("tt.lan", "center", None), ("td.minh", "hotline", None),
                                   ("mt.hoa", "agency", "moi-truong"), ("ld.xem", "viewer", None)):
        await console_db.add_account(username, role, agency)
    for username, expected in (("tt.lan", 200), ("td.minh", 403), ("mt.hoa", 403), ("ld.xem", 403)):
        client = await console_client(console_db)
        await login(client, username)
        resp = await client.get("/console/accounts", allow_redirects=False)
        assert resp.status == expected, username
        page = await (await client.get("/console/")).text()
        assert ('href="/console/accounts"' in page) == (expected == 200), username


async def test_next_parameter_stays_inside_the_console(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db)
    for target, expected in (("/console/accounts", "/console/accounts"),
                             ("https://evil.example/", "/console/"), ("//evil.example/", "/console/"),
                             ("/console//evil", "/console/"), ("javascript:alert(1)", "/console/"),
                             # resolved as the browser will: ".." may not leave the console
                             ("/console/../../r/PA-2026-000001", "/console/"),
                             ("/console/%2e%2e/r/PA-2026-000001", "/console/"),
                             ("/console/.\t./r/PA-2026-000001", "/console/"),
                             ("/console/../console/login", "/console/"),
                             ("/console/reports/../accounts?x=1", "/console/accounts?x=1"),
                             ("/console/?q=ổ gà", "/console/?q=ổ gà")):
        client.session.cookie_jar.clear()
        page = await client.get("/console/login", params={"next": target})
        html = await page.text()
        resp = await client.post("/console/login", data={
            "csrf_token": csrf_of(html), "username": "tt.lan", "password": PASSWORD,
            "next": target}, allow_redirects=False)
        assert resp.headers["Location"] == expected, target


async def test_static_files_are_served_without_a_session(console_db: ConsoleDB, console_client) -> None:
    client = await console_client(console_db)
    for path in ("/console/static/vendor/htmx-2.0.11/htmx.min.js",
                 "/console/static/vendor/leaflet-1.9.4/leaflet.js",
                 "/console/static/console/console.css"):
        resp = await client.get(path)
        assert resp.status == 200, path


def test_csp_allows_the_tile_server_only() -> None:
    from web.console.auth import _csp

    assert "img-src 'self' data: https://*.tile.example.org;" in _csp("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data:;" in _csp("/tiles/{z}/{x}/{y}.png")
    assert "script-src 'self';" in _csp("/tiles/{z}/{x}/{y}.png")


async def test_unknown_pages_are_console_404s(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db)
    assert (await client.get("/console/khong-co", allow_redirects=False)).status == 303  # login first
    await login(client, "tt.lan")
    for path in ("/console/khong-co", "/console/accounts/khong.co", "/console/callbacks/x/done"):
        resp = await client.get(path)
        assert resp.status in (404, 405), path
        if resp.status == 404:
            assert "Không" in await resp.text() and resp.headers["Cache-Control"] == "no-store", path


async def test_repeated_wrong_passwords_are_slowed_then_locked(console_db: ConsoleDB, console_client) -> None:
    from store.accounts import ThrottlePolicy

    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db, throttle=ThrottlePolicy(
        free_failures=2, base_delay=timedelta(seconds=30), lock_after=2, lock_for=timedelta(minutes=15)))
    assert [(await login(client, "tt.lan", "sai-mat-khau-1")).status for _ in range(2)] == [401, 401]
    # Locked now: even the right password is refused, with the time to wait.
    resp = await login(client, "tt.lan")
    assert resp.status == 429 and 890 <= int(resp.headers["Retry-After"]) <= 900
    assert "tạm khóa" in await resp.text() and "15 phút" in await resp.text()
    assert "hub_console" not in resp.cookies


async def test_the_attempt_after_three_failures_waits_two_seconds(console_db: ConsoleDB,
                                                                  console_client) -> None:
    """docs/console.md: "after 3 failures each further attempt must wait 2 s" — the fourth
    attempt, not the fifth (the default policy)."""
    from store.accounts import ThrottlePolicy

    await console_db.add_account("tt.lan", "center")
    client = await console_client(console_db, throttle=ThrottlePolicy())
    statuses = [(await login(client, "tt.lan", "sai-mat-khau-1")).status for _ in range(3)]
    assert statuses == [401, 401, 401]
    fourth = await login(client, "tt.lan")
    # 2 s from the third failure (1 when the machine took over a second to answer the 4th)
    assert fourth.status == 429 and fourth.headers["Retry-After"] in ("1", "2")
    assert "Đăng nhập sai nhiều lần" in await fourth.text() and "hub_console" not in fourth.cookies
