"""Shared fixtures: settings per test, a database per test (SQLite file; PostgreSQL when
HUB_TEST_PG_URL is set), the hub app on a loopback test server, and fake channel APIs."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hub.settings import Settings
from tests.fakes import FakeAPI

PG_URL = os.environ.get("HUB_TEST_PG_URL", "")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _training_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One classifier-training cache per test run, shared by the xdist workers and the commands
    the tests start (normalizer.classify_train.CACHE_ENV): several tests retrain on the same
    corrections, and each training takes minutes. Each run starts empty."""
    from normalizer.classify_train import CACHE_ENV

    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ.setdefault(CACHE_ENV, str(run / "classifier-trainings"))


def run_main(*args: str, cfg: Path | None = None, timeout: float = 120,
             check: bool = False) -> subprocess.CompletedProcess:
    """``python main.py ARGS [--config CFG]`` as a user runs it, from the repository."""
    command = [sys.executable, "main.py", *args, *(("--config", str(cfg)) if cfg else ())]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed: {proc.stderr}")
    return proc
PG_TEST_DB = f"hub_test_{os.getpid()}"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


async def _reset_pg_database(url: str) -> str:
    """A dedicated, empty database for the test (schema dropped and recreated)."""
    import asyncpg

    base = url.replace("postgresql+asyncpg://", "postgresql://")
    # One database per test process: two test runs on one server (developers side by side,
    # CI beside a session) must not drop each other's schema.
    name = PG_TEST_DB
    admin = await asyncpg.connect(base)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    test_url = base.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(test_url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    return "postgresql+asyncpg://" + test_url.split("://", 1)[1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends for store-level tests; PostgreSQL skips unless HUB_TEST_PG_URL is set."""
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("PostgreSQL pass: set HUB_TEST_PG_URL (CI sets it)")
        return await _reset_pg_database(PG_URL)
    return f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"


def make_settings(tmp_path: Path, db_url: str, **sections: dict[str, Any]) -> Settings:
    """Fast-polling test settings. ``sections`` deep-merge over the defaults, e.g.
    make_settings(tmp, url, channels={"messenger": {"enabled": True, ...}})."""
    from hub.settings import _deep_merge

    data: dict[str, Any] = {
        "server": {"public_base_url": "http://hub.test"},
        "database": {"url": db_url},
        "storage": {"media_dir": str(tmp_path / "media")},
        "workers": {"poll_seconds": 0.05, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5,
                    "claim_lease_seconds": 5},
        "log_format": "text",
        "agencies": [
            {"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế",
             "categories": ["environment"]},
            {"id": "so-xay-dung", "name": "Sở Xây dựng",
             "categories": ["traffic_infrastructure", "urban_infrastructure", "construction_order"]},
        ],
    }
    data = _deep_merge(data, sections)
    data["base_dir"] = str(tmp_path)
    return Settings.model_validate(data)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    def factory(db_url: str | None = None, **sections: dict[str, Any]) -> Settings:
        return make_settings(tmp_path, db_url or f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
                             **sections)
    return factory


@pytest.fixture
async def hub_client(aiohttp_client: Any) -> Callable[[Settings], Awaitable[Any]]:
    """Start the whole hub app (workers included) on a loopback test server."""
    from hub.app import create_app

    async def start(settings: Settings) -> Any:
        return await aiohttp_client(create_app(settings))
    return start


@pytest.fixture
async def fake_api() -> AsyncIterator[Callable[[], Awaitable[FakeAPI]]]:
    """Factory of fake channel APIs served by aiohttp on loopback."""
    started: list[FakeAPI] = []

    async def make() -> FakeAPI:
        api = FakeAPI()
        await api.start()
        started.append(api)
        return api
    yield make
    for api in started:
        await api.close()


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 10.0,
                   interval: float = 0.05) -> Any:
    """Poll an async check until it returns something truthy (the workers run in background)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


def unique() -> str:
    return uuid.uuid4().hex[:12]


def seed_report_db(tmp_path: Path, code: str, child: Callable[[int], Any]) -> tuple[str, Path]:
    """A migrated SQLite database in ``tmp_path`` holding one forwarded web report ``code`` and
    the row ``child(report_id)`` makes; returns its URL and a settings file naming it (for the
    command-line tests)."""
    from store.db import make_engine, migrate, sessionmaker
    from store.models import Report, utcnow

    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")

    async def go() -> None:
        engine = make_engine(url)
        await migrate(engine)
        async with sessionmaker(engine)() as session, session.begin():
            report = Report(code=code, channel="web", status="forwarded", forwarded_at=utcnow(),
                            description="Ổ gà")
            session.add(report)
            await session.flush()
            session.add(child(report.id))
        await engine.dispose()

    asyncio.run(go())
    return url, cfg


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_test_database() -> Any:
    """The per-process test database goes away with the run."""
    yield
    if not PG_URL:
        return

    async def drop() -> None:
        import asyncpg

        admin = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')
        finally:
            await admin.close()

    try:
        asyncio.run(drop())
    except Exception:  # a server already gone: nothing to clean
        pass


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium through Playwright (tests/browser.py); skipped with a reason
    where it is missing, a failure when HUB_REQUIRE_BROWSER=1."""
    from tests.browser import chromium

    async with chromium() as launched:
        yield launched
