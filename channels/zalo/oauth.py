"""The Zalo OA's first OAuth grant, with PKCE (RFC 7636) and a state check.

``hub zalo-authorize`` calls ``begin_authorization``: a random code verifier and state are kept
in ``channel_state`` (the verifier never leaves the hub) and the command prints the OA
authorization URL with the S256 challenge. An OA admin opens it, approves, and Zalo redirects
the browser to ``<public_base_url>/oauth/zalo/callback?code=…&oa_id=…&state=…``; the hub
(whichever replica gets the request: the pending grant is in the database) checks the state,
exchanges the code with the verifier, and stores the token pair where the refresh job
(channels.zalo.tokens) takes over. A state is single-use and expires after ``PENDING_TTL``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import ChannelState, utcnow

if TYPE_CHECKING:
    from channels.zalo.settings import ZaloSettings
    from channels.zalo.tokens import ZaloTokens

log = logging.getLogger("hub.channels.zalo")

PERMISSION_PATH = "/v4/oa/permission"
CALLBACK_PATH = "/oauth/zalo/callback"
PENDING_KEY = "zalo:oauth:pending"
PENDING_TTL = timedelta(minutes=30)


class AuthorizationError(Exception):
    """The callback cannot complete the grant; the message is safe to show (no secrets)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, code_challenge): 43 URL-safe characters and BASE64URL(SHA256(verifier))
    without padding, the S256 method."""
    verifier = secrets.token_urlsafe(32)  # 32 bytes → 43 characters
    return verifier, challenge_for(verifier)


def challenge_for(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def callback_url(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + CALLBACK_PATH


def _state_key(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def begin_authorization(sessions: async_sessionmaker[AsyncSession], cfg: ZaloSettings,
                              public_base_url: str) -> str:
    """Keep a new pending grant and return the URL an OA admin opens."""
    if not cfg.app_id:
        raise AuthorizationError(400, "channels.zalo.app_id is not set")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    now = utcnow()
    async with sessions() as session, session.begin():
        row = await session.get(ChannelState, PENDING_KEY, with_for_update=True)
        if row is None:
            row = ChannelState(key=PENDING_KEY, value={}, version=0, updated_at=now)
            session.add(row)
        pending = {k: v for k, v in (row.value or {}).items()
                   if datetime.fromisoformat(v["expires_at"]) > now}
        pending[_state_key(state)] = {"verifier": verifier,
                                      "expires_at": (now + PENDING_TTL).isoformat()}
        row.value, row.version, row.updated_at = pending, (row.version or 0) + 1, now
    query = urlencode({"app_id": cfg.app_id, "redirect_uri": callback_url(public_base_url),
                       "code_challenge": challenge, "state": state})
    return f"{cfg.oauth_base.rstrip('/')}{PERMISSION_PATH}?{query}"


async def take_verifier(sessions: async_sessionmaker[AsyncSession], state: str) -> str:
    """The verifier kept for this state, removed so the state cannot be used twice."""
    if not state or len(state) > 200:
        raise AuthorizationError(400, "missing or malformed state")
    key = _state_key(state)
    async with sessions() as session, session.begin():
        row = await session.get(ChannelState, PENDING_KEY, with_for_update=True,
                                populate_existing=True)
        pending = dict(row.value or {}) if row is not None else {}
        entry = None
        for candidate in pending:
            if hmac.compare_digest(candidate, key):
                entry = pending.pop(candidate)
                break
        if entry is None:
            raise AuthorizationError(403, "unknown or already used state; run `hub zalo-authorize` "
                                          "again and use the new URL")
        assert row is not None
        row.value, row.version, row.updated_at = pending, row.version + 1, utcnow()
    if datetime.fromisoformat(entry["expires_at"]) <= utcnow():
        raise AuthorizationError(403, "this authorization URL has expired; run `hub zalo-authorize` "
                                      "again")
    return str(entry["verifier"])


async def complete_authorization(tokens: ZaloTokens, cfg: ZaloSettings,
                                 sessions: async_sessionmaker[AsyncSession], code: str,
                                 state: str) -> None:
    from channels.zalo.tokens import TokenRefreshFailed, TokenUnavailable

    verifier = await take_verifier(sessions, state)
    if not code or len(code) > 2000:
        raise AuthorizationError(400, "missing or malformed code")
    try:
        fresh = await tokens.call_oauth({"code": code, "app_id": cfg.app_id,
                                         "grant_type": "authorization_code",
                                         "code_verifier": verifier}, "code exchange")
    except TokenRefreshFailed as exc:
        raise AuthorizationError(502, str(exc)) from None
    except TokenUnavailable as exc:
        raise AuthorizationError(502, f"zalo oauth could not be reached: {exc}") from None
    await tokens.store_grant(fresh)


_PAGE = ("<!doctype html><meta charset='utf-8'><title>Zalo OA</title>"
         "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
         "<h1>{title}</h1><p>{text}</p></body>")


def callback_handler(tokens: ZaloTokens, cfg: ZaloSettings,
                     sessions: async_sessionmaker[AsyncSession], on_granted: Any = None) -> Any:
    async def handle(request: web.Request) -> web.Response:
        import html

        query = request.query
        if query.get("error"):
            return _page(400, "Chưa kết nối được Zalo OA",
                         f"Zalo trả về lỗi: {html.escape(query.get('error', '')[:100])}")
        try:
            await complete_authorization(tokens, cfg, sessions, query.get("code", ""),
                                         query.get("state", ""))
        except AuthorizationError as exc:
            log.warning("zalo: authorization callback refused: %s", exc)
            return _page(exc.status, "Chưa kết nối được Zalo OA", html.escape(str(exc)))
        log.info("zalo: OA authorization completed (oa_id %s); tokens stored",
                 query.get("oa_id", "?")[:30])
        if on_granted is not None:
            on_granted()
        return _page(200, "Đã kết nối Zalo OA",
                     "Hub đã lưu mã truy cập và sẽ tự làm mới. Có thể đóng trang này.")
    return handle


def _page(status: int, title: str, text: str) -> web.Response:
    return web.Response(status=status, text=_PAGE.format(title=title, text=text),
                        content_type="text/html", headers={"Cache-Control": "no-store",
                                                           "Referrer-Policy": "no-referrer"})
