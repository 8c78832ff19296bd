"""Calls to the Zalo OpenAPI with the OA access token, and what their answers mean.

Zalo answers errors as HTTP 200 with ``error != 0``. One table per API maps codes to outcomes:
token errors refresh the token once and retry once; rate limits back off; night-time refusals
wait for 06:00 Vietnam time; recipient-side refusals give up with ``needs_other_route`` so the
router can try the citizen's other contact points; anything unknown is retried (the dispatcher
turns it dead after its attempt limit, with the reason).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

import aiohttp

from channels.zalo.tokens import NoGrant, TokenRefreshFailed, TokenUnavailable, ZaloTokens
from normalizer.schema import DeliveryResult

if TYPE_CHECKING:
    from channels.base import ChannelContext

log = logging.getLogger("hub.channels.zalo")

try:
    from zoneinfo import ZoneInfo

    VIETNAM: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # no tz database on the host: Vietnam has no DST, UTC+7 all year
    VIETNAM = timezone(timedelta(hours=7))
NIGHT_ENDS = time(6, 0)


@dataclass(frozen=True)
class ErrorTable:
    """What Zalo error codes mean for one API."""

    token: frozenset[int] = frozenset({-216, -220, -124})
    rate_limit: frozenset[int] = frozenset({-32})
    night: frozenset[int] = frozenset({-234})
    # Permanent for this recipient on this route; another contact point may still work.
    other_route: dict[int, str] = field(default_factory=dict)


CS_ERRORS = ErrorTable(other_route={
    -230: "citizen has not interacted with the OA in the last 7 days",
    -232: "outside the interaction window for this message type",
    -213: "citizen does not follow the OA or has blocked it",
    -227: "citizen account banned or inactive for more than 45 days",
    -244: "citizen has blocked messages from the OA",
    -201: "message refused as invalid by Zalo",
})


def seconds_until_morning(now: datetime | None = None) -> float:
    """Seconds until the next 06:00 in Asia/Ho_Chi_Minh (Zalo's night-time ban ends)."""
    local = (now or datetime.now(VIETNAM)).astimezone(VIETNAM)
    morning = datetime.combine(local.date(), NIGHT_ENDS, tzinfo=VIETNAM)
    if local >= morning:
        morning += timedelta(days=1)
    return max(60.0, (morning - local).total_seconds())


def classify(answer: dict[str, Any], errors: ErrorTable, label: str) -> DeliveryResult:
    """An answer with ``error != 0`` that is not a token error → the delivery outcome."""
    code = _code(answer)
    if code == 0:
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        provider_id = data.get("message_id") or data.get("msg_id")
        return DeliveryResult.sent(provider_id=str(provider_id) if provider_id else None)
    text = str(answer.get("message") or "")[:120]
    reason = f"{label} error {code}: {text}" if text else f"{label} error {code}"
    if code in errors.rate_limit:
        return DeliveryResult.retry(f"{reason} (rate limited)")
    if code in errors.night:
        return DeliveryResult.retry(f"{reason} (night time, retry after 06:00)",
                                    retry_after=seconds_until_morning())
    if code in errors.other_route:
        return DeliveryResult.give_up(f"{reason} ({errors.other_route[code]})",
                                      needs_other_route=True)
    return DeliveryResult.retry(reason)


def _code(answer: dict[str, Any]) -> int | None:
    try:
        return int(str(answer.get("error", 0)))
    except ValueError:
        return None


class ZaloClient:
    """POSTs JSON with the ``access_token`` header, handling one refresh on a token error."""

    def __init__(self, ctx: ChannelContext, tokens: ZaloTokens, timeout: float) -> None:
        self.ctx = ctx
        self.tokens = tokens
        self.timeout = timeout
        self.awaiting_grant = False  # a send found no OAuth grant: sending is paused for it

    async def _post(self, url: str, body: dict[str, Any], token: str) -> dict[str, Any] | DeliveryResult:
        try:
            async with self.ctx.http.post(
                    url, json=body, headers={"access_token": token},
                    timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                if resp.status != 200:
                    retry_after = resp.headers.get("Retry-After", "")
                    return DeliveryResult.retry(
                        f"HTTP {resp.status}",
                        retry_after=float(retry_after) if retry_after.isdigit() else None)
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return DeliveryResult.retry(f"network error: {type(exc).__name__}")
        except ValueError:
            return DeliveryResult.retry("answer is not JSON")
        if not isinstance(answer, dict):
            return DeliveryResult.retry("answer is not a JSON object")
        return answer

    async def deliver(self, url: str, body: dict[str, Any], errors: ErrorTable,
                      label: str) -> DeliveryResult:
        try:
            pair = await self.tokens.current()
        except TokenRefreshFailed as exc:
            return DeliveryResult.paused(f"zalo tokens unusable: {exc}")
        except NoGrant as exc:
            # waiting for the OA admin is not a failed attempt: the rows wait, uncounted, until
            # the grant (the callback, or the recheck job on another replica, resumes sending)
            self.awaiting_grant = True
            return DeliveryResult.paused(str(exc))
        except TokenUnavailable as exc:
            return DeliveryResult.retry(str(exc))
        answer = await self._post(url, body, pair.access_token)
        if isinstance(answer, DeliveryResult):
            return answer
        if _code(answer) not in errors.token:
            return classify(answer, errors, label)
        log.info("zalo: %s answered token error %s; refreshing once", label, _code(answer))
        try:
            pair = await self.tokens.refresh(failed_token=pair.access_token)
        except TokenRefreshFailed as exc:
            return DeliveryResult.paused(f"zalo token refresh refused: {exc}")
        except TokenUnavailable as exc:
            return DeliveryResult.retry(f"token refresh unavailable: {exc}")
        answer = await self._post(url, body, pair.access_token)
        if isinstance(answer, DeliveryResult):
            return answer
        if _code(answer) in errors.token:
            # A freshly refreshed token refused too: permissions revoked or wrong app. Sending
            # cannot work until someone looks: pause with an alert instead of burning rows.
            return DeliveryResult.paused(f"{label}: access token refused right after a refresh "
                                         f"(error {_code(answer)})")
        return classify(answer, errors, label)
