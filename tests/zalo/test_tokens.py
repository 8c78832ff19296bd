"""The token pair: seeded once, refreshed ahead of expiry and on a token error, under a lock
shared by every hub process — never twice with the same single-use refresh token."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from channels.zalo.tokens import STATE_KEY, TokenRefreshFailed
from normalizer.schema import OutboundMessage
from store.models import ChannelState, utcnow
from tests.zalo.support import CS, USER


async def row_value(hub):
    async with hub.sessions() as session:
        row = await session.get(ChannelState, STATE_KEY)
        return dict(row.value), row.version


async def test_two_hubs_refreshing_at_once_make_one_oauth_call(db_url, zalo_hub):
    hub_a, fake = await zalo_hub(db_url)
    hub_b, _ = await zalo_hub(db_url)
    assert hub_a.engine is not hub_b.engine  # two processes' worth of connections
    tokens = [hub.channels["zalo"].tokens for hub in (hub_a, hub_b)]
    pairs = await asyncio.gather(*(t.refresh(failed_token="AT-0") for t in tokens * 3))
    assert fake.oauth_calls == 1 and fake.refused_refreshes == 0 and fake.used == ["RT-0"]
    assert {(p.access_token, p.refresh_token) for p in pairs} == {("AT-1", "RT-1")}
    value, _ = await row_value(hub_a)
    assert (value["access_token"], value["refresh_token"]) == ("AT-1", "RT-1")
    assert "claim_until" not in value


async def test_two_hubs_hitting_216_together_refresh_once_and_both_deliver(db_url, zalo_hub):
    hub_a, fake = await zalo_hub(db_url)
    hub_b, _ = await zalo_hub(db_url)
    fake.valid_access = set()
    results = await asyncio.gather(*(
        hub.senders["zalo"].send(USER, OutboundMessage(text=f"tin {i}"))
        for i, hub in enumerate([hub_a, hub_b] * 3)))
    assert [r.status for r in results] == ["sent"] * 6
    assert fake.oauth_calls == 1 and fake.refused_refreshes == 0
    assert sum(c.headers["access_token"] == "AT-1" for c in fake.api.calls_to(CS)) == 6


async def test_a_later_refresh_uses_the_rotated_token(db_url, zalo_hub):
    hub_a, fake = await zalo_hub(db_url)
    hub_b, _ = await zalo_hub(db_url)
    await hub_a.channels["zalo"].tokens.refresh(failed_token="AT-0")
    pair = await hub_b.channels["zalo"].tokens.refresh(failed_token="AT-1")
    assert (pair.access_token, fake.used) == ("AT-2", ["RT-0", "RT-1"])


async def test_the_job_refreshes_only_when_expiry_is_near(zalo_hub):
    hub, fake = await zalo_hub()
    tokens = hub.channels["zalo"].tokens
    assert any(job[0] == "zalo-token-refresh" and job[3] for job in hub.jobs)  # leader only
    await tokens.refresh_if_due()  # seeded pair: expiry unknown → refresh now
    assert fake.oauth_calls == 1
    await tokens.refresh_if_due()  # 25 h left
    assert fake.oauth_calls == 1
    async with hub.sessions() as session, session.begin():
        value, version = await row_value(hub)
        value["expires_at"] = (utcnow() + timedelta(minutes=30)).isoformat()
        await session.execute(update(ChannelState).where(ChannelState.key == STATE_KEY)
                              .values(value=value, version=version + 1))
    await tokens.refresh_if_due()
    assert fake.oauth_calls == 2 and (await tokens.current(fresh=True)).access_token == "AT-2"


async def test_restart_keeps_the_rotated_pair_but_a_new_grant_replaces_it(sqlite_url, zalo_hub):
    hub, fake = await zalo_hub(sqlite_url)
    await hub.channels["zalo"].tokens.refresh(failed_token="AT-0")
    again, _ = await zalo_hub(sqlite_url)  # same settings: the stored RT-1 stays
    assert (await again.channels["zalo"].tokens.current()).refresh_token == "RT-1"
    regranted, _ = await zalo_hub(sqlite_url, access_token="AT-new", refresh_token="RT-new")
    pair = await regranted.channels["zalo"].tokens.current()
    assert (pair.access_token, pair.refresh_token) == ("AT-new", "RT-new")


async def test_a_refused_refresh_is_remembered_by_every_process(db_url, zalo_hub):
    hub_a, fake = await zalo_hub(db_url)
    hub_b, _ = await zalo_hub(db_url)
    fake.refresh_token, fake.valid_access = "RT-other", set()
    try:
        await hub_a.channels["zalo"].tokens.refresh(failed_token="AT-0")
        raise AssertionError("refresh should have been refused")
    except TokenRefreshFailed as exc:
        assert "-14014" in str(exc) and "RT-0" not in str(exc)
    result = await hub_b.senders["zalo"].send(USER, OutboundMessage(text="x"))
    assert result.status == "paused" and fake.oauth_calls == 1
    assert (await row_value(hub_b))[0]["failed"]


async def test_a_hub_restarted_after_a_refused_refresh_starts_with_zalo_paused(sqlite_url, zalo_hub):
    """The refusal is remembered, yet the hub starts: `hub zalo-authorize` needs its callback."""
    hub, fake = await zalo_hub(sqlite_url)
    fake.refresh_token, fake.valid_access = "RT-other", set()
    try:
        await hub.channels["zalo"].tokens.refresh(failed_token="AT-0")
        raise AssertionError("refresh should have been refused")
    except TokenRefreshFailed:
        pass
    again, _ = await zalo_hub(sqlite_url)  # same settings, a restart: used to raise here
    result = await again.senders["zalo"].send(USER, OutboundMessage(text="x"))
    assert result.status == "paused" and fake.oauth_calls == 1
