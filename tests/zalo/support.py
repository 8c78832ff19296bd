"""Zalo test support: signed webhook requests from fixtures, settings, and a stateful fake of the
Zalo OpenAPI + OAuth server (served by tests.fakes.FakeAPI on loopback)."""
from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from channels.zalo.adapter import sign_headers
from tests.fakes import FakeAPI

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zalo"
APP_ID = "3608465249409039671"
OA_SECRET = "oa-secret-for-tests"
APP_SECRET = "app-secret-for-tests"
USER = "2468458835291979221"
CS = "/v3.0/oa/message/cs"
OAUTH = "/v4/oa/access_token"
ZNS = "/zns/message/template"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture(name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(name))


def api_answer(name: str) -> dict[str, Any]:
    """A recorded answer of Zalo's API (tests/fixtures/zalo/api/), for the sender tests."""
    return json.loads((FIXTURES / "api" / f"{name}.json").read_bytes())


def event_names() -> list[str]:
    """The webhook event fixtures (their expectations beside them, the API answers in api/)."""
    return sorted(p.stem for p in FIXTURES.glob("*.json") if not p.name.endswith(".expected.json"))


def signed(raw: bytes, secret: str = OA_SECRET) -> dict[str, str]:
    """Headers as Zalo signs: app_id and timestamp as written in the body."""
    from channels.zalo.parse import loads

    body = loads(raw)
    return sign_headers(raw, str(body.get("app_id", "")), str(body.get("timestamp", "")), secret)


def zalo_settings(api_url: str, **extra: Any) -> dict[str, Any]:
    return {"channels": {"zalo": {
        "enabled": True, "app_id": APP_ID, "oa_secret_key": OA_SECRET, "app_secret": APP_SECRET,
        "access_token": "AT-0", "refresh_token": "RT-0", "api_base": api_url,
        "oauth_base": api_url, "zns_base": api_url + "/zns", "zns_template_id": "305678",
        **extra}}}


class FakeZalo:
    """Zalo's side: the current access token, a single-use refresh-token chain, and the send
    endpoints. A reused or unknown refresh token is refused, as Zalo does."""

    def __init__(self, api: FakeAPI, access: str = "AT-0", refresh: str = "RT-0",
                 oauth_delay: float = 0.2) -> None:
        self.api = api
        self.valid_access = {access}
        self.refresh_token = refresh
        self.used: list[str] = []
        self.issued = itertools.count(1)
        self.oauth_delay = oauth_delay
        self.refused_refreshes = 0
        self.sent_ids = itertools.count(1)
        api.on("POST", OAUTH, default=self.oauth)
        api.on("POST", CS, default=self.cs)
        api.on("POST", ZNS, default=self.cs)

    @property
    def oauth_calls(self) -> int:
        return len(self.api.calls_to(OAUTH))

    async def oauth(self, request: web.Request, body: bytes) -> web.Response:
        form = await request.post()
        token = str(form.get("refresh_token", ""))
        await asyncio.sleep(self.oauth_delay)  # a slow endpoint widens any race
        if request.headers.get("secret_key") != APP_SECRET or token != self.refresh_token:
            self.refused_refreshes += 1
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                      "error_description": "refresh token invalid or used"})
        self.used.append(token)
        n = next(self.issued)
        self.refresh_token = f"RT-{n}"
        self.valid_access = {f"AT-{n}"}
        return web.json_response({"access_token": f"AT-{n}", "refresh_token": f"RT-{n}",
                                  "expires_in": "90000"})

    async def cs(self, request: web.Request, body: bytes) -> web.Response:
        if request.headers.get("access_token") not in self.valid_access:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        n = next(self.sent_ids)
        return web.json_response({"error": 0, "message": "Success", "data": {
            "message_id": f"zmsg{n:016d}", "msg_id": f"zmsg{n:016d}", "user_id": USER,
            "sent_time": "1767252650000"}})


def stamped(name: str, **changes: Any) -> bytes:
    """A fixture re-stamped with the current time (so chat assembly sees it as live), with
    top-level or ``message`` fields changed; serialized as Zalo does (compact JSON)."""
    import time

    body = fixture(name)
    body["timestamp"] = str(int(time.time() * 1000))
    body["app_id"] = APP_ID  # a live event is for our app (the hub refuses others')
    for key, value in changes.items():
        if key in ("msg_id", "text") and isinstance(body.get("message"), dict):
            body["message"][key] = value
        elif key == "sender":
            body["sender"] = {"id": value}
        else:
            body[key] = value
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
