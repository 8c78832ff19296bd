"""The Zalo OA token pair, kept durably in ``channel_state`` and refreshed under a
cross-process lock.

The access token lives 25 h; the refresh token is SINGLE-USE: two processes refreshing with the
same one would leave the loser (and maybe both) with nothing. So every refresh:

1. takes a lock shared by every hub process (PostgreSQL: ``SELECT … FOR UPDATE`` on the row;
   SQLite: a claim written by compare-and-swap on ``channel_state.version``),
2. re-reads the pair inside the lock — if another process already refreshed, its pair is used,
3. calls the OAuth endpoint, and persists the new pair BEFORE anyone uses it.

A refusal from the OAuth endpoint is terminal: the row is marked failed, sending on ``zalo`` and
``zns`` is paused and an alert raised; a new grant in the settings (seed) clears it at the next
start. Tokens never appear in logs or errors.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.models import ChannelState, utcnow

if TYPE_CHECKING:
    from channels.base import ChannelContext
    from channels.zalo.settings import ZaloSettings

log = logging.getLogger("hub.channels.zalo")

STATE_KEY = "zalo:tokens"
OAUTH_PATH = "/v4/oa/access_token"
CLAIM_SECONDS = 60.0  # a SQLite refresh claim lapses after this (the holder died)
CACHE_SECONDS = 30.0  # how long a process trusts its in-memory copy of the pair


class TokenRefreshFailed(Exception):
    """The OAuth endpoint refused the refresh (or refused it earlier): sending must pause."""


class TokenUnavailable(Exception):
    """The OAuth endpoint could not be reached or answered 5xx: try again later."""


class NoGrant(TokenUnavailable):
    """No OAuth grant yet (`hub zalo-authorize` not done): sending waits, uncounted, for it."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    version: int
    failed: str | None = None  # reason, when a refresh was refused

    def __repr__(self) -> str:  # never print tokens
        return f"TokenPair(version={self.version}, expires_at={self.expires_at}, failed={self.failed!r})"


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _pair(row: ChannelState) -> TokenPair:
    value = row.value or {}
    expires = value.get("expires_at")
    return TokenPair(access_token=value.get("access_token", ""),
                     refresh_token=value.get("refresh_token", ""),
                     expires_at=datetime.fromisoformat(expires) if expires else None,
                     version=row.version, failed=value.get("failed"))


