"""The Zalo senders against a fake Zalo API: consultation messages, the error table, one refresh
on a token error, ZNS to a phone number, the request-user-info card."""
from __future__ import annotations

from datetime import datetime

import pytest
from aiohttp import web

from channels.zalo.api import VIETNAM, seconds_until_morning
from channels.zalo.tokens import STATE_KEY
from normalizer.schema import OutboundMessage
from store.models import ChannelState
from tests.zalo.support import CS, USER, ZNS, api_answer


async def stored_pair(hub):
    async with hub.sessions() as session:
        row = await session.get(ChannelState, STATE_KEY)
        return row.value["access_token"], row.value["refresh_token"], row.value.get("failed")


async def test_text_goes_to_sender_id_with_the_access_token_header(zalo_hub):
    hub, fake = await zalo_hub()
    result = await hub.senders["zalo"].send(USER, OutboundMessage(text="Mã phản ánh: PA-2026-000001"))
    assert result.status == "sent" and result.provider_id == "zmsg0000000000000001"
    [call] = fake.api.calls_to(CS)
    assert call.headers["access_token"] == "AT-0"
    assert call.json() == {"recipient": {"user_id": USER}, "message": {"text": "Mã phản ánh: PA-2026-000001"}}


async def test_long_text_is_cut_to_zalos_limit(zalo_hub):
    hub, fake = await zalo_hub()
    await hub.senders["zalo"].send(USER, OutboundMessage(text="x" * 2500))
    assert len(fake.api.calls_to(CS)[0].json()["message"]["text"]) == 2000


async def test_token_error_refreshes_once_persists_then_retries_once(zalo_hub):
    hub, fake = await zalo_hub()
    fake.valid_access = set()  # AT-0 expired on Zalo's side: -216
    seen_in_db_at_retry = []
    original = fake.cs

    async def cs(request: web.Request, body: bytes) -> web.Response:
        seen_in_db_at_retry.append((await stored_pair(hub))[:2])
        return await original(request, body)
    fake.api.on("POST", CS, default=cs)

    result = await hub.senders["zalo"].send(USER, OutboundMessage(text="Đã tiếp nhận"))
    assert result.status == "sent"
    assert fake.oauth_calls == 1 and fake.used == ["RT-0"]
    assert [c.headers["access_token"] for c in fake.api.calls_to(CS)] == ["AT-0", "AT-1"]
    # the new pair was in the database before it was used
    assert seen_in_db_at_retry[-1] == ("AT-1", "RT-1")
    assert await stored_pair(hub) == ("AT-1", "RT-1", None)
    oauth = fake.api.calls_to("/v4/oa/access_token")[0]
    assert oauth.headers["secret_key"] == "app-secret-for-tests"
    assert b"grant_type=refresh_token" in oauth.body and b"refresh_token=RT-0" in oauth.body


async def test_token_refused_right_after_a_refresh_pauses(zalo_hub):
    hub, fake = await zalo_hub()
    fake.api.on("POST", CS, {"error": -216, "message": "invalid"}, {"error": -216, "message": "invalid"})
    fake.valid_access = set()
    result = await hub.senders["zalo"].send(USER, OutboundMessage(text="x"))
    assert result.status == "paused" and fake.oauth_calls == 1 and len(fake.api.calls_to(CS)) == 2


@pytest.mark.parametrize("answer,status,other_route", [
    ("api_message_cs__error_-230", "give_up", True),
    ("api_message_cs__error_-227", "give_up", True),
    ({"error": -232, "message": "out of window"}, "give_up", True),
    ({"error": -213, "message": "not follower"}, "give_up", True),
    ({"error": -244, "message": "blocked"}, "give_up", True),
    ({"error": -201, "message": "Parameters invalid"}, "give_up", True),
    ("api_message_cs__error_-32", "retry", False),
    ({"error": -999, "message": "something new"}, "retry", False),
    ((500, "oops"), "retry", False),
    ((200, "not json"), "retry", False),
])
async def test_error_table(zalo_hub, answer, status, other_route):
    hub, fake = await zalo_hub()
    fake.api.on("POST", CS, api_answer(answer) if isinstance(answer, str) else answer)
    result = await hub.senders["zalo"].send(USER, OutboundMessage(text="x"))
    assert (result.status, result.needs_other_route) == (status, other_route), result
    assert result.reason and "AT-0" not in result.reason and fake.oauth_calls == 0


async def test_night_time_refusal_waits_for_six_in_the_morning(zalo_hub):
    hub, fake = await zalo_hub()
    fake.api.on("POST", CS, {"error": -234, "message": "night"})
    result = await hub.senders["zalo"].send(USER, OutboundMessage(text="x"))
    assert result.status == "retry" and abs(result.retry_after - seconds_until_morning()) < 5


