"""POST /webhooks/telegram: secret token, body checks, durable intake keyed on update_id."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import InboxEvent
from tests.telegram.fakebot import SECRET, TOKEN, load

URL = "/webhooks/telegram"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


async def inbox(client) -> list[tuple[str, str]]:
    async with client.app[HUB_KEY].sessions() as session:
        rows = (await session.execute(select(InboxEvent.channel, InboxEvent.external_id))).all()
    return [tuple(r) for r in rows]


async def test_update_is_stored_under_its_update_id_and_acknowledged(telegram_hub):
    client = await telegram_hub(workers=False)
    resp = await client.post(URL, data=json.dumps(load("message__text")), headers=HEADERS)
    assert resp.status == 200 and await resp.json() == {}
    assert await inbox(client) == [("telegram", "830100001")]


async def test_redelivery_is_acknowledged_and_stored_once(telegram_hub):
    client = await telegram_hub(workers=False)
    body = json.dumps(load("message__photo"))
    for _ in range(3):
        resp = await client.post(URL, data=body, headers=HEADERS)
        assert resp.status == 200
    assert await inbox(client) == [("telegram", "830100002")]


async def test_unknown_update_kind_is_acknowledged(telegram_hub):
    client = await telegram_hub(workers=False)
    resp = await client.post(URL, json={"update_id": 5, "poll": {"id": "1"}}, headers=HEADERS)
    assert resp.status == 200
    assert await inbox(client) == [("telegram", "5")]


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
async def test_bad_secret_token_is_refused_and_nothing_stored(telegram_hub, secret, caplog):
    client = await telegram_hub(workers=False)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    with caplog.at_level(logging.INFO):
        resp = await client.post(URL, data=json.dumps(load("message__text")), headers=headers)
    assert resp.status == 401
    assert await inbox(client) == []
    assert SECRET not in caplog.text and TOKEN not in caplog.text


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}',
                                  b'{"update_id": true}', b'{"update_id": 7.5}', b"\xff\xfe",
                                  b'"update_id"', b""])
async def test_malformed_body_is_400_and_nothing_stored(telegram_hub, body):
    client = await telegram_hub(workers=False)
    resp = await client.post(URL, data=body, headers=HEADERS)
    assert resp.status == 400
    assert await inbox(client) == []


async def test_only_post_is_routed(telegram_hub):
    client = await telegram_hub(workers=False)
    resp = await client.get(URL, headers=HEADERS)
    assert resp.status == 405


async def test_bench_load_requests_are_valid_and_distinct(settings_factory, hub_client, bot_api):
    from hub.demo.samples import telegram as load

    settings = settings_factory(channels=load.settings(bot_api.url)["channels"],
                                workers={"enabled": False})
    client = await hub_client(settings)
    for path, headers, body in load.requests(20, start=5):
        resp = await client.post(path, data=body, headers=headers)
        assert resp.status == 200
    stored = await inbox(client)
    assert sorted(stored) == sorted(("telegram", str(load.FIRST_UPDATE_ID + i)) for i in range(5, 25))
