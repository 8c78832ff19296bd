"""A file over the size limit is refused and the citizen is told (email walkthrough: a 27 MB
video was refused silently; the acknowledgement said nothing, so the citizen believed the agency
had it)."""
from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from router import templates
from tests.conftest import wait_for
from tests.dialogue.test_mail_dialogues import body_of, without_hint
from tests.email.conftest import CENTER, email_section, needs_dovecot
from tests.email.test_flow import _n_received

pytestmark = needs_dovecot
CITIZEN = "hung.le@gmail.com"


async def test_a_refused_file_is_told(hub_client: Any, settings_factory: Any, dovecot_server: Any,
                                      mail_user: str, smtp_sink: Any) -> None:
    await hub_client(settings_factory(
        channels={"email": email_section(dovecot_server, mail_user, smtp_sink)},
        storage={"max_attachment_bytes": 200_000}, workers={"leader_lease_seconds": 3}))
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = CITIZEN, CENTER, "Ngập nước"
    mail["Message-ID"] = "<big.1@mail.test>"
    mail.set_content("Đường Lê Lợi ngập sâu sau mưa, xem video đính kèm.")
    mail.add_attachment(b"\x00" * 300_000, maintype="video", subtype="mp4", filename="ngap.mp4")
    mail.add_attachment(b"\xff\xd8\xff" + b"\x01" * 1000, maintype="image", subtype="jpeg",
                        filename="anh.jpg")
    dovecot_server.deliver(mail.as_bytes(), user=mail_user)
    mails = await wait_for(lambda: _n_received(smtp_sink, 2), timeout=20)
    texts = [without_hint(body_of(m)) for m in mails]
    told = templates.render("attachment_too_large", names="ngap.mp4", limit_mb="0,2")
    assert told in texts and "Mã phản ánh" in texts[0]  # after the acknowledgement
