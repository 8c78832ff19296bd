"""The Send API sender against a fake Graph API: every error code → sent / retry / give up /
pause, the 24-hour window, long texts, and what the outbox makes of it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from channels.messenger.send import split_text
from normalizer.schema import OutboundMessage
from router.notify import outbound_row
from store.models import Contact, OutboxMessage, utcnow
from tests.conftest import wait_for
from tests.messenger.conftest import GRAPH_PATH, PAGE_TOKEN

PSID = "6623480917364512"


def graph_error(code: int, subcode: int | None = None, status: int = 400) -> tuple[int, dict]:
    error = {"message": f"error {code}", "type": "OAuthException", "code": code,
             "fbtrace_id": "AbCdEf"}
    if subcode:
        error["error_subcode"] = subcode
    return status, {"error": error}


async def send(m, text: str = "Mã phản ánh: PA-2026-000001", key: str = "outbox-1",
               address: str = PSID):
    return await m.hub.senders["messenger"].send(
        address, OutboundMessage(text=text, idempotency_key=key))


async def test_sent_with_recipient_messaging_type_and_proof(messenger) -> None:
    m = await messenger()
    result = await send(m)
    assert (result.status, result.provider_id) == ("sent", "m_out_1")
    [call] = m.graph.calls_to(GRAPH_PATH)
    assert call.json() == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                           "message": {"text": "Mã phản ánh: PA-2026-000001"}}
    assert call.query["access_token"] == PAGE_TOKEN and len(call.query["appsecret_proof"]) == 64


async def test_user_ref_recipients(messenger) -> None:
    m = await messenger()
    assert (await send(m, address="user_ref:abc-123")).status == "sent"
    assert m.graph.calls_to(GRAPH_PATH)[0].json()["recipient"] == {"user_ref": "abc-123"}


@pytest.mark.parametrize(("answer", "status", "other_route", "reason"), [
    (graph_error(4), "retry", False, "rate limited"),
    (graph_error(32), "retry", False, "rate limited"),
    (graph_error(613), "retry", False, "rate limited"),
    (graph_error(1200, status=500), "retry", False, "temporary failure"),
    (graph_error(2, status=503), "retry", False, "temporary failure"),
    (graph_error(10, 2018278, status=403), "give_up", True, "outside 24-hour window"),
    (graph_error(10), "give_up", True, "outside 24-hour window"),
    (graph_error(551), "give_up", True, "user unavailable"),
    (graph_error(100, 2018001), "give_up", True, "no such Messenger user"),
    (graph_error(100), "give_up", True, "invalid parameter"),
    (graph_error(200, 2018028, status=403), "give_up", True, "lacks permission"),
    (graph_error(190, 463, status=401), "paused", False, "token invalid or expired"),
    ((502, b"<html>Bad gateway</html>"), "retry", False, "HTTP 502"),
    ((400, b"not json"), "give_up", False, "HTTP 400"),
])
async def test_graph_error_codes(messenger, answer, status, other_route, reason) -> None:
    m = await messenger()
    m.graph.on("POST", GRAPH_PATH, answer)
    result = await send(m)
    assert (result.status, result.needs_other_route) == (status, other_route)
    assert reason in result.reason and PAGE_TOKEN not in result.reason


async def test_unreachable_graph_is_retried_without_leaking_the_url(messenger, fake_api) -> None:
    m = await messenger()
    dead = await fake_api()
    url = dead.url
    await dead.close()
    m.hub.senders["messenger"]._base = f"{url}/v21.0"
    result = await send(m)
    assert result.status == "retry" and "unreachable" in result.reason
    assert PAGE_TOKEN not in result.reason and "127.0.0.1" not in result.reason


async def test_slow_graph_times_out_into_a_retry(messenger) -> None:
    import asyncio

    m = await messenger(send_timeout_seconds=0.2)

    async def slow(request: web.Request, body: bytes) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({"message_id": "late"})
    m.graph.on("POST", GRAPH_PATH, slow)
    result = await send(m)
    assert result.status == "retry" and "TimeoutError" in result.reason


async def _contact(m, last_inbound_at) -> None:
    async with m.hub.sessions() as session, session.begin():
        session.add(Contact(channel="messenger", channel_user_id=PSID,
                            last_inbound_at=last_inbound_at))


async def test_not_attempted_outside_the_24_hour_window(messenger) -> None:
    m = await messenger()
    await _contact(m, utcnow() - timedelta(hours=24, minutes=1))
    result = await send(m)
    assert (result.status, result.reason, result.needs_other_route) == (
        "give_up", "outside 24-hour window", True)
    assert m.graph.calls_to(GRAPH_PATH) == []


async def test_attempted_inside_the_window_and_for_unknown_contacts(messenger) -> None:
    m = await messenger()
    assert (await send(m, address="1111")).status == "sent"  # no contact row: not known
    await _contact(m, utcnow() - timedelta(hours=23, minutes=50))
    assert (await send(m)).status == "sent"
    assert len(m.graph.calls_to(GRAPH_PATH)) == 2


def test_split_text_respects_the_limit_and_cuts_at_boundaries() -> None:
    paragraph = "Phản ánh đã được xử lý. " * 60  # 1,440 characters
    parts = split_text(paragraph + "\n\n" + paragraph + "\n\n" + "Kết thúc.")
    # Cut at the paragraph break, not mid-sentence; the tail fits with the second paragraph.
    assert [len(p) <= 2000 for p in parts] == [True, True]
    assert parts[0] == paragraph.strip() and parts[1] == paragraph + "\n\nKết thúc."
    assert split_text("x" * 4500) == ["x" * 2000, "x" * 2000, "x" * 500]
    assert split_text("  ") == []


async def test_long_text_is_split_and_a_retry_resumes_after_the_parts_sent(messenger) -> None:
    m = await messenger()
    text = "\n".join(f"Dòng {i}: cập nhật tiến độ xử lý phản ánh PA-2026-000007." for i in range(90))
    ok = {"message_id": "m_part"}
    m.graph.on("POST", GRAPH_PATH, ok, graph_error(1200, status=500))
    first = await send(m, text=text, key="outbox-77")
    assert first.status == "retry"
    second = await send(m, text=text, key="outbox-77")
    assert second.status == "sent"
    texts = [c.json()["message"]["text"] for c in m.graph.calls_to(GRAPH_PATH)]
    parts = split_text(text)
    assert len(parts) == 3 and all(len(t) <= 2000 for t in texts)
    # part 1 once, part 2 failed then succeeded, part 3 once: nothing sent twice.
    assert texts == [parts[0], parts[1], parts[1], parts[2]]


async def _queue(m, text: str = "Mã phản ánh: PA-2026-000001") -> int:
    async with m.hub.sessions() as session, session.begin():
        row = outbound_row(session, channel="messenger", address=PSID, report=None, template="ack",
                           message=OutboundMessage(text=text))
        await session.flush()
        row_id = row.id
    m.hub.outbox_wakeup.set()
    return row_id


async def _row(m, row_id: int) -> OutboxMessage:
    async with m.hub.sessions() as session:
        return (await session.execute(select(OutboxMessage).where(OutboxMessage.id == row_id))
                ).scalar_one()


async def test_invalid_token_pauses_the_channel_with_an_alert_and_keeps_the_row(messenger) -> None:
    m = await messenger()
    m.graph.on("POST", GRAPH_PATH, graph_error(190, status=401))
    row_id = await _queue(m)

    async def paused() -> OutboxMessage | None:
        row = await _row(m, row_id)
        return row if "messenger" in m.hub.paused and row.state == "retry" else None
    row = await wait_for(paused)
    assert "token invalid or expired" in row.last_error
    assert row.attempts == 0  # a pause is not the message's fault
    metrics = await (await m.client.get("/metrics")).text()
    assert 'hub_alerts_total{channel="messenger",kind="paused"} 1.0' in metrics
    assert 'hub_channel_paused{channel="messenger"} 1.0' in metrics
    calls = len(m.graph.calls_to(GRAPH_PATH))
    # While paused, nothing is attempted; the token check resumes when /me answers again.
    m.graph.on("GET", "/v21.0/me", (401, {"error": {"code": 190}}), {"id": "104857600123456"})
    adapter = m.hub.channels["messenger"]
    await adapter.check_token()
    assert "messenger" in m.hub.paused and len(m.graph.calls_to(GRAPH_PATH)) == calls
    await adapter.check_token()
    assert "messenger" not in m.hub.paused

    async def delivered() -> bool:
        return (await _row(m, row_id)).state == "sent"
    await wait_for(delivered)


async def test_outside_window_makes_the_row_dead_with_its_reason(messenger) -> None:
    m = await messenger()
    m.graph.on("POST", GRAPH_PATH, graph_error(10, 2018278, status=403))
    row_id = await _queue(m)

    async def dead() -> OutboxMessage | None:
        row = await _row(m, row_id)
        return row if row.state == "dead" else None
    row = await wait_for(dead)
    assert row.last_error.startswith("outside 24-hour window") and row.attempts == 1


async def test_rate_limit_is_retried_then_sent(messenger) -> None:
    m = await messenger()
    m.graph.on("POST", GRAPH_PATH, graph_error(613), graph_error(4))
    row_id = await _queue(m)

    async def sent() -> OutboxMessage | None:
        row = await _row(m, row_id)
        return row if row.state == "sent" else None
    row = await wait_for(sent)
    assert row.attempts == 3 and row.provider_id == "m_out_1"
