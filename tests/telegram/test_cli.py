"""python main.py telegram-set-webhook against the fake Bot API (requests is synchronous: the
command runs in a thread while the fake serves on this loop)."""
from __future__ import annotations

import asyncio

from main import main
from tests.telegram.fakebot import SECRET, TOKEN, error, path


def write_config(tmp_path, api_url: str, public: str = "https://phananh.hue.gov.vn") -> str:
    config = tmp_path / "hub.toml"
    config.write_text(f"""
[server]
public_base_url = "{public}"
[channels.telegram]
enabled = true
bot_token = "{TOKEN}"
secret_token = "{SECRET}"
api_base = "{api_url}"
""", encoding="utf-8")
    return str(config)


async def test_set_webhook_registers_url_and_secret(bot_api, tmp_path, capsys):
    bot_api.on("POST", path("setWebhook"), {"ok": True, "result": True,
                                            "description": "Webhook was set"})
    code = await asyncio.to_thread(main, ["telegram-set-webhook", "--config",
                                          write_config(tmp_path, bot_api.url)])
    out = capsys.readouterr()
    assert code == 0, out.err
    [call] = bot_api.calls_to(path("setWebhook"))
    assert call.json() == {"url": "https://phananh.hue.gov.vn/webhooks/telegram",
                           "secret_token": SECRET, "drop_pending_updates": False,
                           "allowed_updates": ["message", "edited_message", "my_chat_member"]}
    assert "webhook set: https://phananh.hue.gov.vn/webhooks/telegram" in out.out
    assert TOKEN not in out.out + out.err and SECRET not in out.out + out.err


async def test_set_webhook_reports_telegram_refusal(bot_api, tmp_path, capsys):
    bot_api.on("POST", path("setWebhook"),
               error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"))
    code = await asyncio.to_thread(main, ["telegram-set-webhook", "--drop-pending-updates",
                                          "--config", write_config(tmp_path, bot_api.url,
                                                                   public="http://10.0.0.5:8080")])
    out = capsys.readouterr()
    assert code == 1
    assert "HTTPS URL must be provided" in out.err and "warning: Telegram only delivers" in out.err
    assert bot_api.calls_to(path("setWebhook"))[0].json()["drop_pending_updates"] is True
    assert TOKEN not in out.out + out.err


async def test_set_webhook_unreachable_api_names_no_secret(bot_api, tmp_path, capsys):
    url = bot_api.url
    await bot_api.close()
    code = await asyncio.to_thread(main, ["telegram-set-webhook", "--config", write_config(tmp_path, url)])
    out = capsys.readouterr()
    assert code == 1 and "could not reach the Bot API (ConnectionError)" in out.err
    assert TOKEN not in out.out + out.err


async def test_set_webhook_needs_the_secrets(tmp_path, capsys):
    config = tmp_path / "hub.toml"
    config.write_text("[channels.telegram]\nenabled = true\napi_base = 'http://127.0.0.1:9'\n",
                      encoding="utf-8")
    code = await asyncio.to_thread(main, ["telegram-set-webhook", "--config", str(config)])
    assert code == 2
    assert "channels.telegram.bot_token, channels.telegram.secret_token" in capsys.readouterr().err


async def test_set_webhook_refuses_while_the_channel_is_off(bot_api, tmp_path, capsys):
    """Walkthrough: with the channel disabled it registered the webhook all the same, and
    Telegram would deliver to a path the hub does not serve."""
    from pathlib import Path

    config = Path(write_config(tmp_path, bot_api.url))
    config.write_text(config.read_text(encoding="utf-8").replace("enabled = true", "enabled = false"),
                      encoding="utf-8")
    config = str(config)
    code = await asyncio.to_thread(main, ["telegram-set-webhook", "--config", config])
    assert code == 2 and "channels.telegram.enabled is false" in capsys.readouterr().err
    assert bot_api.calls_to(path("setWebhook")) == []


async def test_an_unauthorized_token_is_named(bot_api, tmp_path, capsys):
    bot_api.on("POST", path("setWebhook"), error(401, "Unauthorized"))
    code = await asyncio.to_thread(main, ["telegram-set-webhook", "--config", write_config(tmp_path, bot_api.url)])
    out = capsys.readouterr()
    assert code == 1 and "check channels.telegram.bot_token" in out.err and TOKEN not in out.err
