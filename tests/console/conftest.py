"""Console fixtures: a real database with the migrations applied, the console mounted on a bare
aiohttp app (store + web only, no hub), accounts and reports made through the store."""
from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.accounts import ThrottlePolicy, create_account
from store.db import make_engine, migrate, sessionmaker
from store.models import Agency, Report, utcnow
from web.console import setup_console
from web.console.keys import ConsoleConfig

PASSWORD = "mật-khẩu-thử-123"  # non-ASCII on purpose
AGENCIES = {"moi-truong": "Công ty Môi trường đô thị Huế", "so-xay-dung": "Sở Xây dựng"}
# One account per role; the agency officer works for moi-truong.
ROLE_ACCOUNTS = {"center": ("tt.lan", None), "hotline": ("td.minh", None),
                 "agency": ("mt.hoa", "moi-truong"), "viewer": ("ld.giam-doc", None)}
_codes = itertools.count(1)


@dataclass
class ConsoleDB:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def add_account(self, username: str, role: str, agency: str | None = None,
                          password: str = PASSWORD, name: str | None = None) -> None:
        async with self.sessions() as session, session.begin():
            await create_account(session, username, role, password, agency_id=agency,
                                 display_name=name or username)

    async def add_report(self, **fields: Any) -> Report:
        n = next(_codes)
        values: dict[str, Any] = {"code": f"PA-2026-{n:06d}", "channel": "zalo", "status": "triage",
                                  "description": f"Phản ánh số {n}", "created_at": utcnow() - timedelta(minutes=n)}
        values.update(fields)
        async with self.sessions() as session, session.begin():
            report = Report(**values)
            session.add(report)
        return report


async def open_db(url: str) -> ConsoleDB:
    engine = make_engine(url)
    await migrate(engine)
    db = ConsoleDB(engine, sessionmaker(engine))
    async with db.sessions() as session, session.begin():
        for agency_id, name in AGENCIES.items():
            session.add(Agency(id=agency_id, name=name, categories=[], areas=[]))
    return db


@pytest.fixture
async def console_db(db_url: str) -> AsyncIterator[ConsoleDB]:
    """SQLite, and PostgreSQL when HUB_TEST_PG_URL is set (marked postgres)."""
    db = await open_db(db_url)
    yield db
    await db.engine.dispose()


@pytest.fixture
async def sqlite_console_db(sqlite_url: str) -> AsyncIterator[ConsoleDB]:
    db = await open_db(sqlite_url)
    yield db
    await db.engine.dispose()


def console_app(db: ConsoleDB, public_base_url: str = "http://hub.test", **config: Any) -> web.Application:
    app = web.Application()
    setup_console(app, sessions=db.sessions,
                  config=ConsoleConfig(public_base_url=public_base_url, **config))
    return app


# Tests of throttling set their own; elsewhere a few wrong passwords must not lock anything.
RELAXED = ThrottlePolicy(free_failures=100, lock_after=1000)


@pytest.fixture
async def console_client(aiohttp_client: Any) -> Callable[..., Awaitable[Any]]:
    async def start(db: ConsoleDB, **config: Any) -> Any:
        config.setdefault("throttle", RELAXED)
        return await aiohttp_client(console_app(db, **config))
    return start


async def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    """Log in through the form like a browser: GET (login CSRF cookie), then POST."""
    import re

    page = await client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    return await client.post("/console/login", data={"csrf_token": token, "username": username,
                                                      "password": password}, allow_redirects=False)


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def at(minutes: float) -> datetime:
    return utcnow() + timedelta(minutes=minutes)


@pytest.fixture
def shots(tmp_path: Any) -> Any:
    from tests.browser import Shots

    return Shots(tmp_path, "console", "HUB_CONSOLE_SCREENSHOTS")
