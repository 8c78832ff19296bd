"""Behind the documented reverse proxy every request comes from loopback: the login throttle's
address key must be the client's (the last X-Forwarded-For entry the local proxy adds), or one
attacker's wrong passwords lock every officer out (walkthrough: 16 failures with made-up names,
then the real center officer got 429)."""
from __future__ import annotations

import re

from sqlalchemy import select

from store.models import LoginThrottle
from tests.console.conftest import ConsoleDB


async def _login(client, username: str, password: str, client_ip: str):
    headers = {"X-Forwarded-For": client_ip}
    page = await client.get("/console/login", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    return await client.post("/console/login", headers=headers, allow_redirects=False,
                             data={"csrf_token": token, "username": username, "password": password})


async def test_one_clients_failures_do_not_lock_out_another(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    attacker, officer = await console_client(console_db), await console_client(console_db)
    for i in range(16):
        resp = await _login(attacker, f"khong-co-{i}", "sai-mat-khau-123", "203.0.113.66")
        assert resp.status in (200, 401, 429)
    resp = await _login(officer, "tt.lan", "mật-khẩu-thử-123", "198.51.100.7")
    assert resp.status == 303, await resp.text()
    async with console_db.sessions() as session:
        keys = set((await session.execute(select(LoginThrottle.key))).scalars())
    assert "ip:203.0.113.66" in keys and not any(k.startswith("ip:127.") for k in keys)
