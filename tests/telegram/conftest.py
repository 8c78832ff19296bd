from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.fakes import FakeAPI
from tests.telegram.fakebot import channel_settings, serve


@pytest.fixture
async def bot_api(fake_api: Callable[[], Awaitable[FakeAPI]]) -> FakeAPI:
    api = await fake_api()
    serve(api)
    return api


@pytest.fixture
def telegram_hub(settings_factory: Any, hub_client: Any, bot_api: FakeAPI) -> Callable[..., Awaitable[Any]]:
    """The whole hub with Telegram on, pointed at the fake Bot API. ``workers=False`` keeps the
    inbox unprocessed (intake-only tests)."""
    async def start(workers: bool = True, db_url: str | None = None, **telegram: Any) -> Any:
        settings = settings_factory(db_url, channels=channel_settings(bot_api.url, **telegram),
                                    workers={"enabled": workers})
        return await hub_client(settings)
    return start
