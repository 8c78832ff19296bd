"""One contract test over every registered adapter (failures injected, as Apprise does for its
plugins): an enabled channel without its secrets fails fast naming the keys; every sender answers
a 5xx, a refused connection and a 429 with "retry later" — never an exception, never "sent"."""
import socket
import tomllib
from pathlib import Path

import pytest
from aiohttp import web

from channels.base import ChannelConfigError
from channels.registry import ADAPTERS, adapter_class
from hub.app import build_hub, close_hub, start_hub
from normalizer.schema import DeliveryResult, OutboundMessage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def contract(name: str) -> dict:
    """tests/fixtures/<channel>/contract.toml: what this test needs to know of a channel."""
    path = FIXTURES / name / "contract.toml"
    if not path.exists():
        pytest.fail(f"channel {name!r} has no {path.relative_to(FIXTURES.parent)}")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def channel_settings(name: str, base: str, smtp_port: int) -> dict:
    filled = {}
    for key, value in contract(name)["settings"].items():
        if isinstance(value, str):
            value = value.replace("{base}", base).replace("{smtp_port}", str(smtp_port))
        filled[key] = value
    return filled


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_enabled_without_secrets_fails_fast_naming_keys(name, settings_factory):
    if not contract(name)["needs_secrets"]:
        pytest.skip(f"the {name} channel needs no secrets to work")
    settings = settings_factory(channels={name: {"enabled": True}})
    with pytest.raises(ChannelConfigError) as err:
        build_hub(settings)
    assert f"channels.{name}." in str(err.value)


def test_every_enabled_channel_missing_settings_is_named_at_once(settings_factory):
    """Walkthrough: with Messenger, Zalo and Telegram enabled and no secrets, each start named
    one channel's keys; fixing them revealed the next. One error names them all."""
    needy = [n for n in sorted(ADAPTERS) if contract(n)["needs_secrets"]]
    assert len(needy) >= 3
    settings = settings_factory(channels={n: {"enabled": True} for n in needy})
    with pytest.raises(ChannelConfigError) as err:
        build_hub(settings)
    text = str(err.value)
    assert text.count("channel enabled but missing settings") == 1
    assert all(f"channels.{n}." in text for n in needy), text


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
        result = await sender.send(contract(name)["address"], OutboundMessage(
            text="Phản ánh PA-2026-000001 đã được tiếp nhận.", report_code="PA-2026-000001",
            idempotency_key="outbox-1"))
        assert isinstance(result, DeliveryResult)
        assert result.status == contract(name)["failed_send"], (name, failure, result)
        if result.status == "retry":
            assert result.reason
    finally:
        await close_hub(hub)
        if runner is not None:
            await runner.cleanup()
