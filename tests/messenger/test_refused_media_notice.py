"""A photo the media worker refuses after intake (too large, a host not the channel's own) is told
to the citizen on their channel, once per batch of files: before, only a log line was written and
the citizen believed the center had their photo."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import select

from store.models import Attachment, ReportEvent
from tests.conftest import wait_for
from tests.fakes import FakeAPI
from tests.messenger.conftest import GRAPH_PATH, MessengerHub, batch, image, message, messenger_section

PSID = "7712004455661234"
LIMIT = 1024 * 1024  # "1 MB"
BIG = b"\xff\xd8\xff\xe0" + b"\x01" * (LIMIT + 10)
SMALL = b"\xff\xd8\xff\xe0" + b"anh-nho" * 100


async def _start(settings_factory: Callable[..., Any], hub_client: Any,
                 fake_api: Callable[[], Awaitable[FakeAPI]]) -> MessengerHub:
    graph = await fake_api()
    counter = {"n": 0}

    async def accept(request: Any, body: bytes) -> Any:
        counter["n"] += 1
        return web.json_response({"recipient_id": json.loads(body)["recipient"].get("id"),
                                  "message_id": f"m_out_{counter['n']}"})
    graph.on("POST", GRAPH_PATH, default=accept)
    graph.on("GET", "/cdn/big.jpg", default=(200, BIG))
    graph.on("GET", "/cdn/small.jpg", default=(200, SMALL))
    settings = settings_factory(channels={"messenger": messenger_section(graph.url)},
                                storage={"max_attachment_bytes": LIMIT})
    return MessengerHub(await hub_client(settings), graph)


def _notices(m: MessengerHub) -> list[str]:
    texts = [s["message"].get("text", "") for s in m.sends()]
    return [t for t in texts if t.startswith("Trung tâm chưa nhận được")]


async def _all_fetched(m: MessengerHub, n: int) -> list[Attachment] | None:
    async with m.hub.sessions() as session:
        rows = list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())
    done = [r for r in rows if r.state not in ("pending", "fetching")]
    return rows if len(rows) == n and len(done) == n else None


async def test_two_photos_too_large_in_one_message_are_told_once(
        settings_factory: Any, hub_client: Any, fake_api: Any) -> None:
    m = await _start(settings_factory, hub_client, fake_api)
    big = f"{m.graph.url}/cdn/big.jpg"
    await m.post(batch([message(PSID, "m_big_1", "Ổ gà lớn trước số 12 Lê Lợi, phường Phú Hội",
                                attachments=[image(big + "?a"), image(big + "?b")])]))
    await m.settled()
    rows = await wait_for(lambda: _all_fetched(m, 2))
    assert [r.state for r in rows] == ["refused", "refused"]
    [report] = await m.reports()
    [notice] = await wait_for(lambda: asyncio.sleep(0, _notices(m)))
    assert notice == (
        f"Trung tâm chưa nhận được 2 ảnh bạn gửi cho phản ánh {report.code} vì ảnh lớn hơn 1 MB. "
        "Bạn vui lòng gửi lại ảnh nhỏ hơn 1 MB, hoặc đường liên kết đến tệp tại đây.")
    await asyncio.sleep(0.5)
    assert len(_notices(m)) == 1  # one message for the batch, not one per photo
    async with m.hub.sessions() as session:
        notes = list((await session.execute(select(ReportEvent.note).where(
            ReportEvent.kind == "notification"))).scalars())
    assert any("không nhận được 2 ảnh" in (n or "") for n in notes)  # on the staff timeline

    # A later photo refused in its own message is a new batch: told on its own.
    other_host = big.replace("127.0.0.1", "localhost")
    await m.post(batch([message(PSID, "m_big_2", attachments=[image(other_host)])]))
    await m.settled()
    await wait_for(lambda: _all_fetched(m, 3))
    second = await wait_for(lambda: asyncio.sleep(0, _notices(m)[1:]))
    assert second == [
        f"Trung tâm chưa nhận được ảnh bạn gửi cho phản ánh {report.code} vì ảnh nằm trên một "
        "trang ngoài kênh nhắn tin nên Trung tâm không tải về. Bạn vui lòng gửi lại ảnh tại đây."]


async def test_a_stored_photo_is_not_told_and_waits_for_nothing(
        settings_factory: Any, hub_client: Any, fake_api: Any) -> None:
    m = await _start(settings_factory, hub_client, fake_api)
    await m.post(batch([message(PSID, "m_ok_1", "Cây đổ chắn đường Hùng Vương",
                                attachments=[image(f"{m.graph.url}/cdn/small.jpg"),
                                             image(f"{m.graph.url}/cdn/big.jpg")])]))
    await m.settled()
    rows = await wait_for(lambda: _all_fetched(m, 2))
    assert sorted(r.state for r in rows) == ["refused", "stored"]
    [notice] = await wait_for(lambda: asyncio.sleep(0, _notices(m)))
    assert "chưa nhận được ảnh bạn gửi" in notice and "ảnh lớn hơn 1 MB" in notice
