"""Mail to a citizen opens with a greeting in the register of its body ("Chào bạn <their
name>,"; "Kính gửi Ông/Bà" above a body that says "bạn" read wrong) and closes "Trân trọng,\\n<the
center>". The name is only ever the recipient's own (the
From of their mail, when our answers go back to that address); SMS and chat texts are unchanged."""
from __future__ import annotations

import base64
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from sqlalchemy import select

from channels.email.adapter import EmailChannel
from channels.email.settings import EmailSettings
from hub.keys import HUB_KEY
from normalizer.schema import OutboundMessage
from router import templates
from router.messages import citizen_message
from store.models import Report
from tests.conftest import wait_for
from tests.dialogue.test_mail_dialogues import _mails, body_of
from tests.email.conftest import CENTER, email_section, needs_dovecot

CITIZEN, STRANGER = "hoa.tran@gmail.com", "ai.do@yahoo.com"
SIGNOFF = "Trân trọng,\nTrung tâm Giám sát, điều hành đô thị thông minh"


def _mail(sender: str, subject: str, body: str, n: int, reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, CENTER, subject
    msg["Message-ID"] = f"<salutation.{n}@mail.test>"
    if reply_to:
        msg["Reply-To"] = reply_to
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def _parse(raw: bytes) -> Any:
    adapter = EmailChannel(None, EmailSettings(username=CENTER, from_address=CENTER))  # type: ignore[arg-type]
    [message] = adapter.parse({"raw": base64.b64encode(raw).decode(), "uid": 1, "uidvalidity": 1,
                               "mailbox": "INBOX"})
    return message


def test_the_name_is_kept_only_when_answers_go_to_its_address() -> None:
    own = _parse(_mail(f"Trần Thị Hoa <{CITIZEN}>", "Đèn hỏng", "Đèn đường hỏng.", 1))
    assert own.reply_context["name"] == "Trần Thị Hoa"
    # answers go to the secretary's address: not Mrs Hoa who reads them
    other = _parse(_mail(f"Trần Thị Hoa <{CITIZEN}>", "Đèn hỏng", "Đèn đường hỏng.", 2,
                         reply_to="thu.ky@congty.vn"))
    assert "name" not in other.reply_context


def test_email_only_is_framed_and_an_unknown_name_is_not_invented() -> None:
    values = {"code": "PA-2026-000007", "status_url": "http://hub.test/r/PA-2026-000007"}
    named = templates.for_channel(citizen_message("ack", "email", values, report_code=values["code"],
                                                  reply_context={"name": "Trần Thị Hoa"}), "email")
    plain_text = templates.render("ack", **values)
    assert named.text.startswith(f"Chào bạn Trần Thị Hoa,\n\n{plain_text}\n\n{SIGNOFF}\n\n—\n")
    unnamed = templates.for_channel(citizen_message("ack", "email", values,
                                                    report_code=values["code"]), "email")
    assert unnamed.text.startswith(f"Chào bạn,\n\n{plain_text}\n\n{SIGNOFF}")
    address_as_name = OutboundMessage(text="x", reply_context={"name": CITIZEN})
    assert templates.for_channel(address_as_name, "email").text.startswith("Chào bạn,\n")
    for channel in ("sms", "zalo", "messenger", "telegram", "web"):
        message = citizen_message("ack", channel, values, reply_context={"name": "Trần Thị Hoa"})
        text = templates.for_channel(message, channel).text
        assert not text.startswith("Chào bạn") and "Trân trọng" not in text, channel
    # an organisation's display name is not greeted as a person
    for org in ("CÔNG TY TNHH XÂY DỰNG MINH PHÁT", "Cty CP Môi trường", "UBND phường Kim Long"):
        message = OutboundMessage(text="x", reply_context={"name": org})
        assert templates.for_channel(message, "email").text.startswith("Chào bạn,\n"), org
    # framed once, whatever passes through for_channel again
    assert templates.for_channel(named, "email").text == named.text


@needs_dovecot
async def test_a_citizen_is_greeted_by_name_and_a_stranger_never_with_theirs(
        settings_factory: Any, hub_client: Any, dovecot_server: Any, mail_user: str,
        smtp_sink: Any) -> None:
    client = await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        workers={"leader_lease_seconds": 3}))
    dovecot_server.deliver(_mail(f"Trần Thị Hoa <{CITIZEN}>", "Đèn đường hỏng",
                                 "Đèn đường trước số 12 Lê Lợi hỏng cả tuần nay.", 1), user=mail_user)
    [ack] = await wait_for(lambda: _mails(smtp_sink, 1), timeout=20)
    text = body_of(ack)
    assert text.startswith("Chào bạn Trần Thị Hoa,\n\nTrung tâm Giám sát") and "Mã phản ánh" in text
    assert f"\n\n{SIGNOFF}\n\n—\n" in text  # the sign-off before the reply hint
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()

    # Someone else asks about the report: their own name, never the reporter's.
    dovecot_server.deliver(_mail(f"Đỗ Văn Ai <{STRANGER}>", f"Hỏi {code}",
                                 "Phản ánh này xử lý chưa?", 2), user=mail_user)
    mails = await wait_for(lambda: _mails(smtp_sink, 2), timeout=20)
    [answer] = [m for m in mails if m.message["To"].addresses[0].addr_spec == STRANGER]
    text = body_of(answer)
    assert text.startswith("Chào bạn Đỗ Văn Ai,\n\n") and "Hoa" not in text
    assert text.rstrip().endswith(SIGNOFF)


def test_people_whose_names_hold_an_organisation_word_are_greeted_by_name() -> None:
    """Review: "truong", "phong", "so", "hoi" anywhere in a folded name counted as an
    organisation, so Trương Thị Lan or Nguyễn Thanh Phong got "Chào bạn," without a name."""
    from router.templates import greeting_name

    for person in ("Trương Thị Lan", "Nguyễn Thanh Phong", "Lê Văn Sơ", "Đỗ Văn Hội",
                   "Truong Thi Lan", "Phong Nguyen", "Ban Thi Hoa"):
        assert greeting_name(person) == person, person
    for org in ("Sở Xây dựng Thừa Thiên Huế", "Phòng Quản lý đô thị", "Trường THPT Hai Bà Trưng",
                "Hội Chữ thập đỏ", "Ban Quản lý chợ Đông Ba", "Trung tâm Giám sát điều hành",
                "CÔNG TY TNHH XÂY DỰNG MINH PHÁT", "Cty CP Môi trường", "UBND phường Kim Long"):
        assert greeting_name(org) == "", org
