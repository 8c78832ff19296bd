"""One contract test over every registered adapter (failures injected, as Apprise does for its
plugins): an enabled channel without its secrets fails fast naming the keys; every sender answers
a 5xx, a refused connection and a 429 with "retry later" — never an exception, never "sent"."""
import socket

import pytest
from aiohttp import web

from channels.base import ChannelConfigError
from channels.registry import ADAPTERS, adapter_class
from hub.app import build_hub, close_hub, start_hub
from normalizer.schema import DeliveryResult, OutboundMessage

ADDRESS = {"messenger": "2400000000000001", "zalo": "8000000000000000001", "telegram": "123456789",
           "email": "citizen@example.vn", "hotline": "+84905123456", "web": "anonymous:x"}


def channel_settings(name: str, base: str, smtp_port: int) -> dict:
    return {
        "messenger": {"enabled": True, "app_secret": "s", "verify_token": "v",
                      "page_access_token": "p", "graph_api_base": base},
        "zalo": {"enabled": True, "app_id": "1", "oa_secret_key": "k", "app_secret": "a",
                 "access_token": "t", "refresh_token": "r", "api_base": base, "oauth_base": base,
                 "zns_base": base, "zns_template_id": "1"},
        "telegram": {"enabled": True, "bot_token": "123:abc", "secret_token": "s", "api_base": base},
        "email": {"enabled": True, "imap_host": "127.0.0.1", "username": "u", "password": "p",
                  "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_starttls": False,
                  "from_address": "dttm@example.vn"},
        "hotline": {"enabled": True, "sms_gateway_url": base + "/sms"},
        "web": {"enabled": True},
    }[name]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_enabled_without_secrets_fails_fast_naming_keys(name, settings_factory):
    if name in ("web", "hotline"):
        pytest.skip(f"the {name} channel needs no secrets to work")
    settings = settings_factory(channels={name: {"enabled": True}})
    with pytest.raises(ChannelConfigError) as err:
        build_hub(settings)
    assert f"channels.{name}." in str(err.value)


async def _status_server(status: int):
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        if request.path.endswith("/getMe"):  # python-telegram-bot calls it at start
            return web.json_response({"ok": True, "result": {
                "id": 1, "is_bot": True, "first_name": "Hub", "username": "hub_bot"}})
        return web.json_response({"error": "injected failure"}, status=status,
                                 headers={"Retry-After": "1"})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize("failure", ["http_500", "http_429", "refused"])
@pytest.mark.parametrize("name", sorted(ADAPTERS))
async def test_sender_failures_mean_retry_later(name, failure, settings_factory):
    runner = None
    if failure == "refused":
        base = f"http://127.0.0.1:{closed_port()}"
        if name == "telegram":  # startup needs getMe; the send itself then finds nothing
            runner, base = await _status_server(500)
    else:
        runner, base = await _status_server(500 if failure == "http_500" else 429)
    settings = settings_factory(channels={name: channel_settings(name, base, closed_port())})
    hub = build_hub(settings)
    try:
        await start_hub(hub)
        if name == "telegram" and failure == "refused":
            await runner.cleanup()
            runner = None
        sender = hub.senders[name]
        assert adapter_class(name).name == name
        result = await sender.send(ADDRESS[name], OutboundMessage(
            text="Phản ánh PA-2026-000001 đã được tiếp nhận.", report_code="PA-2026-000001",
            idempotency_key="outbox-1"))
        assert isinstance(result, DeliveryResult)
        if name == "web":
            assert result.status == "sent"  # the status page is the delivery
        else:
            assert result.status == "retry", (name, failure, result)
            assert result.reason
    finally:
        await close_hub(hub)
        if runner is not None:
            await runner.cleanup()
