"""A bounced address is blocked until the citizen writes from it again (email walkthrough: a
mailbox that bounced once — full, or its server down that day — was never mailed again, even
after the citizen sent a new report from it; nothing lifted the block)."""
from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Suppression
from tests.conftest import wait_for
from tests.dialogue.test_mail_dialogues import mail
from tests.email.conftest import email_section, needs_dovecot
from tests.email.test_flow import CITIZEN, _n_received, bounce_first_ack, outbox

pytestmark = needs_dovecot


async def test_a_new_mail_from_a_bounced_address_lifts_the_block(
        hub_client: Any, settings_factory: Any, dovecot_server: Any, mail_user: str,
        smtp_sink: Any) -> None:
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3}))
    hub = client.app[HUB_KEY]
    await bounce_first_ack(hub, dovecot_server, mail_user, smtp_sink)
    async with hub.sessions() as session:
        assert len((await session.execute(select(Suppression))).scalars().all()) == 1

    # The citizen writes again from that address (its case differs): mailed again.
    await asyncio.to_thread(dovecot_server.deliver, mail(
        CITIZEN.upper(), "Đèn đường hỏng", "Đèn đường kiệt 7 Ngự Bình hỏng cả tuần nay.", 77), mail_user)
    mails = await wait_for(lambda: _n_received(smtp_sink, 2), timeout=15)
    assert mails[1].rcpt_tos[0].lower() == CITIZEN
    async with hub.sessions() as session:
        assert (await session.execute(select(Suppression))).scalars().all() == []
    rows = await outbox(hub)
    assert rows[-1].state == "sent"
