"""A Telegram citizen talking to the real hub (signed webhooks, the loopback fake Bot API), for
the dialogue walkthrough tests: say something, read the hub's answers, read the reports."""
from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import InboxEvent, Report
from tests.conftest import wait_for
from tests.telegram.fakebot import SECRET, channel_settings, load, sent_messages, serve

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


class TelegramCitizen:
    def __init__(self, client: Any, bot_api: Any, chat: int = 512340001,
                 first_update: int = 830700001) -> None:
        self.client, self.bot_api, self.chat = client, bot_api, chat
        self._ids = iter(range(first_update, first_update + 1000))

    async def send(self, update: dict[str, Any]) -> int:
        update_id = next(self._ids)
        update["update_id"] = update_id
        for key in ("message", "edited_message"):
            if key in update:
                update[key]["chat"]["id"] = update[key]["from"]["id"] = self.chat
                update[key]["message_id"] = update_id % 100000
                update[key].setdefault("date", int(time.time()))
        resp = await self.client.post("/webhooks/telegram",
                                      data=json.dumps(update, ensure_ascii=False), headers=HEADERS)
        assert resp.status == 200
        await wait_for(lambda: self._settled(update_id))
        return update_id

    async def _settled(self, update_id: int) -> bool:
        async with self.client.app[HUB_KEY].sessions() as session:
            state = (await session.execute(select(InboxEvent.state).where(
                InboxEvent.channel == "telegram",
                InboxEvent.external_id == str(update_id)))).scalar()
        return state in ("done", "ignored")

    async def say(self, text: str) -> int:
        update = load("message__text")
        update["message"]["text"] = text
        update["message"]["date"] = int(time.time())
        return await self.send(update)

    async def location(self, lat: float, lon: float) -> int:
        update = load("message__text")
        del update["message"]["text"]
        update["message"]["location"] = {"latitude": lat, "longitude": lon}
        update["message"]["date"] = int(time.time())
        return await self.send(update)

    def texts(self) -> list[str]:
        return [m["text"] for m in sent_messages(self.bot_api) if m["chat_id"] == str(self.chat)]

    async def answers(self, count: int) -> list[str]:
        async def check() -> list[str] | None:
            texts = self.texts()
            return texts if len(texts) >= count else None
        return await wait_for(check)

    async def reports(self) -> list[Report]:
        async with self.client.app[HUB_KEY].sessions() as session:
            return list((await session.execute(select(Report).where(
                Report.reply_address == str(self.chat)).order_by(Report.id))).scalars())


async def telegram_hub(settings_factory: Any, hub_client: Any, fake_api: Any,
                       window: float | None = None, **extra: dict[str, Any]) -> tuple[Any, Any]:
    """The hub with Telegram on a loopback fake Bot API (and an assembly window of ``window``
    minutes when given; other settings sections in ``extra``): (test client, the fake API)."""
    bot_api = await fake_api()
    serve(bot_api)
    sections: dict[str, Any] = {"channels": channel_settings(bot_api.url), **extra}
    if window is not None:
        sections["intake"] = {"assembly_window_minutes": window}
    return await hub_client(settings_factory(**sections)), bot_api

