"""Load and demo requests for the Open311 channel (form-encoded POST requests.json)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

NAME = "web"
PATH = "/open311/v2/requests.json"


def settings(api_base: str | None = None) -> dict[str, Any]:
    """Settings overrides that enable the channel (api_base: a fake API's URL, unused here)."""
    return {"channels": {"web": {"enabled": True}}}


def requests(n: int, start: int = 0) -> list[tuple[str, dict[str, str], bytes]]:
    """n distinct, valid intake requests: (path, headers, body)."""
    out = []
    for i in range(start, start + n):
        body = urlencode({
            "service_code": "environment",
            "description": f"Rác thải tồn đọng lâu ngày tại kiệt {i % 97} Nguyễn Trãi (bench {i})",
            "lat": "16.4698", "long": "107.5786", "client_token": f"bench-{i}",
        }).encode()
        out.append((PATH, {"Content-Type": "application/x-www-form-urlencoded"}, body))
    return out


def message(description: str, lat: str = "16.4698", lon: str = "107.5786",
            token: str = "demo-web-1") -> tuple[str, dict[str, str], bytes]:
    """One form POST as the portal sends it (the demo)."""
    body = urlencode({"service_code": "environment", "description": description, "lat": lat,
                      "long": lon, "client_token": token}).encode()
    return PATH, {"Content-Type": "application/x-www-form-urlencoded",
                  "Idempotency-Key": token}, body
