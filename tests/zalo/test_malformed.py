"""A correctly signed Zalo event whose fields have the wrong types (a list for the text, a
string for the sender, an object for the msg_id) is acknowledged (200), kept in the inbox as
``ignored`` with the reason logged — never a report made of "['a']" for an unreachable citizen.
Same rule as Messenger's and Telegram's parsers."""
from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from sqlalchemy import select

from channels.zalo.parse import external_id, loads, parse_event
from hub.keys import HUB_KEY
from store.models import Contact, InboxEvent, OutboxMessage, Report
from tests.conftest import wait_for
from tests.zalo.support import APP_ID, CS, USER, FakeZalo, signed, zalo_settings

URL = "/webhooks/zalo"


def body(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "app_id": APP_ID, "event_name": "user_send_text",
        "timestamp": str(int(time.time() * 1000)), "sender": {"id": USER},
        "message": {"text": "Đèn đường hỏng ở kiệt 5 Chi Lăng", "msg_id": "ok0000000000000001"}}
    for key, value in changes.items():
        if key.startswith("message_"):
            event["message"][key.removeprefix("message_")] = value
        else:
            event[key] = value
    return event


# The walkthrough's event, and its relatives: every one is signed correctly.
MALFORMED = {
    "walkthrough": body(sender="abc", message={"text": ["a"], "msg_id": {"x": 1}}),
    "text is a list": body(message_text=["a"]),
    "text is an object": body(message_text={"t": "a"}),
    "text is a boolean": body(message_text=True),  # (a number is read as its digits)
    "sender is a string": body(sender="abc"),
    "sender id is empty": body(sender={"id": ""}),
    "sender id is an object": body(sender={"id": {"x": 1}}),
    "sender missing": {k: v for k, v in body().items() if k != "sender"},
    "msg_id is an object": body(message_msg_id={"x": 1}),
    "msg_id is a list": body(message_msg_id=["a"]),
    "message is a string": body(message="hello"),
    "attachments is an object": body(event_name="user_send_image",
                                     message_attachments={"type": "image"}),
    "attachment is a string": body(event_name="user_send_image", message_attachments=["x"]),
    "attachment payload is a list": body(event_name="user_send_image",
                                         message_attachments=[{"type": "image", "payload": []}]),
    "attachment url is an object": body(event_name="user_send_image", message_attachments=[
        {"type": "image", "payload": {"url": {"u": "https://f20-zpc.zdn.vn/p.jpg"}}}]),
    "coordinates is a string": body(event_name="user_send_location", message_attachments=[
        {"type": "location", "payload": {"coordinates": "16.4,107.5"}}]),
    "info is a list": body(event_name="user_submit_info", info=["0905123456"]),
    "receipt ids not a list of ids": body(event_name="user_seen_message",
                                          message_msg_ids=[{"x": 1}]),
    "follower is a string": {**{k: v for k, v in body().items() if k not in ("sender", "message")},
                             "event_name": "follow", "follower": "abc"},
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_wrongly_typed_event_parses_to_ignore_with_the_field_named(name):
    payload = loads(json.dumps(MALFORMED[name]))
    [msg] = parse_event(payload)
    assert msg.kind == "ignore" and msg.meta["reason"].startswith("malformed")
    assert msg.text == "" and not msg.attachments and msg.contact is None
    assert "{" not in msg.external_id and "[" not in msg.external_id


def test_well_typed_event_still_parses():
    [msg] = parse_event(loads(json.dumps(body())))
    assert msg.kind == "message" and msg.sender_id == USER
    assert msg.text.startswith("Đèn đường") and msg.external_id == "ok0000000000000001"


def test_numeric_ids_are_accepted_as_ids():
    raw = json.dumps(body(sender={"id": 2468458835291979221},
                          message_msg_id=12345678901234567890)).encode()
    [msg] = parse_event(loads(raw))
    assert msg.kind == "message" and msg.sender_id == "2468458835291979221"
    assert msg.external_id == "12345678901234567890"


def test_wrongly_typed_msg_id_gets_the_hash_key_not_its_repr():
    payload = loads(json.dumps(MALFORMED["walkthrough"]))
    assert external_id(payload).startswith("user_send_text:h:")


@pytest.fixture
def zalo_flow(settings_factory, hub_client, fake_api):
    async def start():
        api = await fake_api()
        fake = FakeZalo(api)
        return await hub_client(settings_factory(None, **zalo_settings(api.url))), fake
    return start


async def test_walkthrough_event_is_acknowledged_ignored_and_logged_without_a_report(
        zalo_flow, caplog):
    client, fake = await zalo_flow()
    hub = client.app[HUB_KEY]
    event = MALFORMED["walkthrough"]
    raw = json.dumps(event, separators=(",", ":")).encode()
    caplog.set_level(logging.INFO)
    resp = await client.post(URL, data=raw, headers=signed(raw))
    assert resp.status == 200 and (await resp.json())["ok"] is True

    async def settled():
        async with hub.sessions() as session:
            rows = list((await session.execute(select(InboxEvent))).scalars())
        return rows if rows and rows[0].state in ("done", "ignored", "parked") else None
    [row] = await wait_for(settled)
    assert row.state == "ignored" and row.report_id is None
    assert row.external_id.startswith("user_send_text:h:")  # not "{'x': '1'}"
    assert json.loads(row.payload)["message"]["text"] == ["a"]  # kept as received: nothing lost
    async with hub.sessions() as session:
        assert list((await session.execute(select(Report))).scalars()) == []
        assert list((await session.execute(select(Contact))).scalars()) == []
        assert list((await session.execute(select(OutboxMessage))).scalars()) == []
    assert fake.api.calls_to(CS) == []
    logged = [r.getMessage() for r in caplog.records if "ignored zalo event" in r.getMessage()]
    # The field is named, its value (personal data, maybe) is not.
    assert logged and logged[0].endswith(": malformed event: sender is not an object with an id")