class ZaloTokens:
    def __init__(self, ctx: ChannelContext, cfg: ZaloSettings, on_terminal: Any = None) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self._on_terminal = on_terminal  # called with the reason when a refresh is refused
        self._cached: TokenPair | None = None
        self._cached_at = 0.0
        self.refresh_calls = 0  # OAuth calls made by this process (metrics, tests)

    # --- reading ---------------------------------------------------------------------------
    async def seed(self) -> TokenPair | None:
        """First start: store the pair from the settings. Later starts keep the stored (rotated)
        pair, unless the settings carry a NEW grant (another refresh token) — then it wins.
        Settings without tokens (the grant comes through ``hub zalo-authorize`` and the
        callback, channels.zalo.oauth) keep whatever is stored."""
        if not self.cfg.refresh_token.get_secret_value():
            insert = pg_insert if self.ctx.dialect == "postgresql" else sqlite_insert
            async with self.ctx.sessions() as session, session.begin():
                await session.execute(insert(ChannelState).values(
                    key=STATE_KEY, value={"access_token": "", "refresh_token": "", "seed": "",
                                          "expires_at": None, "failed": None},
                    version=1, updated_at=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
            pair = await self._read()
            self._remember(pair)
            if not pair.refresh_token:
                log.warning("zalo: no OAuth grant yet; run `hub zalo-authorize` and open the URL "
                            "it prints (sending on zalo waits until then)")
                return None
            return pair
        seed = fingerprint(self.cfg.refresh_token.get_secret_value())
        value = {"access_token": self.cfg.access_token.get_secret_value(),
                 "refresh_token": self.cfg.refresh_token.get_secret_value(),
                 "expires_at": None, "seed": seed, "failed": None}
        insert = pg_insert if self.ctx.dialect == "postgresql" else sqlite_insert
        async with self.ctx.sessions() as session, session.begin():
            await session.execute(insert(ChannelState).values(
                key=STATE_KEY, value=value, version=1, updated_at=utcnow())
                .on_conflict_do_nothing(index_elements=["key"]))
            row = await session.get(ChannelState, STATE_KEY)
            assert row is not None
            if (row.value or {}).get("seed") != seed:
                log.warning("zalo: settings carry a new OAuth grant; replacing the stored tokens")
                await session.execute(update(ChannelState).where(
                    ChannelState.key == STATE_KEY, ChannelState.version == row.version)
                    .values(value=value, version=row.version + 1, updated_at=utcnow()))
        return await self.current(fresh=True)

    async def _read(self) -> TokenPair:
        async with self.ctx.sessions() as session:
            row = await session.get(ChannelState, STATE_KEY, populate_existing=True)
            if row is None:
                raise NoGrant("zalo tokens not seeded yet")
            return _pair(row)

    async def current(self, fresh: bool = False) -> TokenPair:
        if fresh or self._cached is None or time.monotonic() - self._cached_at > CACHE_SECONDS:
            self._remember(await self._read())
        assert self._cached is not None
        if self._cached.failed:
            raise TokenRefreshFailed(self._cached.failed)
        if not self._cached.access_token:
            self._cached = None  # read again next time: the grant may arrive any moment
            raise NoGrant("no OAuth grant yet (run `hub zalo-authorize`)")
        return self._cached

    def _remember(self, pair: TokenPair) -> None:
        self._cached, self._cached_at = pair, time.monotonic()

    # --- refreshing ------------------------------------------------------------------------
    def _needs_refresh(self, pair: TokenPair, failed_token: str | None, ahead: bool) -> bool:
        if pair.failed:
            raise TokenRefreshFailed(pair.failed)
        if not pair.refresh_token:
            raise NoGrant("no OAuth grant yet (run `hub zalo-authorize`)")
        if failed_token is not None:
            # Another process refreshed since this one read the token: use theirs.
            return pair.access_token == failed_token
        if ahead and pair.expires_at is not None:
            margin = timedelta(seconds=self.cfg.token_refresh_margin_seconds)
            return pair.expires_at - utcnow() <= margin
        return True

    async def refresh(self, failed_token: str | None = None, *, ahead: bool = False) -> TokenPair:
        """Refresh the pair unless another process already did. ``failed_token``: the access
        token Zalo just rejected; ``ahead``: only when it expires within the margin."""
        if self.ctx.dialect == "postgresql":
            pair = await self._refresh_pg(failed_token, ahead)
        else:
            pair = await self._refresh_cas(failed_token, ahead)
        self._remember(pair)
        return pair

    async def refresh_if_due(self) -> None:
        """The scheduled job (leader only): refresh ahead of expiry."""
        try:
            await self.refresh(ahead=True)
        except TokenRefreshFailed:
            pass  # already paused and alerted
        except TokenUnavailable as exc:
            log.warning("zalo: token refresh postponed: %s", exc)

    async def _refresh_pg(self, failed_token: str | None, ahead: bool) -> TokenPair:
        refused: TokenRefreshFailed | None = None
        async with self.ctx.sessions() as session, session.begin():
            row = (await session.execute(select(ChannelState).where(
                ChannelState.key == STATE_KEY).with_for_update()
                .execution_options(populate_existing=True))).scalar_one()
            pair = _pair(row)
            if not self._needs_refresh(pair, failed_token, ahead):
                return pair
            try:
                fresh = await self._call_oauth(pair.refresh_token)
                row.value = {**row.value, **fresh, "failed": None}
            except TokenRefreshFailed as exc:
                refused = exc  # recorded in the row (committed below), then raised
                row.value = {**row.value, "failed": str(exc)}
            row.version += 1
            row.updated_at = utcnow()
        if refused is not None:
            self._terminal(str(refused))
            raise refused
        return _pair(row)

    async def _cas(self, version: int, value: dict[str, Any]) -> bool:
        async with self.ctx.sessions() as session, session.begin():
            result = await session.execute(update(ChannelState).where(
                ChannelState.key == STATE_KEY, ChannelState.version == version)
                .values(value=value, version=version + 1, updated_at=utcnow()))
            return result.rowcount == 1

    async def _refresh_cas(self, failed_token: str | None, ahead: bool) -> TokenPair:
        deadline = time.monotonic() + CLAIM_SECONDS + self.cfg.http_timeout_seconds
        while True:
            async with self.ctx.sessions() as session:
                row = await session.get(ChannelState, STATE_KEY, populate_existing=True)
                assert row is not None
                value, version = dict(row.value or {}), row.version
            pair = _pair(row)
            if not self._needs_refresh(pair, failed_token, ahead):
                return pair
            claim_until = value.get("claim_until")
            if claim_until and datetime.fromisoformat(claim_until) > utcnow():
                if time.monotonic() > deadline:
                    raise TokenUnavailable("another process holds the refresh claim too long")
                await asyncio.sleep(0.05)  # another process is refreshing: wait, then re-read
                continue
            claimed = {**value, "claim_by": self.ctx.worker_id,
                       "claim_until": (utcnow() + timedelta(seconds=CLAIM_SECONDS)).isoformat()}
            if not await self._cas(version, claimed):
                continue  # lost the race: re-read
            released = {k: v for k, v in claimed.items() if k not in ("claim_by", "claim_until")}
            try:
                fresh = await self._call_oauth(pair.refresh_token)
            except TokenRefreshFailed as exc:
                await self._cas(version + 1, {**released, "failed": str(exc)})
                self._terminal(str(exc))
                raise
            except BaseException:
                await self._cas(version + 1, released)
                raise
            if not await self._cas(version + 1, {**released, **fresh, "failed": None}):
                # Only possible if this claim outlived CLAIM_SECONDS; the new pair is the only
                # valid one, so it is written regardless.
                log.error("zalo: refresh claim lapsed before the new tokens were stored")
                async with self.ctx.sessions() as session, session.begin():
                    row = await session.get(ChannelState, STATE_KEY, populate_existing=True)
                    assert row is not None
                    row.value = {**released, **fresh, "failed": None}
                    row.version += 1
                return await self._read()
            return TokenPair(fresh["access_token"], fresh["refresh_token"],
                             datetime.fromisoformat(fresh["expires_at"]), version + 2)

    async def store_grant(self, fresh: dict[str, Any]) -> TokenPair:
        """A new grant (the OAuth callback's code exchange) replaces whatever is stored, failed
        or not; the settings' seed fingerprint is kept so a restart does not bring back the
        settings' older pair."""
        async with self.ctx.sessions() as session, session.begin():
            row = await session.get(ChannelState, STATE_KEY, populate_existing=True)
            if row is None:
                row = ChannelState(key=STATE_KEY, value={}, version=0, updated_at=utcnow())
                session.add(row)
            kept = {k: v for k, v in (row.value or {}).items() if k == "seed"}
            row.value = {**kept, **fresh, "failed": None, "granted_at": utcnow().isoformat()}
            row.version = (row.version or 0) + 1
            row.updated_at = utcnow()
        pair = await self._read()
        self._remember(pair)
        return pair

    async def _call_oauth(self, refresh_token: str) -> dict[str, Any]:
        return await self.call_oauth({"refresh_token": refresh_token, "app_id": self.cfg.app_id,
                                      "grant_type": "refresh_token"}, "refresh")

    async def call_oauth(self, form: dict[str, str], what: str) -> dict[str, Any]:
        """POST to Zalo's token endpoint (refresh, or the first grant's code exchange)."""
        cfg = self.cfg
        self.refresh_calls += 1
        url = cfg.oauth_base.rstrip("/") + OAUTH_PATH
        try:
            async with self.ctx.http.post(
                    url, data=form, headers={"secret_key": cfg.app_secret.get_secret_value()},
                    timeout=aiohttp.ClientTimeout(total=cfg.http_timeout_seconds)) as resp:
                status = resp.status
                body = await resp.json(content_type=None) if status < 500 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TokenUnavailable(f"oauth endpoint unreachable: {type(exc).__name__}") from None
        if status >= 500 or status == 429 or body is None:
            raise TokenUnavailable(f"oauth endpoint answered HTTP {status}")
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            code = body.get("error") if isinstance(body, dict) else None
            name = body.get("error_name") if isinstance(body, dict) else None
            raise TokenRefreshFailed(f"zalo oauth refused the {what} (HTTP {status}, error {code}"
                                     f"{', ' + str(name)[:60] if name else ''})")
        try:
            expires_in = int(str(body.get("expires_in") or "90000"))
        except ValueError:
            expires_in = 90000
        log.info("zalo: access token %s (valid %d s)",
                 "refreshed" if what == "refresh" else "granted", expires_in)
        return {"access_token": str(body["access_token"]), "refresh_token": str(body["refresh_token"]),
                "expires_at": (utcnow() + timedelta(seconds=expires_in)).isoformat(),
                "refreshed_at": utcnow().isoformat()}

    def _terminal(self, reason: str) -> None:
        self._cached = None
        log.error("ALERT: zalo token refresh failed: %s", reason)
        if self._on_terminal is not None:
            self._on_terminal(reason)
