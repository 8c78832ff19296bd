"""Load and demo requests for the Messenger channel (POST /webhooks/messenger, signed with
X-Hub-Signature-256 over the raw body; one citizen message per request, distinct mid and PSID)."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

NAME = "messenger"
PATH = "/webhooks/messenger"
EVENTS_PER_REQUEST = 1
APP_SECRET = "bench-messenger-app-secret"
VERIFY_TOKEN = "bench-messenger-verify-token"
PAGE_TOKEN = "bench-messenger-page-token"
PAGE_ID = "104857600123456"
# Fixed base time (2026-01-05T00:00:00Z, ms): replies to these old messages are refused by the
# 24-hour rule without a network call, so a bench never talks to a Graph API.
BASE_MS = 1767571200000
TEXTS = (
    "Rác thải tồn đọng lâu ngày tại kiệt {k} Nguyễn Trãi, bốc mùi hôi",
    "Đèn chiếu sáng đường Lê Duẩn đoạn số {k} bị tắt nhiều đêm",
    "Ổ gà lớn trên đường Hùng Vương trước số nhà {k}, rất nguy hiểm",
    "Lấn chiếm vỉa hè buôn bán tại chợ Đông Ba, lối đi số {k}",
)


def settings(api_base: str | None = None) -> dict[str, Any]:
    """Settings overrides that enable the channel. api_base: a fake Graph API's URL, with or
    without a version path (the hub posts to {graph_api_base}/me/messages)."""
    return {"channels": {"messenger": {
        "enabled": True, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
        "page_access_token": PAGE_TOKEN, "graph_api_base": api_base or "http://127.0.0.1:9"}}}


def event(i: int, timestamp_ms: int | None = None, text: str | None = None,
          seq: int = 0) -> dict[str, Any]:
    """Citizen i's message (seq: their n-th, for a demo conversation)."""
    mid = f"m_bench_{i:09d}" + (f"_{seq}" if seq else "")
    return {"sender": {"id": str(7_100_000_000_000_000 + i)}, "recipient": {"id": PAGE_ID},
            "timestamp": BASE_MS + i if timestamp_ms is None else timestamp_ms,
            "message": {"mid": mid, "text": text or TEXTS[i % len(TEXTS)].format(k=i % 97)}}


def body(i: int, timestamp_ms: int | None = None, text: str | None = None, seq: int = 0) -> bytes:
    return json.dumps({"object": "page", "entry": [
        {"id": PAGE_ID, "time": BASE_MS + i, "messaging": [event(i, timestamp_ms, text, seq)]}]},
        ensure_ascii=False).encode()


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def requests(n: int, start: int = 0,
             timestamp_ms: int | None = None) -> list[tuple[str, dict[str, str], bytes]]:
    """n distinct, valid, signed webhook requests: (path, headers, body). Pass timestamp_ms
    (e.g. now) for a demo whose replies should go out inside the 24-hour window."""
    out = []
    for i in range(start, start + n):
        raw = body(i, timestamp_ms)
        out.append((PATH, {"Content-Type": "application/json",
                           "X-Hub-Signature-256": sign(raw)}, raw))
    return out


def message(i: int, text: str, seq: int = 0) -> tuple[str, dict[str, str], bytes]:
    """One live (timestamped now) signed request: citizen i says ``text`` (the demo)."""
    import time

    raw = body(i, int(time.time() * 1000), text, seq)
    return PATH, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}, raw
