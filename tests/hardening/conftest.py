"""A hub with every push channel on (fake provider APIs on loopback) and the helpers the
hardening tests share: signed requests per channel, an agency token."""
from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from hub.keys import HUB_KEY
from store.tokens import issue_token
from tests.fakes import FakeAPI
from tests.messenger.conftest import messenger_section, sign
from tests.telegram.conftest import bot_api, telegram_hub  # noqa: F401 - fixtures used here too
from tests.telegram.fakebot import SECRET as TG_SECRET
from tests.telegram.fakebot import channel_settings as telegram_settings
from tests.telegram.fakebot import serve as serve_bot
from tests.zalo.support import FakeZalo, signed, zalo_settings


@dataclass
class Channels:
    client: Any  # aiohttp TestClient of the whole hub
    center_token: str
    graph: FakeAPI | None = None  # Messenger's Graph API
    bot: FakeAPI | None = None  # Telegram's Bot API

    @property
    def hub(self) -> Any:
        return self.client.app[HUB_KEY]

    async def messenger(self, raw: bytes) -> Any:
        return await self.client.post("/webhooks/messenger", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})

    async def telegram(self, raw: bytes) -> Any:
        return await self.client.post("/webhooks/telegram", data=raw, headers={
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})

    async def zalo(self, raw: bytes, headers: dict[str, str] | None = None) -> Any:
        if headers is None:
            try:
                headers = signed(raw)
            except Exception:  # not JSON: send it unsigned
                headers = {"Content-Type": "application/json"}
        return await self.client.post("/webhooks/zalo", data=raw, headers=headers)

    async def agency(self, path: str, raw: bytes) -> Any:
        return await self.client.post(path, data=raw, headers={
            "Authorization": f"Bearer {self.center_token}", "Content-Type": "application/json"})


def zalo_event(text: str = "Rác thải ở đường Lê Lợi", *, ts_ms: int | None = None,
               msg_id: str | None = None, app_id: str | None = None) -> bytes:
    from tests.zalo.support import APP_ID, USER

    ts = str(int(time.time() * 1000) if ts_ms is None else ts_ms)
    body = {"app_id": app_id or APP_ID, "user_id_by_app": "552177279717587730",
            "event_name": "user_send_text", "timestamp": ts,
            "sender": {"id": USER}, "recipient": {"id": "579745863508352884"},
            "message": {"msg_id": msg_id or f"m{time.time_ns()}", "text": text}}
    return json.dumps(body, ensure_ascii=False).encode()


@pytest.fixture
def channels_hub(settings_factory: Any, hub_client: Any,
                 fake_api: Callable[[], Awaitable[FakeAPI]]) -> Callable[..., Awaitable[Channels]]:
    async def start(db_url: str | None = None, run_workers: bool = True,
                    **sections: Any) -> Channels:
        graph, bot, zalo = await fake_api(), await fake_api(), await fake_api()
        graph.on("POST", "/v21.0/me/messages", default=(200, {"recipient_id": "1",
                                                                "message_id": "mid.out"}))
        serve_bot(bot)
        FakeZalo(zalo)
        chans = {"messenger": messenger_section(graph.url)}
        chans.update(telegram_settings(bot.url))
        chans.update(zalo_settings(zalo.url)["channels"])
        extra_channels = sections.pop("channels", {})
        for name, values in extra_channels.items():
            chans[name] = {**chans.get(name, {}), **values}
        workers_cfg = {"enabled": run_workers, **sections.pop("workers", {})}
        settings = settings_factory(db_url, channels=chans, workers=workers_cfg, **sections)
        client = await hub_client(settings)
        async with client.app[HUB_KEY].sessions() as session, session.begin():
            token = await issue_token(session, "center")
        return Channels(client, token, graph, bot)
    return start
