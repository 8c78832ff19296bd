"""Status updates to phone-only citizens: SMS gateway (a fake on loopback), Zalo ZNS when the
Zalo channel offers it, else the operators' call-back list."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from hub.app import close_hub, open_hub
from hub.context import Hub
from normalizer.schema import DeliveryResult, OutboundMessage
from store.callbacks import list_callbacks, mark_callback_done
from store.models import Callback, ChannelState, Report, ReportEvent
from tests.fakes import FakeAPI

PHONE = "+84905123456"
LONG = ("Phản ánh PA-2026-000123 đã được Công ty Cổ phần Môi trường và Công trình đô thị Huế xử lý "
        "xong. Kết quả: đã thu gom toàn bộ rác thải tồn đọng. Mời bạn đánh giá từ 1 đến 5.")


@pytest.fixture
async def make_hub(settings_factory: Callable[..., Any]) -> AsyncIterator[Callable[..., Awaitable[Hub]]]:
    hubs: list[Hub] = []

    async def make(**hotline: Any) -> Hub:
        hub = await open_hub(settings_factory(channels={"hotline": {"enabled": True, **hotline}}))
        hubs.append(hub)
        return hub
    yield make
    for hub in hubs:
        await close_hub(hub)


async def gateway_hub(make_hub: Callable[..., Awaitable[Hub]], api: FakeAPI, **extra: Any) -> Hub:
    return await make_hub(sms_gateway_url=f"{api.url}/sms", sms_auth_header="X-Api-Key: k-123",
                          sms_body_template='{"to": "{phone_digits}", "text": "{text}", "ref": "{ref}"}',
                          **extra)


def message(text: str = "Phản ánh PA-2026-000001 đã được tiếp nhận.", key: str = "outbox-7",
            code: str | None = None) -> OutboundMessage:
    return OutboundMessage(text=text, idempotency_key=key, report_code=code)


async def test_sms_through_the_gateway(make_hub: Any, fake_api: Any) -> None:
    api = await fake_api()
    api.on("POST", "/sms", {"id": "m-1"})
    hub = await gateway_hub(make_hub, api)
    assert set(hub.senders) >= {"hotline", "sms", "callback"}
    result = await hub.senders["hotline"].send(PHONE, message())
    assert result == DeliveryResult.sent("m-1")
    [call] = api.calls_to("/sms")
    assert call.json() == {"to": "84905123456", "text": "Phản ánh PA-2026-000001 đã được tiếp nhận.",
                           "ref": "outbox-7-1"}
    assert call.headers["X-Api-Key"] == "k-123" and call.headers["Idempotency-Key"] == "outbox-7-1"


async def test_multipart_retry_sends_only_the_missing_parts(make_hub: Any, fake_api: Any) -> None:
    api = await fake_api()
    api.on("POST", "/sms", {"id": "p1"}, (503, {"error": "busy"}), {"id": "p2"}, {"id": "p3"})
    hub = await gateway_hub(make_hub, api, sms_max_chars=70, sms_max_parts=3)
    first = await hub.senders["sms"].send(PHONE, message(LONG))
    assert first.status == "retry" and "503" in first.reason
    second = await hub.senders["sms"].send(PHONE, message(LONG))
    assert second == DeliveryResult.sent("p1,p2,p3")
    texts = [c.json()["text"] for c in api.calls_to("/sms")]
    assert [t[-5:] for t in texts] == ["(1/3)", "(2/3)", "(2/3)", "(3/3)"]
    assert all(len(t) <= 70 for t in texts)
    assert [c.json()["ref"] for c in api.calls_to("/sms")] == [
        "outbox-7-1", "outbox-7-2", "outbox-7-2", "outbox-7-3"]
    async with hub.sessions() as session:  # the progress record is gone once all parts are sent
        assert (await session.execute(select(ChannelState))).scalars().all() == []


@pytest.mark.parametrize(("answer", "status", "detail"), [
    ((429, {"error": "slow down"}), "retry", "429"),
    ((500, "oops"), "retry", "500"),
    ((401, {"error": "bad key"}), "paused", "credentials"),
    ((400, {"error": "bad number"}), "give_up", "HTTP 400"),
])
async def test_gateway_answers(make_hub: Any, fake_api: Any, answer: Any, status: str, detail: str) -> None:
    api = await fake_api()
    api.on("POST", "/sms", answer)
    hub = await gateway_hub(make_hub, api)
    result = await hub.senders["sms"].send(PHONE, message())
    assert result.status == status and detail in result.reason
    assert "k-123" not in result.reason


async def test_retry_after_is_passed_on(make_hub: Any, fake_api: Any) -> None:
    api = await fake_api()

    async def limited(request: web.Request, body: bytes) -> web.Response:
        return web.json_response({"error": "rate"}, status=429, headers={"Retry-After": "30"})
    api.on("POST", "/sms", limited)
    hub = await gateway_hub(make_hub, api)
    assert (await hub.senders["sms"].send(PHONE, message())).retry_after == 30.0


async def test_gateway_timeout_and_refused_connection_retry(make_hub: Any, fake_api: Any) -> None:
    api = await fake_api()

    async def slow(request: web.Request, body: bytes) -> web.Response:
        await asyncio.sleep(1.0)
        return web.json_response({"id": "late"})
    api.on("POST", "/sms", slow)
    hub = await gateway_hub(make_hub, api, sms_timeout_seconds=0.2)
    result = await hub.senders["sms"].send(PHONE, message())
    assert result.status == "retry" and "unreachable" in result.reason
    hub.settings.channels.hotline.sms_gateway_url = "http://127.0.0.1:9/sms"
    assert (await hub.senders["sms"].send(PHONE, message())).status == "retry"


async def test_refused_sms_asks_for_another_route(make_hub: Any, fake_api: Any) -> None:
    """The hotline route is the SMS gateway itself; a refusal is the router's to reroute (its one
    fallback chain ends on the call-back list: tests/router/test_e2e_hotline.py)."""
    api = await fake_api()
    api.on("POST", "/sms", (400, {"error": "bad number"}))
    hub = await gateway_hub(make_hub, api)
    assert hub.senders["hotline"] is hub.senders["sms"]
    result = await hub.senders["hotline"].send(PHONE, message())
    assert result.status == "give_up" and result.needs_other_route
    assert "SMS gateway refused the message (HTTP 400)" in result.reason


async def test_sms_sender_refuses_a_non_phone_address(make_hub: Any, fake_api: Any) -> None:
    api = await fake_api()
    hub = await gateway_hub(make_hub, api)
    result = await hub.senders["sms"].send("anonymous:call:1", message())
    assert result.status == "give_up" and result.needs_other_route and api.calls == []


class RecordingZns:
    """Stands in for the Zalo channel's "zns" sender (built by the Zalo adapter)."""

    name = "zns"

    def __init__(self, answer: DeliveryResult) -> None:
        self.answer, self.sent = answer, []

    async def send(self, address: str, msg: OutboundMessage) -> DeliveryResult:
        self.sent.append((address, msg.text))
        return self.answer


