"""The IMAP poller against a real Dovecot: intake before \\Seen, the UID cursor per UIDVALIDITY,
IDLE and polling, leader-only, restarts that neither skip nor repeat mail."""
from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from sqlalchemy import func, select

from channels.email.adapter import EmailChannel
from channels.email.imap import parse_fetch, uid_set
from hub.keys import HUB_KEY
from store.models import ChannelState, InboxEvent
from tests.conftest import wait_for
from tests.email.conftest import needs_dovecot

pytestmark = needs_dovecot


def mail(n: int, message_id: bool = True) -> bytes:
    mid = f"Message-ID: <citizen.{n}@gmail.com>\r\n" if message_id else ""
    return (f"From: citizen{n}@gmail.com\r\nTo: phananh@hue.gov.vn\r\nSubject: Phản ánh số {n}\r\n"
            f"{mid}Content-Type: text/plain; charset=utf-8\r\n\r\nRác thải ở kiệt {n}\r\n").encode()


async def inbox(hub: Any) -> list[InboxEvent]:
    async with hub.sessions() as session:
        return list((await session.execute(
            select(InboxEvent).where(InboxEvent.channel == "email").order_by(InboxEvent.id))).scalars())


async def inbox_count(hub: Any) -> int:
    async with hub.sessions() as session:
        return (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one()


def email_of(hub: Any) -> EmailChannel:
    return hub.channels["email"]


def test_uid_set_and_fetch_parsing() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10]) == "1:3,7,9:10"
    lines = [b"1 FETCH (UID 5 RFC822.SIZE 3 BODY[]<0> {3}", bytearray(b"abc"), b")",
             b"2 FETCH (FLAGS (\\Seen) UID 6)",  # unsolicited: no literal, skipped
             b"3 FETCH (BODY[]<0> {2}", bytearray(b"xy"), b" UID 8 RFC822.SIZE 9)", b"Done"]
    assert parse_fetch(lines) == {5: (b"abc", 3), 8: (b"xy", 9)}


async def test_intake_then_seen_then_cursor(hub_client: Any, email_settings: Any,
                                            dovecot_server: Any, mail_user: str) -> None:
    for raw in (mail(1), mail(2), mail(1), mail(3, message_id=False)):  # one resent duplicate
        dovecot_server.deliver(raw, user=mail_user)
    client = await hub_client(email_settings(workers=False))
    hub = client.app[HUB_KEY]
    rows = await wait_for(lambda: _rows_when(hub, 3))
    ids = [r.external_id for r in rows]
    assert ids[:2] == ["<citizen.1@gmail.com>", "<citizen.2@gmail.com>"]
    assert ids[2].startswith("uid:INBOX:") and ids[2].endswith(":4")
    payload = json.loads(rows[0].payload)
    assert base64.b64decode(payload["raw"]) == mail(1) and payload["uid"] == 1
    await wait_for(lambda: _all_seen(dovecot_server, mail_user, 4))
    poller = email_of(hub).poller
    assert (poller.stats.fetched, poller.stats.stored, poller.stats.duplicates) == (4, 3, 1)
    await wait_for(lambda: _cursor_is(hub, poller, {"uidvalidity": _uidvalidity(dovecot_server,
                                                                               mail_user),
                                                    "last_uid": 4}))


def _uidvalidity(dovecot: Any, user: str) -> int:
    return int(dovecot.doveadm("mailbox", "status", "-u", user, "uidvalidity", "INBOX")
               .split("=")[1])


async def _rows_when(hub: Any, n: int) -> list[InboxEvent] | None:
    rows = await inbox(hub)
    return rows if len(rows) >= n else None


async def _all_seen(dovecot: Any, user: str, n: int) -> bool:
    flags = await asyncio.to_thread(dovecot.flags, user)
    return len(flags) == n and all("\\Seen" in f for f in flags.values())


async def test_idle_push_brings_new_mail_fast(hub_client: Any, email_settings: Any,
                                              dovecot_server: Any, mail_user: str) -> None:
    client = await hub_client(email_settings(workers=False, poll_seconds=3600))
    hub = client.app[HUB_KEY]
    poller = email_of(hub).poller
    await asyncio.wait_for(poller.stats.idling.wait(), 10)
    await asyncio.to_thread(dovecot_server.deliver, mail(10), mail_user)
    started = asyncio.get_running_loop().time()
    await wait_for(lambda: _rows_when(hub, 1), timeout=5)
    assert asyncio.get_running_loop().time() - started < 3  # a push, not the hour-long poll
    assert poller.stats.sessions == 1


async def test_polling_without_idle(hub_client: Any, email_settings: Any, dovecot_server: Any,
                                    mail_user: str) -> None:
    client = await hub_client(email_settings(workers=False, use_idle=False, poll_seconds=0.2))
    hub = client.app[HUB_KEY]
    poller = email_of(hub).poller
    await asyncio.wait_for(poller.stats.connected.wait(), 10)
    await asyncio.to_thread(dovecot_server.deliver, mail(20), mail_user)
    await wait_for(lambda: _rows_when(hub, 1), timeout=5)
    assert not poller.stats.idling.is_set()


