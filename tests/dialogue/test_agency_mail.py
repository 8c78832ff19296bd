"""Mail between the hub and an agency's mailbox, against a real Dovecot and an SMTP sink (email
walkthrough): an agency answering the report mail we sent it got a citizen's "Tình trạng phản
ánh" mail back (a loop in the making) and its answer was recorded nowhere; the report mail gave
the due time as raw UTC ISO and the description twice."""
from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from hub.keys import HUB_KEY
from router import templates
from store.models import Report
from tests.conftest import wait_for
from tests.dialogue.test_mail_dialogues import body_of, mail
from tests.email.conftest import CENTER, email_section, needs_dovecot
from tests.router.helpers import events, report

pytestmark = needs_dovecot
CITIZEN = "lan.nguyen@gmail.com"
AGENCY = "vesinh@moitruong.hue.vn"
TEXT = "Rác thải ùn ứ nhiều ngày ở kiệt 12 Nguyễn Trãi, phường Thuận Hóa, bốc mùi hôi thối"


async def test_an_agency_reply_is_kept_on_the_report_and_never_answered(
        settings_factory, hub_client, dovecot_server, mail_user, smtp_sink):
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3},
        agencies=[{"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế",
                   "categories": ["environment"], "email": AGENCY},
                  {"id": "so-xay-dung", "name": "Sở Xây dựng",
                   "categories": ["urban_infrastructure"]}]))
    dovecot_server.deliver(mail(CITIZEN, "Rác ùn ứ", TEXT, 1), user=mail_user)

    async def agency_mail():
        return next((m for m in smtp_sink.received
                     if m.message["To"].addresses[0].addr_spec == AGENCY), None)
    sent = await wait_for(agency_mail, timeout=20)
    code = re.search(r"PA-\d{4}-\d{6}", sent.message["Subject"]).group(0)
    assert (await report(client, code)).agency_id == "moi-truong"
    body = body_of(sent)
    assert body.count("bốc mùi hôi thối") == 1  # the description once
    due = re.search(r"Hạn xử lý: (.+)", body).group(1)
    assert re.fullmatch(r"\d\d:\d\d ngày \d\d/\d\d/\d{4}", due), due
    assert templates.render("agency_mail_footer") in body

    async def citizen_acked():
        return any(m.message["To"].addresses[0].addr_spec == CITIZEN for m in smtp_sink.received)
    await wait_for(citizen_acked, timeout=20)  # it may go after the agency's mail
    before = len(smtp_sink.received)
    answer = (f"From: Phòng Vệ sinh <{AGENCY}>\r\nTo: {CENTER}\r\n"
              # no code in the subject (some clients drop the tag): the thread names our mail
              "Subject: Re: Phản ánh mới\r\nMessage-ID: <agency.1@moitruong.hue.vn>\r\n"
              f"In-Reply-To: {sent.message['Message-ID']}\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n\r\n"
              "Công ty đã tiếp nhận, sáng mai sẽ cử xe thu gom.\r\n").encode()
    dovecot_server.deliver(answer, user=mail_user)

    async def kept():
        notes = [e for e in await events(client, code, "note") if e.actor == "moi-truong"]
        return notes or None
    [note] = await wait_for(kept, timeout=20)
    assert "sáng mai sẽ cử xe thu gom" in note.note and not note.public
    await asyncio.sleep(1.5)
    assert len(smtp_sink.received) == before  # nothing sent back, to the agency or the citizen
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1
    rep = await report(client, code)
    assert "thu gom" not in rep.description and rep.status == "forwarded"
