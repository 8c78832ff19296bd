"""Load and demo requests for the Telegram channel (POST /webhooks/telegram with the secret token
header; one update per request, distinct update_id and chat per request)."""
from __future__ import annotations

import json
from typing import Any

NAME = "telegram"
PATH = "/webhooks/telegram"
BOT_TOKEN = "7000000001:BenchTokenNotARealBotToken_abcdefgh"
SECRET_TOKEN = "bench-telegram-secret"
# update_id of request 0; Telegram's ids are positive 31-bit integers.
FIRST_UPDATE_ID = 900_000_000
TEXTS = (
    "Rác thải tồn đọng lâu ngày tại kiệt {k} Nguyễn Trãi, bốc mùi hôi",
    "Đèn chiếu sáng đường Lê Duẩn đoạn số {k} bị tắt nhiều đêm",
    "Ổ gà lớn trên đường Hùng Vương trước số nhà {k}, rất nguy hiểm",
    "Công trình xây dựng không phép tại kiệt {k} Phan Đình Phùng",
)


def settings(api_base: str | None = None) -> dict[str, Any]:
    """Settings overrides that enable the channel. api_base: a fake Bot API's URL (it should
    answer getMe and sendMessage; when nothing answers, intake still works and replies wait in
    the outbox)."""
    return {"channels": {"telegram": {"enabled": True, "bot_token": BOT_TOKEN,
                                      "secret_token": SECRET_TOKEN,
                                      "api_base": api_base or "http://127.0.0.1:9"}}}


def update(i: int, text: str | None = None, seq: int = 0, date: int | None = None) -> dict[str, Any]:
    chat = 100_000_000 + i
    user = {"id": chat, "is_bot": False, "first_name": "Bench", "last_name": str(i),
            "language_code": "vi"}
    return {"update_id": FIRST_UPDATE_ID + i + seq * 1_000_000,
            "message": {"message_id": 1 + i % 1000 + seq, "from": user,
                        "chat": {"id": chat, "first_name": "Bench", "type": "private"},
                        "date": 1767600000 + i % 86400 if date is None else date,
                        "text": text or TEXTS[i % len(TEXTS)].format(k=i % 97)}}


def requests(n: int, start: int = 0) -> list[tuple[str, dict[str, str], bytes]]:
    """n distinct, valid webhook requests: (path, headers, body)."""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET_TOKEN}
    return [(PATH, headers, json.dumps(update(i), ensure_ascii=False).encode())
            for i in range(start, start + n)]


def message(i: int, text: str, seq: int = 0) -> tuple[str, dict[str, str], bytes]:
    """One live request: citizen i says ``text`` (the demo)."""
    import time

    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET_TOKEN}
    return PATH, headers, json.dumps(update(i, text, seq, int(time.time())), ensure_ascii=False).encode()
