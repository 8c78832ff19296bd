"""A Messenger swipe-reply to one of our messages joins that message's report (walkthrough
defect: it made a new report; Telegram's reply-to already threaded)."""
from __future__ import annotations

import asyncio
import json
from itertools import count

from aiohttp import web

from tests.conftest import wait_for
from tests.dialogue.test_edit_before_message import _reports
from tests.messenger.conftest import GRAPH_PATH, batch, message, messenger_section, sign

PSID = "7712340099881077"


async def test_swipe_reply_joins_the_named_report(settings_factory, hub_client, fake_api):
    graph = await fake_api()
    ids = count(1)

    async def accept(request, body):
        return web.json_response({"recipient_id": PSID, "message_id": f"m_out_{next(ids)}"})
    graph.on("POST", GRAPH_PATH, default=accept)
    client = await hub_client(settings_factory(channels={"messenger": messenger_section(graph.url)},
                                               intake={"assembly_window_minutes": 0.05}))

    async def post(item):
        raw = json.dumps(batch([item]), ensure_ascii=False).encode()
        resp = await client.post("/webhooks/messenger", data=raw, headers={
            "X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"})
        assert resp.status == 200

    await post(message(PSID, "m_in_1", "Cống thoát nước kiệt 8 Phan Đình Phùng bị tắc"))
    [report] = await wait_for(lambda: _reports(client))

    async def acknowledged():
        return graph.calls_to(GRAPH_PATH)
    await wait_for(acknowledged)
    await asyncio.sleep(6)  # the assembly window has ended
    reply = message(PSID, "m_in_2", "Đến giờ vẫn chưa ai xử lý")
    reply["message"]["reply_to"] = {"mid": "m_out_1"}
    await post(reply)

    async def joined():
        reports = await _reports(client)
        return reports if "vẫn chưa ai xử lý" in "".join(r.description for r in reports) else None
    reports = await wait_for(joined)
    assert len(reports) == 1 and "vẫn chưa ai xử lý" in reports[0].description
