"""Dovecot stops and restarts while the poller idles: it reconnects and nothing is lost or
doubled (mail delivered before, during and after the outage arrives exactly once)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from hub.keys import HUB_KEY
from tests.conftest import wait_for
from tests.email.conftest import email_section, needs_dovecot
from tests.email.dovecot import Dovecot
from tests.email.test_imap import _all_seen, _rows_when, email_of, mail

pytestmark = needs_dovecot


@pytest.fixture
def own_dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    yield server
    server.cleanup()


async def test_restart_while_idling_loses_and_doubles_nothing(
        hub_client: Any, settings_factory: Any, own_dovecot: Dovecot, smtp_sink: Any) -> None:
    dovecot = own_dovecot
    for n in (1, 2):
        dovecot.deliver(mail(n))
    settings = settings_factory(
        channels={"email": email_section(dovecot, dovecot.user, smtp_sink, poll_seconds=3600)},
        workers={"enabled": False})
    client = await hub_client(settings)
    hub = client.app[HUB_KEY]
    poller = email_of(hub).poller
    await wait_for(lambda: _rows_when(hub, 2))
    await asyncio.wait_for(poller.stats.idling.wait(), 10)

    await asyncio.to_thread(dovecot.stop)  # the poller is logged in and idling
    # Dovecot takes up to ~10 s to stop with a client logged in; detection follows.
    await wait_for(lambda: _disconnected(poller), timeout=40)
    await asyncio.to_thread(dovecot.deliver_maildir, [mail(3), mail(4)])  # arrives while down
    await asyncio.sleep(1.5)  # at least one failed reconnect attempt
    failures_while_down = poller.stats.connect_failures
    await asyncio.to_thread(dovecot.start)
    await asyncio.wait_for(poller.stats.idling.wait(), 15)
    await asyncio.to_thread(dovecot.deliver, mail(5))  # after the restart, by IDLE push

    rows = await wait_for(lambda: _rows_when(hub, 5), timeout=15)
    await wait_for(lambda: _all_seen(dovecot, dovecot.user, 5))
    await asyncio.sleep(0.5)
    assert [r.external_id for r in await _rows_when(hub, 0)] == \
        [f"<citizen.{n}@gmail.com>" for n in range(1, 6)] == [r.external_id for r in rows][:5]
    assert failures_while_down >= 1 and poller.stats.sessions >= 2
    assert (poller.stats.fetched, poller.stats.stored, poller.stats.duplicates) == (5, 5, 0)


async def _disconnected(poller: Any) -> bool:
    return not poller.stats.connected.is_set()
