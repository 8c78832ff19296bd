"""Inbox worker: failures are retried with backoff and parked with their error; good events in
the same batch still commit."""
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import InboxEvent, Report
from tests.conftest import wait_for


async def test_broken_event_is_retried_then_parked_while_others_go_through(
        settings_factory, hub_client, db_url):
    settings = settings_factory(db_url, workers={"inbox_max_attempts": 3})
    client = await hub_client(settings)
    hub = client.app[HUB_KEY]
    # A row no parser can read (as if a channel stored something malformed), between good ones.
    await hub.intake.submit("web", "good-1", {"service_code": "environment", "lat": "16.46",
                                              "long": "107.59", "description": "Rác thải", "_token": "good-1"})
    await hub.intake.submit("web", "broken", "{not json")
    await hub.intake.submit("web", "good-2", {"service_code": "tourism", "address_string": "Chợ Đông Ba",
                                              "description": "Chặt chém du khách", "_token": "good-2"})

    async def parked():
        async with hub.sessions() as session:
            row = (await session.execute(select(InboxEvent).where(
                InboxEvent.external_id == "broken"))).scalar_one()
            return row if row.state == "parked" else None
    row = await wait_for(parked)
    assert row.attempts == 3 and "JSONDecodeError" in row.error
    async with hub.sessions() as session:
        states = dict((await session.execute(select(InboxEvent.external_id, InboxEvent.state))).all())
        assert states["good-1"] == "done" and states["good-2"] == "done"
        assert len((await session.execute(select(Report))).scalars().all()) == 2
    text = await (await client.get("/metrics")).text()
    assert 'hub_inbox_rows{state="parked"} 1.0' in text
