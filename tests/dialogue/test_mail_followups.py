"""What a citizen mails after their report was made, against a real Dovecot and an SMTP sink
(email walkthrough): a new mail (not a reply) answering the dialogue's question made a second
report; a new mail about their own report naming its code in the text got only a status answer
and its news was dropped; an address given later never set the ward; "vẫn chưa sửa" after the
result was recorded for nobody; a stranger's status answer invited them to "reply to add"."""
from __future__ import annotations

from sqlalchemy import func, select

from hub.keys import HUB_KEY
from router import templates
from store.models import Report
from tests.conftest import wait_for
from tests.dialogue.test_mail_dialogues import STRANGER, _mails, body_of, mail, without_hint
from tests.email.conftest import email_section, needs_dovecot
from tests.router.helpers import events, report, token

pytestmark = needs_dovecot
CITIZEN = "binh.tran@gmail.com"


async def test_later_mails_join_the_citizens_report(settings_factory, hub_client, dovecot_server,
                                                    mail_user, smtp_sink):
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3}))
    sent = iter(range(500, 600))

    async def say(body, subject, sender=CITIZEN):
        dovecot_server.deliver(mail(sender, subject, body, next(sent)), user=mail_user)

    async def answer(n, to=CITIZEN):
        mails = await wait_for(lambda: _mails(smtp_sink, n), timeout=20)
        got = mails[n - 1]
        assert got.message["To"].addresses[0].addr_spec == to
        return got.message, body_of(got)

    async def count_reports():
        async with client.app[HUB_KEY].sessions() as session:
            return (await session.execute(select(func.count()).select_from(Report))).scalar()

    await say("Đèn đường hỏng cả tuần nay, buổi tối tối om rất nguy hiểm.", "Đèn đường hỏng")
    _, text = await answer(1)
    assert without_hint(text).endswith(templates.render("ask_place@email"))
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()

    # A new mail, not a reply, answering "where?": joins, and its ward is found.
    await say("Địa chỉ: số 20 Bến Nghé, phường Thuận Hóa", "Địa chỉ chỗ đèn hỏng")
    _, text = await answer(2)
    assert without_hint(text) == templates.render("dialogue_thanks", code=code)
    rep = await report(client, code)
    assert await count_reports() == 1
    assert rep.ward == "Phường Thuận Hóa" and "Bến Nghé" in rep.address

    # A new mail about their own report, the code in its text: added, not a lookup.
    await say(f"Về phản ánh {code} của tôi: đèn đường vẫn chưa sáng, tối qua có người bị ngã xe.",
              "Bổ sung thông tin")
    async def added():
        return "người bị ngã xe" in (await report(client, code)).description or None
    await wait_for(added, timeout=20)
    assert await count_reports() == 1

    # A stranger asking: the public status, with no [#code] tag nor "reply to add" hint.
    await say("Cho tôi hỏi phản ánh này đã xử lý chưa?", f"Hỏi {code}", sender=STRANGER)
    message, text = await answer(3, to=STRANGER)
    assert f"[#{code}]" not in message["Subject"] and code in message["Subject"]
    assert "\n—\n" not in text and without_hint(text).startswith(f"Phản ánh {code}")  # no hint block

    # Resolved, then the citizen disputes it: the agency is told, the citizen hears so.
    center = await token(client, "center")
    rep = await report(client, code)
    if rep.agency_id != "so-xay-dung":
        assert (await client.post(f"/api/v1/reports/{code}/route", json={"agency": "so-xay-dung"},
                                  headers=center)).status == 200
    agency = await token(client, "so-xay-dung")
    assert (await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                              json={"status": "resolved", "note": "Đã thay bóng đèn"})).status == 200

    async def result_mail():
        return next((m for m in smtp_sink.received if "Đã thay bóng đèn" in body_of(m)), None)
    await wait_for(result_mail, timeout=20)
    count = len(smtp_sink.received)
    await say("Đèn vẫn chưa sáng, chưa ai thay cả. Đề nghị kiểm tra lại.",
              f"Re: [#{code}] Cập nhật phản ánh")
    _, text = await answer(count + 1)
    assert without_hint(text) == templates.render(
        "followup_after_result", code=code, agency="Sở Xây dựng")
    rep = await report(client, code)
    assert rep.status == "resolved" and "chưa ai thay" in rep.description
    assert any("chưa ai thay" in (e.note or "") for e in await events(client, code, "message"))


async def test_a_later_address_moves_the_report_to_the_wards_team(
        settings_factory, hub_client, dovecot_server, mail_user, smtp_sink):
    """A mail is routed at once, before the citizen says where: with the ward known later, a
    report the rules sent to the province's department (and nobody took up yet) moves to the
    ward's team the rules choose for it."""
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3},
        agencies=[{"id": "so-xay-dung", "name": "Sở Xây dựng",
                   "categories": ["traffic_infrastructure", "urban_infrastructure"]},
                  {"id": "qldt-thuan-hoa", "name": "Đội Quản lý đô thị phường Thuận Hóa",
                   "categories": ["urban_infrastructure"], "areas": ["Phường Thuận Hóa"]}]))
    dovecot_server.deliver(mail(CITIZEN, "Đèn đường hỏng",
                                "Đèn đường hỏng cả tuần nay, buổi tối tối om rất nguy hiểm.", 700),
                           user=mail_user)
    await wait_for(lambda: _mails(smtp_sink, 1), timeout=20)
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    rep = await report(client, code)
    assert rep.agency_id == "so-xay-dung" and rep.ward is None
    dovecot_server.deliver(mail(CITIZEN, f"Re: [#{code}] Đã tiếp nhận phản ánh",
                                "Số 20 Bến Nghé, phường Thuận Hóa", 701), user=mail_user)

    async def moved():
        r = await report(client, code)
        return r if r.agency_id == "qldt-thuan-hoa" else None
    rep = await wait_for(moved, timeout=20)
    assert rep.ward == "Phường Thuận Hóa" and rep.status == "forwarded"
