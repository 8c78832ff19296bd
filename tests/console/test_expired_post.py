"""A form posted after the session went idle: the officer is sent to the login with the form's
page as ``next`` and told that the session expired and what was typed was not saved; after the
login they are back on that page (not the queue)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import update

from store.models import ConsoleSession, utcnow
from tests.console.conftest import ConsoleDB, csrf_of, login


async def _expire(db: ConsoleDB) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(hours=3)))


async def test_post_after_the_session_expired(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("td.minh", "hotline")
    client = await console_client(console_db)
    await login(client, "td.minh")
    page = await client.get("/console/calls/new")
    csrf = csrf_of(await page.text())
    await _expire(console_db)
    own = f"http://{client.server.host}:{client.server.port}"
    data = {"csrf_token": csrf, "phone": "0914222333", "text": "Cháy rác", "address": ""}

    resp = await client.post("/console/calls", data=data, allow_redirects=False,
                             headers={"Referer": own + "/console/calls/new"})
    assert resp.status == 303
    location = resp.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert urlsplit(location).path == "/console/login"
    assert query["next"] == ["/console/calls/new"] and query["expired"] == ["1"]
    html = await (await client.get(location)).text()
    assert "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại" in html
    assert "chưa được gửi" in html
    assert 'name="next" value="/console/calls/new"' in html

    # Without a Referer (or another site's): the page that holds the form posted to.
    for headers in ({}, {"Referer": "https://evil.example/console/accounts"}):
        resp = await client.post("/console/reports/PA-2026-000001/reply", data={"text": "x"},
                                 allow_redirects=False, headers=headers)
        assert parse_qs(urlsplit(resp.headers["Location"]).query)["next"] == [
            "/console/reports/PA-2026-000001"]
    resp = await client.post("/console/calls", data=data, allow_redirects=False)
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["next"] == ["/console/calls/new"]

    # Logging in from that page lands on the form again.
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = await client.post("/console/login", data={
        "csrf_token": token, "username": "td.minh", "password": "mật-khẩu-thử-123",
        "next": "/console/calls/new"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/calls/new"
