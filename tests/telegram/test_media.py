"""Attachments: getFile through the Bot, then a size-capped download from the configured Bot API
file endpoint only."""
from __future__ import annotations

import pytest

from channels.media import MediaRefused, MediaUnavailable
from hub.keys import HUB_KEY
from tests.telegram.fakebot import FILES, TOKEN, path

PHOTO = "AgACAgUAAxkBAAIBZ2Wphoto_x"


async def adapter_for(telegram_hub):
    client = await telegram_hub(workers=False)
    return client.app[HUB_KEY].channels["telegram"]


async def test_photo_is_fetched_with_get_file_then_downloaded(telegram_hub, bot_api):
    adapter = await adapter_for(telegram_hub)
    data, ctype = await adapter.fetch_media("tg-file:" + PHOTO, 1_000_000)
    assert data == FILES[PHOTO][1] and ctype == "image/jpeg"
    assert [c.path for c in bot_api.calls if "getMe" not in c.path] == [
        path("getFile"), f"/file/bot{TOKEN}/photos/file_12.jpg"]


async def test_file_larger_than_the_cap_is_refused_before_download(telegram_hub, bot_api):
    adapter = await adapter_for(telegram_hub)
    with pytest.raises(MediaRefused, match="exceeds 100"):
        await adapter.fetch_media("tg-file:" + PHOTO, 100)
    assert not [c for c in bot_api.calls if c.path.startswith("/file/")]


async def test_download_is_capped_when_get_file_gives_no_size(telegram_hub, bot_api):
    bot_api.on("POST", path("getFile"), {"ok": True, "result": {
        "file_id": PHOTO, "file_unique_id": "u1", "file_path": "photos/file_12.jpg"}})
    adapter = await adapter_for(telegram_hub)
    with pytest.raises(MediaRefused, match="file of 840 bytes exceeds 100"):
        await adapter.fetch_media("tg-file:" + PHOTO, 100)
    assert [c for c in bot_api.calls if c.path.startswith("/file/")]  # refused by the download


async def test_file_too_big_for_bots_is_refused(telegram_hub, bot_api):
    bot_api.on("POST", path("getFile"), (400, {"ok": False, "error_code": 400,
                                               "description": "Bad Request: file is too big"}))
    adapter = await adapter_for(telegram_hub)
    with pytest.raises(MediaRefused, match="too big"):
        await adapter.fetch_media("tg-file:" + PHOTO, 50_000_000)


async def test_bot_api_down_is_temporary(telegram_hub, bot_api):
    bot_api.on("POST", path("getFile"), (503, {"ok": False, "error_code": 503,
                                               "description": "Service Unavailable"}))
    adapter = await adapter_for(telegram_hub)
    with pytest.raises(MediaUnavailable) as caught:
        await adapter.fetch_media("tg-file:" + PHOTO, 1_000_000)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("url", ["https://evil.example/photo.jpg", "http://127.0.0.1/x", "file:///etc/hostname"])
async def test_only_telegram_file_references_are_fetched(telegram_hub, bot_api, url):
    adapter = await adapter_for(telegram_hub)
    with pytest.raises(MediaRefused):
        await adapter.fetch_media(url, 1_000_000)
    assert [c.path for c in bot_api.calls] == [path("getMe")]


async def test_a_local_path_from_get_file_is_never_read(telegram_hub, bot_api, tmp_path):
    """python-telegram-bot keeps a file_path that exists on disk as a local path (local mode);
    a hostile or broken API answer must not make us read our own files."""
    secret_file = tmp_path / "settings.toml"
    secret_file.write_text("bot_token = 'x'")
    bot_api.on("POST", path("getFile"), {"ok": True, "result": {
        "file_id": PHOTO, "file_unique_id": "u1", "file_path": str(secret_file)}})
    adapter = await adapter_for(telegram_hub)
    with pytest.raises(MediaRefused, match="outside the configured"):
        await adapter.fetch_media("tg-file:" + PHOTO, 1_000_000)
