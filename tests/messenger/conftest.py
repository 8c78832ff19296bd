"""Messenger test helpers: settings pointing at a fake Graph API, signed webhook posts, and small
builders for live events (current timestamps, so the 24-hour window and assembly apply)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.keys import HUB_KEY
from tests.fakes import FakeAPI

APP_SECRET = "test-app-secret-4f1c"
VERIFY_TOKEN = "test-verify-token-9b2e"
PAGE_TOKEN = "EAAtest-page-token-77aa"
PAGE_ID = "104857600123456"
GRAPH_PATH = "/v21.0/me/messages"


def messenger_section(api_url: str, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
            "page_access_token": PAGE_TOKEN, "graph_api_base": f"{api_url}/v21.0",
            "media_hosts": ["127.0.0.1"], **extra}


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def now_ms(offset_seconds: float = 0) -> int:
    return int((time.time() + offset_seconds) * 1000)


def message(psid: str, mid: str, text: str = "", *, attachments: list[dict] | None = None,
            ts: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"mid": mid}
    if text:
        body["text"] = text
    if attachments:
        body["attachments"] = attachments
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID},
            "timestamp": now_ms() if ts is None else ts, "message": body}


def image(url: str) -> dict[str, Any]:
    return {"type": "image", "payload": {"url": url}}


def batch(*entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Each argument is one entry's ``messaging`` list."""
    return {"object": "page", "entry": [
        {"id": PAGE_ID, "time": now_ms(), "messaging": items} for items in entries]}


@dataclass
class MessengerHub:
    client: Any
    graph: FakeAPI

    @property
    def hub(self) -> Any:
        return self.client.app[HUB_KEY]

    async def post(self, body: Any, *, signature: str | None = None,
                   raw: bytes | None = None) -> Any:
        raw = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": sign(raw) if signature is None else signature}
        if signature == "":
            del headers["X-Hub-Signature-256"]
        return await self.client.post("/webhooks/messenger", data=raw, headers=headers)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.hub.sessions() as session:
            return (await session.execute(select(func.count()).select_from(model).where(*where))
                    ).scalar_one()

    def sends(self) -> list[dict[str, Any]]:
        return [c.json() for c in self.graph.calls_to(GRAPH_PATH)]

    async def reports(self) -> list[Any]:
        from store.models import Report

        async with self.hub.sessions() as session:
            return list((await session.execute(select(Report).order_by(Report.id))).scalars())

    async def settled(self) -> None:
        """Until the inbox worker has taken every event posted so far."""
        from store.models import InboxEvent
        from tests.conftest import wait_for

        async def done() -> bool:
            return await self.count(InboxEvent, InboxEvent.state.in_(("pending", "claimed"))) == 0
        await wait_for(done)


@pytest.fixture
async def messenger(settings_factory: Callable[..., Any], hub_client: Any,
                    fake_api: Callable[[], Awaitable[FakeAPI]]
                    ) -> Callable[..., Awaitable[MessengerHub]]:
    """Start the hub with Messenger on, talking to a fake Graph API that accepts sends."""
    async def start(**section: Any) -> MessengerHub:
        graph = await fake_api()
        counter = {"n": 0}

        async def accept(request: Any, body: bytes) -> Any:
            from aiohttp import web

            counter["n"] += 1
            recipient = json.loads(body)["recipient"]
            return web.json_response({"recipient_id": recipient.get("id"),
                                      "message_id": f"m_out_{counter['n']}"})
        graph.on("POST", GRAPH_PATH, default=accept)
        settings = settings_factory(channels={"messenger": messenger_section(graph.url, **section)})
        return MessengerHub(await hub_client(settings), graph)
    return start