@pytest.mark.parametrize("local,hours", [((23, 0), 7), ((5, 0), 1), ((6, 0), 24), ((12, 30), 17.5),
                                         ((0, 0), 6)])
def test_seconds_until_morning_in_vietnam(local, hours):
    now = datetime(2026, 3, 2, *local, tzinfo=VIETNAM)
    assert seconds_until_morning(now) == hours * 3600


async def test_network_error_is_a_retry(zalo_hub):
    hub, fake = await zalo_hub(api_base="http://127.0.0.1:9")
    result = await hub.senders["zalo"].send(USER, OutboundMessage(text="x"))
    assert result.status == "retry" and "network" in result.reason


async def test_terminal_refresh_failure_pauses_zalo_and_zns_with_an_alert(zalo_hub, caplog):
    hub, fake = await zalo_hub()
    fake.valid_access, fake.refresh_token = set(), "RT-someone-else"  # RT-0 is no longer valid
    result = await hub.senders["zalo"].send(USER, OutboundMessage(text="x"))
    assert result.status == "paused"
    assert set(hub.paused) == {"zalo", "zns"}
    assert hub.metrics.alerts.labels("zalo", "paused")._value.get() == 1
    assert "ALERT" in caplog.text and "RT-0" not in caplog.text and "app-secret" not in caplog.text
    assert (await stored_pair(hub))[2]  # recorded for every process
    again = await hub.senders["zns"].send("0905123456", OutboundMessage(text="x"))
    assert again.status == "paused" and fake.oauth_calls == 1  # never reuses the refused token


async def test_anonymous_chat_is_answered_through_its_conversation(zalo_hub):
    hub, fake = await zalo_hub()
    await hub.senders["zalo"].send("anonymous:an-7c1d:cv-9f8e", OutboundMessage(text="x"))
    assert fake.api.calls_to(CS)[0].json()["recipient"] == {"anonymous_id": "an-7c1d",
                                                            "conversation_id": "cv-9f8e"}


# --- ZNS -------------------------------------------------------------------------------------
ZNS_MESSAGE = OutboundMessage(text="Phản ánh PA-2026-000007 đã được xử lý", report_code="PA-2026-000007",
                              idempotency_key="outbox-42",
                              template_data={"code": "PA-2026-000007", "status_label": "Đã xử lý xong",
                                             "agency": "Sở Xây dựng"})


@pytest.mark.parametrize("phone", ["0905123456", "+84905123456", "84 905 123 456"])
async def test_zns_sends_the_template_to_84_phone_with_tracking_id(zalo_hub, phone):
    hub, fake = await zalo_hub()
    result = await hub.senders["zns"].send(phone, ZNS_MESSAGE)
    assert result.status == "sent"
    [call] = fake.api.calls_to(ZNS)
    assert call.headers["access_token"] == "AT-0"
    assert call.json() == {"phone": "84905123456", "template_id": "305678", "tracking_id": "outbox-42",
                           "template_data": {"code": "PA-2026-000007", "status_label": "Đã xử lý xong",
                                             "agency": "Sở Xây dựng"}}


async def test_zns_params_map_our_fields_to_the_template(zalo_hub):
    hub, fake = await zalo_hub(zns_params={"ma_phan_anh": "code", "trang_thai": "status_label"})
    await hub.senders["zns"].send("0905123456", ZNS_MESSAGE)
    assert fake.api.calls_to(ZNS)[0].json()["template_data"] == {
        "ma_phan_anh": "PA-2026-000007", "trang_thai": "Đã xử lý xong"}


@pytest.mark.parametrize("phone,answer,status", [
    ("12345", None, "give_up"),
    ("0905123456", {"error": -118, "message": "Zalo account not existed"}, "give_up"),
    ("0905123456", {"error": -32, "message": "limit"}, "retry"),
    ("0905123456", {"error": -234, "message": "night"}, "retry"),
])
async def test_zns_error_table(zalo_hub, phone, answer, status):
    hub, fake = await zalo_hub()
    if answer:
        fake.api.on("POST", ZNS, answer)
    result = await hub.senders["zns"].send(phone, ZNS_MESSAGE)
    assert result.status == status and (status != "give_up" or result.needs_other_route)


async def test_zns_token_error_refreshes_once(zalo_hub):
    hub, fake = await zalo_hub()
    fake.valid_access = set()
    result = await hub.senders["zns"].send("0905123456", ZNS_MESSAGE)
    assert result.status == "sent" and fake.oauth_calls == 1
    assert [c.headers["access_token"] for c in fake.api.calls_to(ZNS)] == ["AT-0", "AT-1"]


async def test_zns_without_template_id_gives_up_for_another_route(zalo_hub):
    hub, fake = await zalo_hub(zns_template_id="")
    result = await hub.senders["zns"].send("0905123456", ZNS_MESSAGE)
    assert result.status == "give_up" and result.needs_other_route and not fake.api.calls_to(ZNS)
