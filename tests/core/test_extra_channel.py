"""Adding a channel is one package, its fixtures and one registry line.

This test proves it: it defines a small chat channel ("viber", shaped like Viber's REST bot API:
a signed webhook, a send endpoint with an auth-token header) entirely here, registers it with one
call, and runs a citizen's messages through the real hub — webhook, durable intake, inbox
worker, chat assembly, classification, routing — to a report and the Vietnamese acknowledgement
on the channel's (fake) API. No other file knows this channel: its settings section, its route,
its sender and its assembly style all come from the adapter class. docs/adding-a-channel.md walks
through the same example.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels import registry
from channels.base import ChannelContext, ChannelSettings, constant_time_equal
from channels.webhook import Refused, WebhookChannel
from hub.keys import HUB_KEY
from normalizer.schema import DeliveryResult, InboundMessage, OutboundMessage, RawEvent
from store.models import Report
from tests.conftest import wait_for

TOKEN = "viber-auth-token"


# --- the whole channel: settings, webhook steps, pure parser, sender -------------------------
class ViberSettings(ChannelSettings):
    auth_token: SecretStr = SecretStr("")
    api_base: str = "https://chatapi.viber.com/pa"


def parse_viber(payload: dict[str, Any]) -> list[InboundMessage]:
    """Pure: one Viber callback → InboundMessages."""
    if payload.get("event") != "message":
        return [InboundMessage(channel="viber", external_id=str(payload.get("message_token")),
                               sender_id="", kind="ignore",
                               meta={"reason": f"viber event {payload.get('event')}"})]
    sender, message = payload["sender"], payload["message"]
    return [InboundMessage(channel="viber", external_id=str(payload["message_token"]),
                           sender_id=sender["id"], text=message.get("text", ""),
                           meta={"citizen_initiated": True})]


class ViberChannel(WebhookChannel):
    name = "viber"
    webhook_path = "/webhooks/viber"
    settings_model = ViberSettings
    chat_style = True

    @classmethod
    def from_settings(cls, ctx: ChannelContext, cfg: ViberSettings) -> ViberChannel:
        cls.require(cfg, "channels.viber", "auth_token", "api_base")
        return cls(ctx, cfg)

    def verify(self, headers: Any, raw_body: bytes) -> bool:
        expected = hmac.new(self.cfg.auth_token.get_secret_value().encode(), raw_body,
                            hashlib.sha256).hexdigest()
        return constant_time_equal(headers.get("X-Viber-Content-Signature", ""), expected)

    def split(self, payload: Any) -> list[RawEvent]:
        if not isinstance(payload, dict) or "message_token" not in payload:
            raise Refused(400, "not a Viber callback")
        return [RawEvent(str(payload["message_token"]), payload)]

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        return parse_viber(payload)

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        body = {"receiver": address, "type": "text", "text": message.text}
        try:
            async with self.ctx.http.post(
                    f"{self.cfg.api_base}/send_message", json=body,
                    headers={"X-Viber-Auth-Token": self.cfg.auth_token.get_secret_value()},
                    timeout=aiohttp.ClientTimeout(total=10)) as resp:
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return DeliveryResult.retry(f"viber unreachable: {type(exc).__name__}")
        if resp.status >= 500 or resp.status == 429:
            return DeliveryResult.retry(f"viber answered HTTP {resp.status}")
        if answer.get("status") != 0:
            return DeliveryResult.give_up(f"viber status {answer.get('status')}",
                                          needs_other_route=True)
        return DeliveryResult.sent(provider_id=str(answer.get("message_token")))


# --- the one registry line (undone after the test) --------------------------------------------
@pytest.fixture
def viber_registered():
    registry.register("viber", ViberChannel)
    yield
    registry.unregister("viber")


def callback(token: int, text: str, user: str = "01234567890A=") -> dict[str, Any]:
    return {"event": "message", "timestamp": 1764500000000 + token, "message_token": token,
            "sender": {"id": user, "name": "Trần Thị B"},
            "message": {"type": "text", "text": text}}


def signed(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Viber-Content-Signature":
            hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()}


async def test_a_channel_defined_here_turns_messages_into_a_report_and_a_reply(
        viber_registered, settings_factory, hub_client, fake_api) -> None:
    api = await fake_api()
    api.on("POST", "/pa/send_message", default={"status": 0, "message_token": 555})
    settings = settings_factory(channels={"viber": {
        "enabled": True, "auth_token": TOKEN, "api_base": api.url + "/pa"}})
    assert settings.channels.viber.auth_token.get_secret_value() == TOKEN
    client = await hub_client(settings)
    hub = client.app[HUB_KEY]
    assert "viber" in hub.channels and "viber" in hub.senders and "viber" in hub.chat_channels

    # Two messages of one citizen within the assembly window: one report.
    for token, text in ((1, "Rác thải đổ trộm bốc mùi hôi thối"),
                        (2, "ở kiệt 12 đường Chi Lăng, phường Phú Xuân")):
        body = json.dumps(callback(token, text)).encode()
        resp = await client.post("/webhooks/viber", data=body, headers=signed(body))
        assert resp.status == 200
    # Redelivery is acknowledged and dropped; a bad signature is refused.
    again = json.dumps(callback(1, "Rác thải đổ trộm bốc mùi hôi thối")).encode()
    assert (await client.post("/webhooks/viber", data=again, headers=signed(again))).status == 200
    forged = await client.post("/webhooks/viber", data=again,
                               headers={"X-Viber-Content-Signature": "00" * 32})
    assert forged.status == 403

    async def report() -> Report | None:
        async with hub.sessions() as session:
            rows = (await session.execute(select(Report).where(Report.channel == "viber"))).scalars().all()
        return rows[0] if len(rows) == 1 and len(rows[0].external_ids) == 2 else None

    made = await wait_for(report)
    assert made.category == "environment" and made.agency_id == "moi-truong"
    assert "Chi Lăng" in made.description and made.reply_address == "01234567890A="

    sent = await wait_for(lambda: _sent(api))
    assert sent[0]["receiver"] == "01234567890A="
    assert f"Mã phản ánh: {made.code}" in sent[0]["text"]  # the router's Vietnamese text


async def _sent(api) -> list[dict[str, Any]]:
    return [c.json() for c in api.calls_to("/pa/send_message")]


def test_its_settings_section_refuses_unknown_keys(viber_registered, settings_factory) -> None:
    from hub.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="channels.viber.colour"):
        load_settings(environ={"HUB__CHANNELS__VIBER__COLOUR": "tím"})


async def test_without_it_registered_the_section_is_unknown(settings_factory) -> None:
    from hub.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="channels.viber"):
        load_settings(environ={"HUB__CHANNELS__VIBER__ENABLED": "true"})
    assert "viber" not in registry.ADAPTERS