async def test_without_a_gateway_the_router_goes_down_its_one_chain(make_hub: Any) -> None:
    """No SMS gateway: the hotline has no route of its own, so a caller's notification goes
    straight to the next contact point (ZNS when Zalo offers it), else the call-back list."""
    from router.notify import enqueue_citizen_message

    hub = await make_hub()
    assert "sms" not in hub.senders and "hotline" not in hub.senders
    hub.senders["zns"] = RecordingZns(DeliveryResult.sent("zns-1"))
    async with hub.sessions() as session, session.begin():
        report = Report(code="PA-2026-000041", channel="hotline", description="Rác",
                        reply_address=PHONE)
        session.add(report)
        await session.flush()
        row = await enqueue_citizen_message(session, hub, report, "ack")
        assert row is not None and (row.channel, row.address) == ("zns", PHONE)
    del hub.senders["zns"]
    async with hub.sessions() as session, session.begin():
        report = await session.get(Report, report.id)
        # A receipt is not worth an operator's call; the result is.
        assert await enqueue_citizen_message(session, hub, report, "ack") is None
    async with hub.sessions() as session:
        assert (await session.execute(select(Callback))).scalars().all() == []
    async with hub.sessions() as session, session.begin():
        report = await session.get(Report, report.id)
        assert await enqueue_citizen_message(session, hub, report, "resolved",
                                             note="Đã thu gom") is None
    async with hub.sessions() as session:
        [entry] = (await session.execute(select(Callback))).scalars().all()
        assert entry.phone == PHONE and "không gửi tin đi được" in entry.reason and "Đã thu gom" in entry.text


