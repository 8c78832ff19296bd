from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.zalo.support import FakeZalo, zalo_settings


@pytest.fixture
async def zalo_hub(settings_factory, fake_api) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Open hubs (no HTTP server, no workers) with the Zalo channel on a fake Zalo API.
    Returns (hub, fake). Several calls with the same db_url share the database."""
    from hub.app import close_hub, open_hub

    hubs = []
    shared: dict[str, FakeZalo] = {}

    async def make(db_url: str | None = None, **extra: Any) -> tuple[Any, FakeZalo]:
        if "fake" not in shared:
            api = await fake_api()
            shared["fake"] = FakeZalo(api)
        fake = shared["fake"]
        settings = settings_factory(db_url, **zalo_settings(fake.api.url, **extra))
        hub = await open_hub(settings)
        hubs.append(hub)
        return hub, fake
    yield make
    for hub in hubs:
        await close_hub(hub)
