"""End to end: mail in Dovecot → report → threaded acknowledgement at the SMTP sink; the
citizen's replies join the report; auto-replies get nothing; a bounce kills the row and stops
mail to that address."""
from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from router import lifecycle
from store.models import Attachment, InboxEvent, OutboxMessage, Report, Suppression
from tests.conftest import wait_for
from tests.email.conftest import CENTER, fixture_bytes, needs_dovecot

pytestmark = needs_dovecot
CITIZEN = "nguyenvana@gmail.com"


async def reports(hub: Any) -> list[Report]:
    async with hub.sessions() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def outbox(hub: Any) -> list[OutboxMessage]:
    async with hub.sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def _n_received(sink: Any, n: int) -> list[Any] | None:
    return sink.received if len(sink.received) >= n else None


async def _inbox_settled(hub: Any, n: int) -> bool:
    async with hub.sessions() as session:
        states = (await session.execute(select(InboxEvent.state))).scalars().all()
    return len(states) >= n and all(s in ("done", "ignored") for s in states)


def reply(subject: str, in_reply_to: str, n: int, text: str, extra: str = "") -> bytes:
    return (f"From: Nguyễn Văn A <{CITIZEN}>\r\nTo: {CENTER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <reply.{n}@mail.gmail.com>\r\nIn-Reply-To: {in_reply_to}\r\n"
            f"References: <CAF1plain001@mail.gmail.com> {in_reply_to}\r\n{extra}"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\n"
            f"> Trung tâm đã tiếp nhận phản ánh của bạn.\r\n").encode()


async def test_mail_to_report_ack_replies_and_autoreply(hub_client: Any, email_settings: Any,
                                                        dovecot_server: Any, mail_user: str,
                                                        smtp_sink: Any) -> None:
    client = await hub_client(email_settings())
    hub = client.app[HUB_KEY]
    await asyncio.to_thread(dovecot_server.deliver, fixture_bytes("message__plain_utf8_photo.eml"),
                            mail_user)
    [ack] = await wait_for(lambda: _n_received(smtp_sink, 1), timeout=15)
    [report] = await reports(hub)
    assert report.channel == "email" and report.reply_address == CITIZEN
    assert "Rác thải tồn đọng 3 ngày" in report.description
    mail = ack.message
    assert ack.rcpt_tos == [CITIZEN]
    assert mail["Subject"] == f"Re: Rác thải ở kiệt 12 Lê Lợi [#{report.code}]"
    assert mail["In-Reply-To"] == "<CAF1plain001@mail.gmail.com>"
    assert mail["Auto-Submitted"] == "auto-replied"
    [row] = await outbox(hub)
    assert row.state == "sent" and row.provider_id == mail["Message-ID"]
    async with hub.sessions() as session:
        [att] = (await session.execute(select(Attachment))).scalars().all()
    assert (att.name, att.kind, att.state) == ("rac.jpg", "image", "stored")

    ours = mail["Message-ID"]
    # 1) a reply with the code in the Subject, 2) a reply threaded only by In-Reply-To,
    # 3) the citizen's out-of-office answering our acknowledgement.
    for raw in (reply(f"Re: {mail['Subject']}", ours, 1, "Đã có ảnh mới, rác vẫn còn."),
                reply("RE: phản ánh", ours, 2, "Thêm: rác chắn lối đi."),
                reply(f"Re: {mail['Subject']}", ours, 3, "Tôi đang đi vắng.",
                      extra="Auto-Submitted: auto-replied\r\n")):
        await asyncio.to_thread(dovecot_server.deliver, raw, mail_user)
    await wait_for(lambda: _inbox_settled(hub, 4), timeout=15)
    await asyncio.sleep(0.5)  # would-be acknowledgements get time to show up
    [report] = await reports(hub)
    assert report.external_ids == ["<CAF1plain001@mail.gmail.com>", "<reply.1@mail.gmail.com>",
                                   "<reply.2@mail.gmail.com>"]
    assert "Đã có ảnh mới" in report.description and "rác chắn lối đi" in report.description
    assert "đi vắng" not in report.description and "Trung tâm đã tiếp nhận" not in report.description
    assert len(smtp_sink.received) == 1 and len(await outbox(hub)) == 1
    async with hub.sessions() as session:
        ignored = (await session.execute(select(InboxEvent).where(
            InboxEvent.external_id == "<reply.3@mail.gmail.com>"))).scalar_one()
    assert ignored.state == "ignored" and ignored.report_id is None
    skipped = hub.metrics.skipped.labels("email", "auto-reply:auto-submitted")._value.get()
    assert skipped == 1

    # Every mail about the report answers in the citizen's thread under one subject: a status
    # update has the acknowledgement's subject (Gmail files mails of other subjects apart).
    async with hub.sessions() as session:
        report = await session.get(Report, report.id)
        await lifecycle.notify_citizen(session, hub, report, "in_progress")
        await session.commit()
    [_, update] = await wait_for(lambda: _n_received(smtp_sink, 2), timeout=15)
    assert update.message["Subject"] == mail["Subject"]
    assert update.message["In-Reply-To"] == "<CAF1plain001@mail.gmail.com>"


async def bounce_first_ack(hub: Any, dovecot_server: Any, mail_user: str, smtp_sink: Any) -> None:
    """CITIZEN mails a report; the acknowledgement we send them bounces (a DSN naming it)."""
    await asyncio.to_thread(dovecot_server.deliver, fixture_bytes("message__plain_utf8_photo.eml"),
                            mail_user)
    [ack] = await wait_for(lambda: _n_received(smtp_sink, 1), timeout=15)
    dsn = fixture_bytes("bounce__dsn_ours.eml") \
        .replace(b"<pa-2026-000001.outbox-1.abcdef012345@hue.gov.vn>", ack.message["Message-ID"].encode()) \
        .replace(b"sai.dia.chi@gmail.com", CITIZEN.encode())
    await asyncio.to_thread(dovecot_server.deliver, dsn, mail_user)
    await wait_for(lambda: _inbox_settled(hub, 2), timeout=15)


async def test_bounce_of_our_ack_kills_row_and_suppresses(hub_client: Any, email_settings: Any,
                                                         dovecot_server: Any, mail_user: str,
                                                         smtp_sink: Any) -> None:
    client = await hub_client(email_settings())
    hub = client.app[HUB_KEY]
    await bounce_first_ack(hub, dovecot_server, mail_user, smtp_sink)
    [row] = await outbox(hub)
    assert (row.state, row.delivery_state) == ("dead", "bounced") and "5.1.1" in row.last_error
    async with hub.sessions() as session:
        [suppressed] = (await session.execute(select(Suppression))).scalars().all()
    assert (suppressed.channel, suppressed.address) == ("email", CITIZEN)
    # The next notification for that report is not mailed to the bounced address.
    async with hub.sessions() as session, session.begin():
        report = (await session.execute(select(Report))).scalar_one()
        await lifecycle.notify_citizen(session, hub, report, "in_progress")
    rows = await wait_for(lambda: _second_row_done(hub))
    assert rows[1].state == "dead" and "suppressed" in rows[1].last_error
    assert len(smtp_sink.received) == 1


async def _second_row_done(hub: Any) -> list[OutboxMessage] | None:
    rows = await outbox(hub)
    return rows if len(rows) >= 2 and rows[1].state == "dead" else None
