"""A mail of tens of megabytes is parsed off the event loop: webhooks are answered meanwhile."""
from __future__ import annotations

import asyncio
import base64
import os
import time
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from hub.app import close_hub, open_hub
from hub.inbound import parse_event
from hub.workers import Workers
from store.models import Attachment, InboxEvent, Report
from tests.conftest import make_settings
from tests.email.conftest import CENTER


def big_mail() -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"] = "nguyenvana@gmail.com", CENTER
    mail["Subject"], mail["Message-ID"] = "Rác ở kiệt 5 Lê Lợi", "<big.1@mail.gmail.com>"
    mail.set_content("Rác thải tồn đọng ở kiệt 5 Lê Lợi, phường Thuận Hóa, đã ba ngày.")
    for n in range(3):  # three phone photos, 4 MB each
        mail.add_attachment(os.urandom(4_000_000), maintype="image", subtype="jpeg",
                            filename=f"anh{n}.jpg")
    return mail.as_bytes()


async def test_a_big_mail_does_not_stop_the_event_loop(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path, db_url, channels={"email": {
        "enabled": True, "imap_host": "127.0.0.1", "imap_port": 9, "imap_ssl": False,
        "username": "pa", "password": "x", "smtp_host": "127.0.0.1", "smtp_port": 9,
        "smtp_starttls": False, "from_address": CENTER}})
    hub = await open_hub(settings, channels=False)  # no IMAP poller: the event is put in below
    try:
        payload = {"raw": base64.b64encode(big_mail()).decode("ascii"), "uid": 1,
                   "uidvalidity": 1, "mailbox": "INBOX"}
        await hub.intake.submit("email", "<big.1@mail.gmail.com>", payload)
        async with hub.sessions() as session:
            event = (await session.execute(select(InboxEvent))).scalar_one()
        started = time.perf_counter()
        parse_event(hub, event)  # how long the parse holds whoever runs it, on this machine
        parse_seconds = time.perf_counter() - started

        gaps: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        assert await Workers(hub).run_inbox_once() == 1
        stop.set()
        await tick
        # On the loop, the parse was one gap as long as itself (1-2 s); in a thread, the loop
        # runs between the parser's GIL switches.
        assert max(gaps) < parse_seconds / 2, (max(gaps), parse_seconds)
        async with hub.sessions() as session:
            [report] = (await session.execute(select(Report))).scalars().all()
            photos = (await session.execute(select(Attachment))).scalars().all()
        assert "kiệt 5 Lê Lợi" in report.description and len(photos) == 3
    finally:
        await close_hub(hub)
