"""Messenger Send API: text splitting and the Graph error code → DeliveryResult mapping.

Pure helpers; the HTTP call itself lives in ``MessengerChannel.send``.
"""
from __future__ import annotations

from typing import Any

from normalizer.schema import DeliveryResult

MAX_TEXT = 2000
OUTSIDE_WINDOW = "outside 24-hour window"

# Graph error codes (https://developers.facebook.com/docs/messenger-platform/error-codes).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
TEMPORARY_CODES = frozenset({1, 2, 1200})
TOKEN_CODES = frozenset({190, 102})
WINDOW_SUBCODES = frozenset({2018278, 2018108, 2018065})
NO_RECIPIENT_SUBCODES = frozenset({2018001, 1545041})


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph, line, sentence or word
    boundary when one exists in the second half of the piece."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            at = window.rfind(sep)
            if at >= limit // 2:
                cut = at + len(sep)
                break
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def graph_error(body: Any) -> tuple[int | None, int | None, str]:
    """(code, subcode, short message) from a Graph error body; tolerant of junk."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return None, None, ""
    code = err.get("code")
    sub = err.get("error_subcode")
    message = str(err.get("message") or "")[:200]
    return (code if isinstance(code, int) else None, sub if isinstance(sub, int) else None,
            message)


def classify_error(status: int, body: Any, retry_after: float | None = None) -> DeliveryResult:
    """One failed Send API answer → what the outbox should do with the message."""
    code, sub, message = graph_error(body)
    what = f"Graph error {code}" + (f"/{sub}" if sub else "") + (f": {message}" if message else "")
    if code in TOKEN_CODES:
        # Every further send would fail the same way: pause the channel and raise an alert.
        return DeliveryResult.paused(f"page access token invalid or expired ({what})")
    if code in RATE_LIMIT_CODES:
        return DeliveryResult.retry(f"rate limited ({what})", retry_after=retry_after)
    if code in TEMPORARY_CODES:
        return DeliveryResult.retry(f"temporary failure ({what})", retry_after=retry_after)
    if code == 10 or sub in WINDOW_SUBCODES:
        return DeliveryResult.give_up(f"{OUTSIDE_WINDOW} ({what})", needs_other_route=True)
    if code == 551:
        return DeliveryResult.give_up(f"user unavailable on Messenger ({what})",
                                      needs_other_route=True)
    if sub in NO_RECIPIENT_SUBCODES:
        return DeliveryResult.give_up(f"no such Messenger user ({what})", needs_other_route=True)
    if code == 100:
        return DeliveryResult.give_up(f"invalid parameter ({what})", needs_other_route=True)
    if code in (200, 230):
        # Missing pages_messaging permission (app not reviewed: only its testers can be
        # messaged). Per recipient, so not a pause; another contact point may reach them.
        return DeliveryResult.give_up(f"app lacks permission to message ({what})",
                                      needs_other_route=True)
    if status >= 500 or status == 429 or (code is None and status in (408, 409)):
        return DeliveryResult.retry(f"Graph API HTTP {status} ({what})", retry_after=retry_after)
    return DeliveryResult.give_up(f"Send API refused the message: HTTP {status} ({what})")


def retry_after_seconds(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
