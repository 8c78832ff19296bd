"""OAuth 2.0 access tokens for IMAP and SMTP (SASL XOAUTH2), for mailboxes that no longer take
passwords: Microsoft 365 (client credentials of an Entra app registered for the mailbox, or a
delegated refresh token) and Google Workspace / Gmail (a refresh token).

One token source serves both protocols of a settings section (one refresh for IMAP and SMTP).
The access token is kept in memory until ``oauth_refresh_margin_seconds`` before it expires;
when the server refuses a token early (revoked, clock skew) ``invalidate`` forces a new one. A
refresh token the provider rotates (Microsoft does) is kept in memory and, when the channel
gives it a database, in ``channel_state`` so a restart does not fall back to the settings' older
one. Tokens and secrets never appear in logs or errors.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from channels.email.settings import EmailSettings

log = logging.getLogger("hub.channels.email")

MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
# Client credentials ask for the app's granted permissions on outlook.office365.com as a whole;
# a delegated refresh token asks for the two protocol scopes.
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_USER_SCOPE = ("https://outlook.office365.com/IMAP.AccessAsUser.All "
                        "https://outlook.office365.com/SMTP.Send offline_access")
GOOGLE_SCOPE = "https://mail.google.com/"


class OAuthRefused(Exception):
    """The token endpoint refused (wrong secret, revoked grant): nothing works until a person
    fixes the settings. The message names the provider's error code, never a secret."""


class OAuthUnavailable(Exception):
    """The token endpoint could not be reached or failed (5xx, 429): try again later."""


def token_url(s: EmailSettings) -> str:
    if s.oauth_token_url:
        return s.oauth_token_url
    if s.oauth_provider == "google":
        return GOOGLE_TOKEN_URL
    return MICROSOFT_TOKEN_URL.format(tenant=s.oauth_tenant or "organizations")


def grant_form(s: EmailSettings, refresh_token: str) -> dict[str, str]:
    form = {"client_id": s.oauth_client_id}
    secret = s.oauth_client_secret.get_secret_value()
    if secret:
        form["client_secret"] = secret
    if refresh_token:
        form.update(grant_type="refresh_token", refresh_token=refresh_token)
        default_scope = GOOGLE_SCOPE if s.oauth_provider == "google" else MICROSOFT_USER_SCOPE
    else:  # Microsoft 365 client credentials (an app, no user)
        form["grant_type"] = "client_credentials"
        default_scope = MICROSOFT_APP_SCOPE
    form["scope"] = s.oauth_scope or default_scope
    return form


class EmailOAuth:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._access = ""
        self._expires = 0.0  # monotonic
        self._refresh = settings.oauth_refresh_token.get_secret_value()
        self._lock = asyncio.Lock()
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._loaded = False
        self.fetches = 0  # token endpoint calls (tests, logs)
        self.failures = 0

        # Named after the settings' token: a new grant in the settings starts a new chain.
        seed = hashlib.sha256(self._refresh.encode()).hexdigest()[:12] if self._refresh else "app"
        self.state_key = f"email:oauth:{settings.oauth_client_id}:{seed}"[:128]

    def bind(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Persist rotated refresh tokens in channel_state (the poller binds its database)."""
        self._sessions = sessions

    def invalidate(self, token: str) -> None:
        if token and token == self._access:
            self._access, self._expires = "", 0.0

    async def token(self) -> str:
        async with self._lock:
            margin = self.settings.oauth_refresh_margin_seconds
            if self._access and time.monotonic() < self._expires - margin:
                return self._access
            await self._load_rotated()
            try:
                body = await self._fetch()
            except (OAuthRefused, OAuthUnavailable) as exc:
                self.failures += 1
                log.error("ALERT: email OAuth token refresh failed: %s", exc)
                raise
            self._access = str(body["access_token"])
            try:
                lifetime = float(body.get("expires_in") or 3600)
            except (TypeError, ValueError):
                lifetime = 3600.0
            self._expires = time.monotonic() + lifetime
            rotated = str(body.get("refresh_token") or "")
            if rotated and rotated != self._refresh:
                await self._store_rotated(rotated)
            log.info("email: OAuth access token obtained (valid %d s)", lifetime)
            return self._access

    async def _fetch(self) -> dict[str, Any]:
        s = self.settings
        self.fetches += 1
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                    total=s.imap_timeout_seconds)) as http, \
                    http.post(token_url(s), data=grant_form(s, self._refresh)) as resp:
                status = resp.status
                body = await resp.json(content_type=None) if status < 500 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OAuthUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from None
        if status >= 500 or status == 429 or body is None:
            raise OAuthUnavailable(f"token endpoint answered HTTP {status}")
        if not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, dict) else None
            codes = body.get("error_codes") if isinstance(body, dict) else None
            raise OAuthRefused(f"token endpoint refused (HTTP {status}, {str(error)[:60]}"
                               f"{', codes ' + str(codes)[:40] if codes else ''})")
        return body

    async def _load_rotated(self) -> None:
        if self._loaded or self._sessions is None or not self._refresh:
            return
        from store.models import ChannelState

        self._loaded = True
        async with self._sessions() as session:
            row = await session.get(ChannelState, self.state_key)
            if row is not None and (row.value or {}).get("refresh_token"):
                self._refresh = str(row.value["refresh_token"])

    async def _store_rotated(self, rotated: str) -> None:
        key = self.state_key
        self._refresh = rotated
        if self._sessions is None:
            return
        from store.models import ChannelState, utcnow

        async with self._sessions() as session, session.begin():
            row = await session.get(ChannelState, key)
            if row is None:
                session.add(ChannelState(key=key, value={"refresh_token": rotated}, version=1,
                                         updated_at=utcnow()))
            else:
                row.value, row.version, row.updated_at = ({"refresh_token": rotated},
                                                          row.version + 1, utcnow())


_SOURCES: dict[int, EmailOAuth] = {}


def token_source(settings: EmailSettings) -> EmailOAuth:
    """The one token source of this settings section (IMAP and SMTP share it)."""
    source = _SOURCES.get(id(settings))
    if source is None or source.settings is not settings:
        source = _SOURCES[id(settings)] = EmailOAuth(settings)
    return source
