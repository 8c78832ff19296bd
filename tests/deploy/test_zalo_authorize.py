"""`hub zalo-authorize` → an OA admin approves at Zalo → the hub's callback checks the state,
exchanges the code with the PKCE verifier and stores the tokens; the channel then sends with them.
Zalo's OAuth server is a loopback fake that checks the S256 challenge as Zalo does."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from channels.zalo.oauth import challenge_for
from hub.keys import HUB_KEY
from hub.settings import load_settings
from normalizer.schema import OutboundMessage
from store.models import ChannelState

ROOT = Path(__file__).resolve().parents[2]
APP_ID, APP_SECRET = "3608465249409039671", "app-secret-for-tests"


class FakeZaloOAuth:
    """Zalo's consent page (the admin approves at once) and token endpoint."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.challenges: dict[str, str] = {}  # code → the challenge it was issued for
        self.exchanges: list[dict[str, str]] = []
        api.on("GET", "/v4/oa/permission", default=self.permission)
        api.on("POST", "/v4/oa/access_token", default=self.token)
        api.on("POST", "/v3.0/oa/message/cs", default=self.cs)

    async def permission(self, request: web.Request, _body: bytes) -> web.StreamResponse:
        q = request.query
        assert q["app_id"] == APP_ID and q["code_challenge"] and q["state"]
        code = f"code-{len(self.challenges) + 1}"
        self.challenges[code] = q["code_challenge"]
        back = urlencode({"code": code, "oa_id": "5555", "state": q["state"],
                          "code_challenge": q["code_challenge"]})
        raise web.HTTPFound(f"{q['redirect_uri']}?{back}")

    async def token(self, request: web.Request, _body: bytes) -> web.Response:
        form = dict(await request.post())
        self.exchanges.append(form)
        if request.headers.get("secret_key") != APP_SECRET:
            return web.json_response({"error": -14002, "error_name": "Invalid secret key"})
        code = form.get("code", "")
        if form.get("grant_type") != "authorization_code" or code not in self.challenges:
            return web.json_response({"error": -14019, "error_name": "Invalid code"})
        if challenge_for(form.get("code_verifier", "")) != self.challenges.pop(code):
            return web.json_response({"error": -14020, "error_name": "Invalid code verifier"})
        return web.json_response({"access_token": f"AT-{code}", "refresh_token": f"RT-{code}",
                                  "expires_in": "90000"})

    async def cs(self, request: web.Request, _body: bytes) -> web.Response:
        if not str(request.headers.get("access_token", "")).startswith("AT-code-"):
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": "zmsg1", "user_id": "u1"}})


@pytest.fixture
async def oauth_setup(tmp_path: Path, fake_api: Any, hub_client: Any) -> Any:
    api = await fake_api()
    fake = FakeZaloOAuth(api)
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'''log_format = "text"
[server]
public_base_url = "https://hub.example.vn"
[database]
url = "sqlite+aiosqlite:///{tmp_path}/hub.db"
[storage]
media_dir = "{tmp_path}/media"
[workers]
poll_seconds = 0.05
[channels.zalo]
enabled = true
app_id = "{APP_ID}"
app_secret = "{APP_SECRET}"
oa_secret_key = "oa-secret"
oauth_base = "{api.url}"
api_base = "{api.url}"
''')
    client = await hub_client(load_settings(cfg, environ={}))
    return cfg, fake, client


async def authorize(cfg: Path) -> str:
    """The command in its own process, as an operator runs it beside serve (in a thread: the
    hub under test keeps running on this loop meanwhile)."""
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "main.py", "zalo-authorize", "--config", str(cfg)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "https://hub.example.vn/oauth/zalo/callback" in proc.stdout
    return proc.stdout.strip().splitlines()[-1]


async def approve(url: str) -> str:
    """The OA admin's browser at Zalo: returns where Zalo sends it back (path and query)."""
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as resp:
        assert resp.status == 302
        back = urlsplit(resp.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == "https://hub.example.vn"
    return f"{back.path}?{back.query}"


async def test_authorize_round_trip_stores_tokens_and_the_channel_sends(oauth_setup: Any) -> None:
    cfg, fake, client = oauth_setup
    hub = client.app[HUB_KEY]
    # Before the grant the channel runs, and sending waits — paused, which the outbox does not
    # count as an attempt (a retry was: after 8 of them, ~10 minutes, the message was dead) —
    # instead of failing; the recheck job keeps it paused while there is no grant.
    adapter = hub.channels["zalo"]
    before = await hub.senders["zalo"].send("u1", OutboundMessage(text="Xin chào"))
    assert before.status == "paused" and "zalo-authorize" in (before.reason or "")
    hub.pause("zalo", before.reason)
    await adapter.recheck_grant()
    assert hub.is_paused("zalo") and adapter.client.awaiting_grant

    url = await authorize(cfg)
    query = parse_qs(urlsplit(url).query)
    assert query["app_id"] == [APP_ID]
    assert query["redirect_uri"] == ["https://hub.example.vn/oauth/zalo/callback"]
    assert len(query["code_challenge"][0]) == 43 and "=" not in query["code_challenge"][0]

    callback = await approve(url)
    resp = await client.get(callback)
    assert resp.status == 200, await resp.text()
    assert "Đã kết nối Zalo OA" in await resp.text()
    [exchange] = fake.exchanges
    assert exchange["grant_type"] == "authorization_code" and exchange["app_id"] == APP_ID
    assert challenge_for(exchange["code_verifier"]) == query["code_challenge"][0]
    async with hub.sessions() as session:
        row = await session.get(ChannelState, "zalo:tokens")
        assert (row.value["access_token"], row.value["refresh_token"]) == ("AT-code-1", "RT-code-1")
        pending = await session.get(ChannelState, "zalo:oauth:pending")
        assert pending.value == {}  # the state is used up
    assert not hub.is_paused("zalo")  # the callback resumed this replica
    sent = await hub.senders["zalo"].send("u1", OutboundMessage(text="Xin chào"))
    assert sent.status == "sent", sent.reason
    # a replica the callback did not reach: its recheck job finds the stored grant and resumes
    adapter.client.awaiting_grant = True
    hub.pause("zalo", "no OAuth grant yet (run `hub zalo-authorize`)")
    await adapter.recheck_grant()
    assert not hub.is_paused("zalo") and not adapter.client.awaiting_grant

    # The same callback again (a replayed URL): refused, tokens unchanged.
    again = await client.get(callback)
    assert again.status == 403 and "already used" in await again.text()


async def test_callback_refuses_a_forged_state_and_a_wrong_verifier(oauth_setup: Any) -> None:
    cfg, fake, client = oauth_setup
    url = await authorize(cfg)
    callback = await approve(url)
    forged = callback.replace("state=", "state=x")
    resp = await client.get(forged)
    assert resp.status == 403 and not fake.exchanges  # never reaches Zalo
    missing = await client.get("/oauth/zalo/callback?code=abc")
    assert missing.status == 400

    # A second authorization URL: its code presented with the first URL's state is refused by
    # Zalo (the verifier belongs to another challenge) and nothing is stored.
    first_state = parse_qs(urlsplit(callback).query)["state"][0]
    other = parse_qs(urlsplit(await approve(await authorize(cfg))).query)
    resp = await client.get("/oauth/zalo/callback?" + urlencode(
        {"code": other["code"][0], "state": first_state}))
    assert resp.status == 502 and "Invalid code verifier" in await resp.text()
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session:
        tokens = (await session.execute(select(ChannelState).where(
            ChannelState.key == "zalo:tokens"))).scalar_one()
        assert tokens.value["access_token"] == ""
