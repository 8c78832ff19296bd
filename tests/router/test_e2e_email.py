"""Email end to end against a real Dovecot and an SMTP sink: mail → report → routed → the agency
works it through the API → the citizen's mailbox gets the Vietnamese update in the thread; when
the citizen's mailbox bounces, the update goes by SMS to the phone written in the mail."""
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Report
from tests.conftest import wait_for
from tests.email.conftest import CENTER, email_section, needs_dovecot
from tests.router.helpers import events, report, token

pytestmark = needs_dovecot
CITIZEN = "lan.nguyen@gmail.com"
MAIL = (f"From: Nguyễn Lan <{CITIZEN}>\r\nTo: {CENTER}\r\nSubject: Rác thải ở kiệt 12 Nguyễn Trãi\r\n"
        "Message-ID: <router-e2e.1@gmail.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Rác thải ùn ứ nhiều ngày ở kiệt 12 Nguyễn Trãi, phường Phú Xuân, bốc mùi.\r\n"
        "Số điện thoại của tôi: 0905 123 456\r\n").encode()


def bounce(message_id: str) -> bytes:
    return ("Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.google.com>\r\n"
            f"To: {CENTER}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            "Message-ID: <bounce.router-e2e@mx.google.com>\r\nAuto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
            "--dsn\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYour message could not be delivered.\r\n"
            "--dsn\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.google.com\r\n\r\n"
            f"Final-Recipient: rfc822; {CITIZEN}\r\nAction: failed\r\nStatus: 5.2.1\r\n"
            "Diagnostic-Code: smtp; 550 5.2.1 The email account that you tried to reach is disabled.\r\n"
            "--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: {CENTER}\r\nTo: {CITIZEN}\r\nMessage-ID: {message_id}\r\n"
            "--dsn--\r\n").encode()


async def test_email_citizen_hears_updates_then_sms_after_a_bounce(settings_factory, hub_client, fake_api,
                                                                  dovecot_server, mail_user, smtp_sink):
    sms = await fake_api()
    sms.on("POST", "/send", default={"id": "sms-1"})
    settings = settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink),
                  "hotline": {"enabled": True, "sms_gateway_url": f"{sms.url}/send"}},
        workers={"leader_lease_seconds": 3})
    dovecot_server.deliver(MAIL, user=mail_user)
    client = await hub_client(settings)
    await wait_for(lambda: _mails(smtp_sink, 1), timeout=20)
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    ack = smtp_sink.received[0].message
    assert ack["To"].addresses[0].addr_spec == CITIZEN and f"[#{code}]" in ack["Subject"]
    center = await token(client, "center")
    if (await report(client, code)).agency_id != "moi-truong":
        assert (await client.post(f"/api/v1/reports/{code}/route", json={"agency": "moi-truong"},
                                  headers=center)).status == 200
    agency = await token(client, "moi-truong")
    count = len(smtp_sink.received)
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "in_progress", "note": "Đã giao tổ thu gom"}, headers=agency)
    assert resp.status == 200
    await wait_for(lambda: _mails(smtp_sink, count + 1))
    update = smtp_sink.received[-1].message
    assert f"[#{code}]" in update["Subject"] and update["In-Reply-To"] == "<router-e2e.1@gmail.com>"
    body = update.get_body(("plain",)).get_content()
    assert body.startswith("Chào bạn Nguyễn Lan,\n\n")  # the name of her own mail
    assert f"Phản ánh {code} đang được Công ty Môi trường đô thị Huế xử lý." in body

    # the citizen's mailbox is disabled: the bounce for that update sends it on by SMS
    dovecot_server.deliver(bounce(update["Message-ID"]), user=mail_user)
    [call] = await wait_for(lambda: _calls(sms), timeout=20)
    assert call.json()["text"] == f"Phản ánh đang được xử lý. Tra cứu: hub.test/r/{code}"
    notes = [e.note for e in await events(client, code)]
    assert any(n and n.startswith("chuyển thông báo sang sms (email:") for n in notes)


async def _mails(sink, count):
    return len(sink.received) >= count


async def _calls(api):
    return api.calls_to("/send") or None
