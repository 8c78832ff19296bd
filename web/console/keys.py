"""What the console needs from the composition root, as typed application keys.

``setup_console`` stores them on the console's sub-application; handlers read them with
``request.config_dict[KEY]`` (which also finds keys set on the parent application).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.accounts import ThrottlePolicy
from store.sessions import SessionPolicy, SessionUser


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """Settings values the console uses. ``public_base_url`` decides the cookie's Secure flag."""

    public_base_url: str
    session: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    page_size: int = 50
    # Map tiles for the report page (phase 2); {s},{z},{x},{y} as Leaflet expects.
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap"
    timezone: str = "Asia/Ho_Chi_Minh"

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.public_base_url).scheme == "https"


SESSIONS_KEY: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("console_sessions")
CONFIG_KEY: web.AppKey[ConsoleConfig] = web.AppKey("console_config")

# Set by the auth middleware on every request that has a valid session.
USER_KEY: web.RequestKey[SessionUser] = web.RequestKey("console_user")
