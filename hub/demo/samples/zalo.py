"""Load and demo requests for the Zalo OA channel (POST /webhooks/zalo, signed as Zalo signs:
``X-ZEvent-Signature: mac=<sha256(app_id + body + timestamp + oa_secret_key)>``; one
``user_send_text`` per request with a distinct msg_id and citizen)."""
from __future__ import annotations

import json
from typing import Any

NAME = "zalo"
PATH = "/webhooks/zalo"
APP_ID = "3608465249409039671"
OA_ID = "388613280878808645"
OA_SECRET_KEY = "bench-zalo-oa-secret-key"
FIRST_TIMESTAMP_MS = 1767600000000
TEXTS = (
    "Rác thải tồn đọng lâu ngày tại kiệt {k} Nguyễn Trãi, bốc mùi hôi",
    "Đèn chiếu sáng đường Lê Duẩn đoạn số {k} bị tắt nhiều đêm",
    "Ổ gà lớn trên đường Hùng Vương trước số nhà {k}, rất nguy hiểm",
    "Lấn chiếm vỉa hè buôn bán tại số {k} Trần Hưng Đạo",
)


def settings(api_base: str | None = None) -> dict[str, Any]:
    """Settings overrides that enable the channel. api_base: a fake Zalo API + OAuth server's
    URL (when nothing answers there, intake still works and replies wait in the outbox)."""
    base = api_base or "http://127.0.0.1:9"
    return {"channels": {"zalo": {
        "enabled": True, "app_id": APP_ID, "oa_secret_key": OA_SECRET_KEY,
        "app_secret": "bench-zalo-app-secret", "access_token": "bench-access-token",
        "refresh_token": "bench-refresh-token", "api_base": base, "oauth_base": base,
        "zns_base": base + "/zns"}}}


def event(i: int, text: str | None = None, seq: int = 0,
          timestamp_ms: int | None = None) -> dict[str, Any]:
    return {"app_id": APP_ID, "sender": {"id": str(2468458835291979221 + i)},
            "user_id_by_app": str(5521772797175877301 + i), "recipient": {"id": OA_ID},
            "event_name": "user_send_text",
            "message": {"text": text or TEXTS[i % len(TEXTS)].format(k=i % 97),
                        "msg_id": f"bench{i:020d}" + (f"s{seq}" if seq else "")},
            "timestamp": str(FIRST_TIMESTAMP_MS + i if timestamp_ms is None else timestamp_ms)}


def requests(n: int, start: int = 0) -> list[tuple[str, dict[str, str], bytes]]:
    """n distinct, valid, signed webhook requests: (path, headers, body)."""
    from channels.zalo.adapter import sign_headers

    out = []
    for i in range(start, start + n):
        payload = event(i)
        body = json.dumps(payload, ensure_ascii=False).encode()
        out.append((PATH, sign_headers(body, APP_ID, payload["timestamp"], OA_SECRET_KEY), body))
    return out


def message(i: int, text: str, seq: int = 0) -> tuple[str, dict[str, str], bytes]:
    """One live (timestamped now) signed request: citizen i says ``text`` (the demo)."""
    import time

    from channels.zalo.adapter import sign_headers

    payload = event(i, text, seq, int(time.time() * 1000))
    raw = json.dumps(payload, ensure_ascii=False).encode()
    return PATH, sign_headers(raw, APP_ID, payload["timestamp"], OA_SECRET_KEY), raw
