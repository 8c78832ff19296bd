"""A fake Telegram Bot API on loopback (getMe, sendMessage, getFile, file download) built on
tests.fakes.FakeAPI. python-telegram-bot posts form-encoded parameters."""
from __future__ import annotations

import json
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes import Call, FakeAPI

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"
TOKEN = "7012345678:AAF4keT0kenForTheHubTests_x9Qw2Lm7Zp"
SECRET = "hue-webhook-Secret_2026"
BOT_USER = {"id": 7012345678, "is_bot": True, "first_name": "Phản ánh hiện trường Huế",
            "username": "hue_phananh_bot"}
# file_id → (file_path on the file server, bytes) for getFile and the download.
FILES: dict[str, tuple[str, bytes]] = {
    "AgACAgUAAxkBAAIBZ2Wphoto_x": ("photos/file_12.jpg", b"\xff\xd8\xff\xe0 photo of garbage" * 40),
    "BAACAgUAAxkBAAIBvideo01": ("videos/file_3.mp4", b"\x00\x00\x00\x18ftypmp42 video" * 40),
    "BQACAgUAAxkBAAIBdoc01": ("documents/file_5.pdf", b"%PDF-1.7 complaint" * 40),
    "BQACAgUAAxkBAAIBdocimg": ("documents/file_6.jpg", b"\xff\xd8\xff\xe1 full size" * 40),
    "AwACAgUAAxkBAAIBvoice01": ("voice/file_8.oga", b"OggS voice note" * 40),
}


def path(method: str) -> str:
    return f"/bot{TOKEN}/{method}"


def form(call: Call) -> dict[str, str]:
    return dict(parse_qsl(call.body.decode()))


def sent_messages(api: FakeAPI) -> list[dict[str, str]]:
    return [form(c) for c in api.calls_to(path("sendMessage"))]


def error(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


def load(name: str, *, update_id: int | None = None, chat_id: int | None = None,
         date: int | None = None) -> dict[str, Any]:
    """A fixture update, optionally with another id, chat and date (e.g. now, for assembly)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    if update_id is not None:
        data["update_id"] = update_id
    for key in ("message", "edited_message", "my_chat_member"):
        if key in data:
            if chat_id is not None:
                data[key]["chat"]["id"] = chat_id
                data[key]["from"]["id"] = chat_id
                if data[key].get("contact", {}).get("user_id") == 512340001:
                    data[key]["contact"]["user_id"] = chat_id
            if date is not None:
                data[key]["date"] = date
    return data


def serve(api: FakeAPI) -> None:
    """Default answers of a healthy Bot API."""
    ids = count(1000)

    async def send_message(request: web.Request, body: bytes) -> web.Response:
        params = dict(parse_qsl(body.decode()))
        return web.json_response({"ok": True, "result": {
            "message_id": next(ids), "date": 1767600000, "from": BOT_USER,
            "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": params["text"]}})

    async def get_file(request: web.Request, body: bytes) -> web.Response:
        file_id = dict(parse_qsl(body.decode()))["file_id"]
        if file_id not in FILES:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: invalid file_id"}, status=400)
        file_path, data = FILES[file_id]
        return web.json_response({"ok": True, "result": {
            "file_id": file_id, "file_unique_id": "u" + file_id[-6:], "file_size": len(data),
            "file_path": file_path}})

    api.on("POST", path("getMe"), default={"ok": True, "result": BOT_USER})
    api.on("POST", path("sendMessage"), default=send_message)
    api.on("POST", path("getFile"), default=get_file)
    for file_path, data in FILES.values():
        api.on("GET", f"/file/bot{TOKEN}/{file_path}", default=data)


def channel_settings(api_url: str, **extra: Any) -> dict[str, Any]:
    return {"telegram": {"enabled": True, "bot_token": TOKEN, "secret_token": SECRET,
                         "api_base": api_url, **extra}}
