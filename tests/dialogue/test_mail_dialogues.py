"""The dialogue by email and for web citizens, against a real Dovecot and an SMTP sink: a mail
asks for what is missing by short replies; a mail carrying a code is a status lookup (no
report); a reply "5" to the "resolved" mail is a rating; a web citizen who gave an email gets
the agency's reply by mail and sees it on /r/{code}, and rates with the one-time link."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from hub.keys import HUB_KEY
from router import templates
from router.rating import RatingRefused, rate_with_token
from store.models import Report
from tests.conftest import wait_for
from tests.dialogue.transcript import Transcript
from tests.email.conftest import CENTER, email_section, needs_dovecot
from tests.router.helpers import ENV_FORM, events, post_report, report, token

pytestmark = needs_dovecot
CITIZEN = "hoa.tran@gmail.com"
STRANGER = "ai.do@yahoo.com"


def mail(sender: str, subject: str, body: str, n: int) -> bytes:
    return (f"From: {sender}\r\nTo: {CENTER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <dialogue.{n}@mail.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def body_of(received) -> str:
    return received.message.get_body(("plain",)).get_content()


SIGNOFF = "\n\n" + templates.render("email_signoff")


def without_hint(text: str) -> str:
    """A mail's own words: without the reply hint, and without the salutation and sign-off every
    mail to a citizen has (checked here)."""
    body = text.split("\n—\n")[0].strip()
    assert body.startswith("Chào bạn") and body.endswith(SIGNOFF), body
    return templates.without_salutation(body)[:-len(SIGNOFF)].strip()


async def _mails(sink, count):
    return sink.received if len(sink.received) >= count else None


async def test_email_dialogue_lookup_and_rating_by_reply(settings_factory, hub_client, dovecot_server,
                                                        mail_user, smtp_sink):
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3}))
    talk = Transcript("Email")
    sent = iter(range(1, 100))

    async def say(body, subject, sender=CITIZEN):
        dovecot_server.deliver(mail(sender, subject, body, next(sent)), user=mail_user)
        talk.citizen(f"[{subject}] {body}")

    async def answer(n, to=CITIZEN):
        mails = await wait_for(lambda: _mails(smtp_sink, n), timeout=20)
        got = mails[n - 1]
        assert got.message["To"].addresses[0].addr_spec == to
        talk.hub(f"[{got.message['Subject']}] {without_hint(body_of(got))}")
        return got.message, without_hint(body_of(got))

    await say("Đèn đường hỏng cả tuần nay, buổi tối tối om rất nguy hiểm.", "Đèn đường hỏng")
    ack, text = await answer(1)
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    subject = f"Re: [#{code}] Đã tiếp nhận phản ánh"
    assert f"[#{code}]" in ack["Subject"] and text.endswith(templates.render("ask_place@email"))
    assert (await report(client, code)).status in ("forwarded", "triage")  # a mail is routed at once

    await say("Số 12 Lê Lợi, phường Thuận Hóa", subject)
    question, text = await answer(2)
    assert text == templates.render("ask_photo@email") and f"[#{code}]" in question["Subject"]
    await say("Bỏ qua", subject)
    _, text = await answer(3)
    assert text == templates.render("ask_phone@email")
    await say("0905 123 456", subject)
    _, text = await answer(4)
    assert text == templates.render("dialogue_thanks", code=code)
    rep = await report(client, code)
    assert rep.address == "Số 12 Lê Lợi, phường Thuận Hóa" and "Bỏ qua" not in rep.description

    # Someone else asks by mail with the code in the subject: the public status, no report.
    await say("Cho tôi hỏi phản ánh này đã xử lý chưa?", f"Tra cứu {code}", sender=STRANGER)
    _, text = await answer(5, to=STRANGER)
    assert text == templates.render("status_public", code=code, status_url=f"http://hub.test/r/{code}",
                                    status_label=templates.STATUS_LABELS[rep.status])
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1

    # Resolved: the mail asks for a digit (and offers the one-time link); "5" rates.
    center = await token(client, "center")
    if rep.agency_id != "so-xay-dung":
        assert (await client.post(f"/api/v1/reports/{code}/route", json={"agency": "so-xay-dung"},
                                  headers=center)).status == 200
        await answer(6)
    count = len(smtp_sink.received)
    agency = await token(client, "so-xay-dung")
    assert (await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                              json={"status": "resolved", "note": "Đã thay bóng đèn"})).status == 200
    _, text = await answer(count + 1)
    assert "Kết quả: Đã thay bóng đèn" in text and "trả lời thư này bằng một số" in text
    assert f"http://hub.test/r/{code}?rate=" in text
    await say("5", f"Re: [#{code}] Cập nhật phản ánh")
    _, text = await answer(count + 2)
    assert text == templates.render("rating_thanks", score=5, code=code)
    rep = await report(client, code)
    assert (rep.rating_score, rep.rating_comment) == (5, None) and "5" not in rep.description.split()
    talk.show()


async def test_web_citizen_gets_the_reply_by_mail_sees_it_on_the_page_and_rates_by_link(
        settings_factory, hub_client, dovecot_server, mail_user, smtp_sink):
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3}))
    talk = Transcript("Web (cổng thông tin) + email")
    code = await post_report(client, ENV_FORM)
    talk.citizen(f"[biểu mẫu web] {ENV_FORM['description']} (email {ENV_FORM['email']})")
    citizen = ENV_FORM["email"]

    async def answer(n):
        mails = await wait_for(lambda: _mails(smtp_sink, n), timeout=20)
        got = mails[n - 1]
        assert got.message["To"].addresses[0].addr_spec == citizen
        talk.hub(f"[email: {got.message['Subject']}] {without_hint(body_of(got))}")
        return without_hint(body_of(got))

    assert f"Mã phản ánh: {code}" in await answer(1)  # web citizens are now told by mail too
    agency = await token(client, "moi-truong")
    reply = "Đã cử tổ thu gom, chiều nay xong. Cần gì gọi anh Bình 0905 111 222."
    resp = await client.post(f"/api/v1/reports/{code}/reply", json={"text": reply}, headers=agency)
    assert resp.status == 202
    assert await answer(2) == templates.render(
        "agency_reply", code=code, agency="Công ty Môi trường đô thị Huế", note=reply)

    # The reply is a public event, phones masked; the status page shows it.
    [event] = await events(client, code, "reply")
    assert event.public and "0905 111 222" not in event.note and "chiều nay xong" in event.note
    page = await (await client.get(f"/r/{code}")).text()
    assert "Đã cử tổ thu gom, chiều nay xong" in page and "0905 111 222" not in page

    assert (await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                              json={"status": "resolved", "note": "Đã thu gom"})).status == 200
    text = await answer(3)
    [url] = re.findall(r"http://hub\.test/r/\S+\?rate=[\w-]+", text)
    token_value = url.rsplit("=", 1)[1]
    talk.citizen(f"(bấm liên kết đánh giá, chọn 4 sao: “nhanh”) {url}")
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        rated = await rate_with_token(hub, session, code, token_value, 4, "nhanh")
        assert (rated.rating_score, rated.rating_comment) == (4, "nhanh")
    async with hub.sessions() as session, session.begin():
        try:
            await rate_with_token(hub, session, code, token_value, 1)
            raise AssertionError("a used link rated again")
        except RatingRefused as exc:
            assert exc.status == 410
    rep = await report(client, code)
    assert rep.rating_score == 4
    # And answering the mail with a digit replaces it (a later rating wins).
    dovecot_server.deliver(mail(f"Lan <{citizen}>", f"Re: [#{code}] Cập nhật phản ánh", "5 sao, cảm ơn",
                                90), user=mail_user)
    talk.citizen(f"[Re: [#{code}] Cập nhật phản ánh] 5 sao, cảm ơn")
    assert await answer(4) == templates.render("rating_thanks", score=5, code=code)
    rep = await report(client, code)
    assert (rep.rating_score, rep.rating_comment) == (5, "cảm ơn")
    talk.show()


async def test_a_mail_with_only_a_code_in_its_subject_is_a_lookup(
        settings_factory, hub_client, dovecot_server, mail_user, smtp_sink):
    """Email walkthrough: "PA-2026-000002" or "Tra cứu PA-…" as the subject with an empty body
    was dropped as an empty message: no answer. It is a status lookup."""
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3}))
    dovecot_server.deliver(mail(CITIZEN, "Đèn đường hỏng",
                                "Đèn đường kiệt 4 Lê Lợi hỏng cả tuần nay.", 1), user=mail_user)
    await wait_for(lambda: _mails(smtp_sink, 1), timeout=20)
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    rep = await report(client, code)
    dovecot_server.deliver(mail(STRANGER, code, "", 2), user=mail_user)
    mails = await wait_for(lambda: _mails(smtp_sink, 2), timeout=20)
    got = [m for m in mails if m.message["To"].addresses[0].addr_spec == STRANGER]
    assert len(got) == 1
    assert without_hint(body_of(got[0])) == templates.render(
        "status_public", code=code, status_url=f"http://hub.test/r/{code}",
        status_label=templates.STATUS_LABELS[rep.status])
    dovecot_server.deliver(mail(CITIZEN, f"Tra cứu {code}", "", 3), user=mail_user)
    mails = await wait_for(lambda: _mails(smtp_sink, 3), timeout=20)
    assert code in body_of(mails[2]) and mails[2].message["To"].addresses[0].addr_spec == CITIZEN
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1
