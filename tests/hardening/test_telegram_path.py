"""Probe 10: a getFile answer whose path normalises out of /file/bot<token>/ is refused before
any download (the bot token's own API, another bot's files, a local path)."""
from __future__ import annotations

import pytest

from channels.media import MediaRefused
from hub.keys import HUB_KEY
from tests.telegram.fakebot import FILES, TOKEN, path

PHOTO = "AgACAgUAAxkBAAIBZ2Wphoto_x"


@pytest.mark.parametrize("file_path", [
    f"../../bot{TOKEN}/getMe", "../bot123:other/photos/file_1.jpg", "photos/../../../etc/passwd",
    "%2e%2e/%2e%2e/bot1/getUpdates", "%252e%252e/x", "photos\\..\\..\\x", "photos/./../../x",
    "photos/file_12.jpg?x=1", "/etc/hostname", ""])
async def test_get_file_paths_that_escape_are_refused(telegram_hub, bot_api, file_path):
    bot_api.on("POST", path("getFile"), {"ok": True, "result": {
        "file_id": PHOTO, "file_unique_id": "u1", "file_path": file_path}})
    client = await telegram_hub(workers=False)
    adapter = client.app[HUB_KEY].channels["telegram"]
    with pytest.raises(MediaRefused):
        await adapter.fetch_media("tg-file:" + PHOTO, 1_000_000)
    assert not [c for c in bot_api.calls if c.method == "GET"]  # nothing downloaded


async def test_an_ordinary_path_still_downloads(telegram_hub, bot_api):
    client = await telegram_hub(workers=False)
    adapter = client.app[HUB_KEY].channels["telegram"]
    data, _ = await adapter.fetch_media("tg-file:" + PHOTO, 1_000_000)
    assert data == FILES[PHOTO][1]