async def test_call_back_list_without_any_route(make_hub: Any) -> None:
    hub = await make_hub()
    async with hub.sessions() as session, session.begin():
        report = Report(code="PA-2026-000042", channel="hotline", description="Đèn hỏng",
                        reply_address=PHONE, agency_id="so-xay-dung")
        session.add(report)
    first = await hub.senders["callback"].send(PHONE, message(code="PA-2026-000042"))
    again = await hub.senders["callback"].send(PHONE, message(code="PA-2026-000042"))
    assert first.status == "sent" and first.provider_id == again.provider_id  # no double call
    # Another message on the same report for the same phone joins the open entry: one call.
    other = await hub.senders["callback"].send(PHONE, message("Khác", code="PA-2026-000042"))
    assert other.provider_id == first.provider_id
    entry_id = int(first.provider_id.split(":")[1])
    async with hub.sessions() as session:
        listed = await list_callbacks(session)
        assert [(e["id"], e["report_code"], e["phone"]) for e in listed] == [
            (entry_id, "PA-2026-000042", PHONE)]
        assert listed[0]["text"].endswith("\n\nKhác")
        assert await list_callbacks(session, agency_id="moi-truong") == []
        assert len(await list_callbacks(session, agency_id="so-xay-dung")) == 1
    async with hub.sessions() as session, session.begin():
        done = await mark_callback_done(session, entry_id, done_by="center",
                                        outcome="Đã gọi, công dân xác nhận")
        assert done["done_by"] == "center" and done["done_at"]
        assert await mark_callback_done(session, 999_999, done_by="center") is None
    async with hub.sessions() as session, session.begin():
        repeat = await mark_callback_done(session, entry_id, done_by="someone-else")
        assert repeat["done_by"] == "center" and repeat["done_at"] == done["done_at"]
    async with hub.sessions() as session:
        assert [e["id"] for e in await list_callbacks(session, state="done")] == [entry_id]
        assert await list_callbacks(session, state="open") == []
        notes = (await session.execute(select(ReportEvent.note))).scalars().all()
        assert notes == ["đã gọi lại công dân: Đã gọi, công dân xác nhận"]
        with pytest.raises(ValueError):
            await list_callbacks(session, state="later")


async def test_a_credentials_pause_is_tried_again_without_a_restart(make_hub: Any, fake_api: Any) -> None:
    """Walkthrough: one 401/403 from the gateway paused SMS until the hub restarted, though the
    key (or an IP allow-list) is usually fixed on the gateway's side. The recheck job resumes
    it; a gateway still refusing pauses it again at the next message."""
    api = await fake_api()
    api.on("POST", "/sms", (403, {"error": "ip not allowed"}))
    hub = await gateway_hub(make_hub, api, sms_recheck_seconds=1)
    result = await hub.senders["sms"].send(PHONE, message())
    assert result.status == "paused"
    hub.pause("sms", result.reason)
    adapter = hub.channels["hotline"]
    await adapter.recheck_sms()
    assert not hub.is_paused("sms")
    api.on("POST", "/sms", {"id": "m-9"})  # fixed at the gateway
    assert (await hub.senders["sms"].send(PHONE, message(key="outbox-8"))).status == "sent"
    await adapter.recheck_sms()  # nothing paused: nothing to do
    assert not hub.is_paused("sms")
