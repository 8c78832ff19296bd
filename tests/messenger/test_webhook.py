"""The webhook through the whole app: handshake, signature first, batch → exactly its reports."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from store.models import InboxEvent, Report
from tests.conftest import wait_for
from tests.messenger.conftest import VERIFY_TOKEN, batch, message, now_ms, sign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "messenger"


async def test_handshake_echoes_the_challenge_only_for_the_right_token(messenger) -> None:
    m = await messenger()
    ok = await m.client.get("/webhooks/messenger", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status == 200 and await ok.text() == "1158201444"
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                   {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, {}):
        refused = await m.client.get("/webhooks/messenger", params=params)
        assert refused.status == 403 and "1" not in await refused.text()


async def test_signed_batch_gives_exactly_its_reports_and_redelivery_nothing(messenger) -> None:
    m = await messenger()
    a, b, c = "6623480917364512", "7719302846152093", "5518273649201837"
    body = batch(
        [message(a, "m_live_1", "Lấn chiếm vỉa hè trên đường Trần Hưng Đạo"),
         {"sender": {"id": "104857600123456"}, "recipient": {"id": a}, "timestamp": now_ms(),
          "message": {"is_echo": True, "mid": "m_echo_live", "text": "Cảm ơn bạn"}},
         {"sender": {"id": a}, "recipient": {"id": "104857600123456"},
          "delivery": {"mids": ["m_unknown"], "watermark": now_ms()}}],
        [message(b, "m_live_2", "Nước thải chảy tràn ra đường Phan Đình Phùng"),
         {"sender": {"id": b}, "recipient": {"id": "104857600123456"}, "timestamp": now_ms(),
          "reaction": {"reaction": "like", "action": "react", "mid": "m_live_2"}}],
        [message(c, "m_live_3", "Karaoke gây ồn sau 23 giờ ở phường Thuận Hóa",
                 ts=str(now_ms()))])
    resp = await m.post(body)
    assert resp.status == 200 and await resp.text() == "EVENT_RECEIVED"
    assert await m.count(InboxEvent) == 6

    async def all_processed() -> bool:
        return await m.count(InboxEvent, InboxEvent.state.in_(("pending", "claimed"))) == 0
    await wait_for(all_processed)
    async with m.hub.sessions() as session:
        reports = (await session.execute(select(Report).order_by(Report.id))).scalars().all()
        assert [(r.reply_address, r.external_ids, r.description) for r in reports] == [
            (a, ["m_live_1"], "Lấn chiếm vỉa hè trên đường Trần Hưng Đạo"),
            (b, ["m_live_2"], "Nước thải chảy tràn ra đường Phan Đình Phùng"),
            (c, ["m_live_3"], "Karaoke gây ồn sau 23 giờ ở phường Thuận Hóa")]
        states = sorted((await session.execute(select(InboxEvent.state))).scalars())
        assert states == ["done", "done", "done", "ignored", "ignored", "ignored"]

    again = await m.post(body)  # Meta redelivers when it did not see our 200 in time
    assert again.status == 200
    assert await m.count(InboxEvent) == 6 and await m.count(Report) == 3


async def test_wrong_or_missing_signature_changes_nothing(messenger) -> None:
    m = await messenger()
    body = batch([message("6623480917364512", "m_forged", "Tin giả mạo")])
    raw = json.dumps(body).encode()
    assert (await m.post(body, signature="")).status == 401
    assert (await m.post(body, signature=sign(raw, "another-secret"))).status == 403
    assert (await m.post(body, signature="sha256=" + "0" * 64)).status == 403
    assert (await m.post(body, signature=sign(raw)[7:])).status == 403  # no "sha256=" prefix
    # Signed over other bytes than those sent (re-serialized body): refused.
    assert (await m.post(body, raw=json.dumps(body, indent=1).encode(),
                         signature=sign(raw))).status == 403
    assert await m.count(InboxEvent) == 0
    metrics = await (await m.client.get("/metrics")).text()
    assert 'hub_rejected_requests_total{channel="messenger",reason="bad signature"} 4.0' in metrics
    assert "another-secret" not in metrics


async def test_malformed_oversized_and_foreign_bodies(messenger) -> None:
    m = await messenger()
    for raw in (b"{not json", b"[1, 2]", b'{"object": "page"}', b"\xff\xfe"):
        assert (await m.post(None, raw=raw)).status == 400
    cap = m.hub.settings.server.max_body_bytes
    assert (await m.post(None, raw=b" " * (cap + 1))).status == 413
    instagram = json.loads((FIXTURES / "object__instagram.json").read_text(encoding="utf-8"))
    assert (await m.post(instagram)).status == 200
    assert await m.count(InboxEvent) == 0


async def test_unknown_and_test_events_are_acknowledged_and_make_no_report(messenger) -> None:
    m = await messenger()
    for name in ("unknown__future_kind", "test__dashboard_minimal", "optin__notification_messages"):
        body = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
        assert (await m.post(body)).status == 200

    async def settled() -> bool:
        return await m.count(InboxEvent, InboxEvent.state == "ignored") == 3
    await wait_for(settled)
    assert await m.count(Report) == 0


async def test_bench_load_requests_are_accepted_and_distinct(settings_factory, hub_client) -> None:
    from hub.demo.samples import messenger as load
    from hub.keys import HUB_KEY

    client = await hub_client(settings_factory(workers={"enabled": False}, **load.settings()))
    reqs = load.requests(5, start=10)
    for path, headers, body in reqs:
        assert (await client.post(path, data=body, headers=headers)).status == 200
    async with client.app[HUB_KEY].sessions() as session:
        ids = sorted((await session.execute(select(InboxEvent.external_id))).scalars())
    assert ids == [f"m_bench_{i:09d}" for i in range(10, 15)]
