"""A lat without long (or long without lat) is a 400, never a report stored half-placed."""
from __future__ import annotations

from sqlalchemy import func, select

from channels.open311.adapter import validate_request
from hub.keys import HUB_KEY
from store.models import InboxEvent

V2 = "/open311/v2"
BASE = {"service_code": "environment", "description": "Rác", "address_string": "chợ Đông Ba"}


def test_half_a_position_is_refused() -> None:
    assert validate_request({**BASE, "lat": "16.4"}) == (400, "lat and long must be given together")
    assert validate_request({**BASE, "long": "107.5"}) == (400, "lat and long must be given together")
    assert validate_request({**BASE, "lat": "16.4", "long": " "})[0] == 400
    assert validate_request({**BASE, "lat": "16.4", "long": "107.5"}) is None


async def test_half_a_position_is_not_stored(settings_factory, hub_client) -> None:
    client = await hub_client(settings_factory())
    for extra in ({"lat": "16.4"}, {"long": "107.59"}):
        resp = await client.post(f"{V2}/requests.json", data={**BASE, **extra})
        assert resp.status == 400
        assert (await resp.json())[0]["description"] == "lat and long must be given together"
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0