async def test_restart_neither_skips_nor_repeats(hub_client: Any, email_settings: Any,
                                                 dovecot_server: Any, mail_user: str) -> None:
    for n in (1, 2):
        dovecot_server.deliver(mail(n), user=mail_user)
    settings = email_settings(workers=False)
    first = await hub_client(settings)
    await wait_for(lambda: _rows_when(first.app[HUB_KEY], 2))
    await wait_for(lambda: _all_seen(dovecot_server, mail_user, 2))
    await first.close()
    # While the hub is down: two new mails, one of which a clerk already read in webmail.
    dovecot_server.deliver(mail(3), user=mail_user)
    dovecot_server.deliver(mail(4), user=mail_user)
    dovecot_server.set_flags("add", "\\Seen", "3", user=mail_user)
    second = await hub_client(settings)
    hub = second.app[HUB_KEY]
    rows = await wait_for(lambda: _rows_when(hub, 4))
    poller = email_of(hub).poller
    await asyncio.sleep(0.5)
    assert [r.external_id for r in rows] == [f"<citizen.{n}@gmail.com>" for n in (1, 2, 3, 4)]
    assert (poller.stats.fetched, poller.stats.duplicates) == (2, 0)  # only UIDs 3 and 4


async def test_unseen_again_is_refetched_but_not_doubled(hub_client: Any, email_settings: Any,
                                                         dovecot_server: Any, mail_user: str) -> None:
    """As after a crash between intake and STORE: an unseen mail below the cursor."""
    dovecot_server.deliver(mail(1), user=mail_user)
    client = await hub_client(email_settings(workers=False))
    hub = client.app[HUB_KEY]
    poller = email_of(hub).poller
    await wait_for(lambda: _all_seen(dovecot_server, mail_user, 1))
    await asyncio.wait_for(poller.stats.idling.wait(), 10)
    await asyncio.to_thread(dovecot_server.set_flags, "remove", "\\Seen", "1", mail_user)
    await wait_for(lambda: _duplicates(poller, 1))
    await wait_for(lambda: _all_seen(dovecot_server, mail_user, 1))
    assert len(await inbox(hub)) == 1


async def _duplicates(poller: Any, n: int) -> bool:
    return poller.stats.duplicates >= n


async def test_new_uidvalidity_rescans_without_doubles(hub_client: Any, email_settings: Any,
                                                       dovecot_server: Any, mail_user: str) -> None:
    for n in (1, 2):
        dovecot_server.deliver(mail(n), user=mail_user)
    settings = email_settings(workers=False)
    first = await hub_client(settings)
    await wait_for(lambda: _rows_when(first.app[HUB_KEY], 2))
    await wait_for(lambda: _all_seen(dovecot_server, mail_user, 2))
    await first.close()
    dovecot_server.set_uidvalidity(4242, user=mail_user)
    dovecot_server.deliver(mail(3), user=mail_user)
    second = await hub_client(settings)
    hub = second.app[HUB_KEY]
    poller = email_of(hub).poller
    await wait_for(lambda: _rows_when(hub, 3))
    await wait_for(lambda: _duplicates(poller, 2))
    await wait_for(lambda: _cursor_is(hub, poller, {"uidvalidity": 4242, "last_uid": 3}))
    assert len(await inbox(hub)) == 3


async def _cursor_is(hub: Any, poller: Any, value: dict[str, int]) -> bool:
    async with hub.sessions() as session:
        cursor = await session.get(ChannelState, poller.cursor_key)
    return cursor is not None and cursor.value == value


async def test_only_the_leader_polls(hub_client: Any, email_settings: Any, dovecot_server: Any,
                                     mail_user: str) -> None:
    settings = email_settings(workers=False)
    leader = await hub_client(settings)
    follower = await hub_client(settings)  # same database: the lease is taken
    dovecot_server.deliver(mail(1), user=mail_user)
    await wait_for(lambda: _rows_when(leader.app[HUB_KEY], 1))
    assert leader.app[HUB_KEY].is_leader and not follower.app[HUB_KEY].is_leader
    assert email_of(follower.app[HUB_KEY]).poller.stats.sessions == 0
    assert email_of(leader.app[HUB_KEY]).poller.stats.sessions == 1


async def test_wrong_password_retries_without_leaking_it(hub_client: Any, email_settings: Any,
                                                         caplog: Any) -> None:
    client = await hub_client(email_settings(workers=False, password="not-the-password"))
    poller = email_of(client.app[HUB_KEY]).poller
    await wait_for(lambda: _failures(poller, 2), timeout=15)  # Dovecot delays failed logins
    assert "LOGIN refused" in caplog.text and poller.stats.sessions == 0
    assert "not-the-password" not in caplog.text
    # the operator reads which server and which settings to look at
    assert "check channels.email.username and password" in caplog.text and "IMAP session with 127.0.0.1:" in caplog.text


async def _failures(poller: Any, n: int) -> bool:
    return poller.stats.connect_failures >= n
