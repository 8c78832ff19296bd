"""End to end: a mail larger than max_message_bytes, fetched from Dovecot only in part, makes a
report with its text and its whole photo; the photo the fetch cut off is refused, not stored."""
from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Attachment, Report
from tests.conftest import wait_for
from tests.email.conftest import needs_dovecot
from tests.email.test_forwards_and_cuts import JPEG, big_mail

pytestmark = needs_dovecot


async def _attachments(hub: Any) -> list[Attachment] | None:
    async with hub.sessions() as session:
        rows = list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())
    return rows if len(rows) >= 2 else None


async def test_the_photo_a_partial_fetch_cut_is_refused(hub_client: Any, email_settings: Any,
                                                        dovecot_server: Any, mail_user: str,
                                                        smtp_sink: Any) -> None:
    raw = big_mail()
    assert len(raw) > 400_000  # two photos of 150 KB, base64: the fetch stops in the second
    client = await hub_client(email_settings(max_message_bytes=300_000))
    hub = client.app[HUB_KEY]
    await asyncio.to_thread(dovecot_server.deliver, raw, mail_user)
    first, second = await wait_for(lambda: _attachments(hub), timeout=15)
    assert (first.name, first.state, first.size) == ("o-ga-1.jpg", "stored", len(JPEG))
    assert (second.name, second.state, second.sha256) == ("o-ga-2.jpg", "refused", None)
    async with hub.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert "Mặt đường có ổ gà lớn" in report.description
    assert "o-ga-2.jpg" in report.description
    # … and the citizen is told which file did not come and why (email walkthrough: the
    # acknowledgement said nothing, and asked only for a phone since one photo had come)
    from router import templates

    async def notice() -> str | None:
        for got in smtp_sink.received:
            body = got.message.get_body(("plain",)).get_content()
            if "Thư của bạn lớn hơn" in body:
                return body
        return None
    body = await wait_for(notice, timeout=15)
    assert templates.render("mail_truncated", limit_mb="0,3", files=templates.render(
        "mail_truncated_files", names="o-ga-2.jpg")) in body


async def test_a_cut_mail_also_names_a_whole_file_over_the_size_limit(
        hub_client: Any, email_settings: Any, dovecot_server: Any, mail_user: str,
        smtp_sink: Any) -> None:
    """Second review: the notice of a cut mail returned early, so a file that had arrived whole
    but was over max_attachment_bytes was refused without a word to the citizen."""
    from router import templates

    settings = email_settings(max_message_bytes=300_000)
    settings.storage.max_attachment_bytes = 100_000  # the first photo (150 KB) arrives, too big
    client = await hub_client(settings)
    hub = client.app[HUB_KEY]
    await asyncio.to_thread(dovecot_server.deliver, big_mail(), mail_user)
    first, second = await wait_for(lambda: _attachments(hub), timeout=15)
    assert (first.state, second.state) == ("refused", "refused")

    async def bodies() -> list[str] | None:
        got = [m.message.get_body(("plain",)).get_content() for m in smtp_sink.received]
        return got if any("Thư của bạn lớn hơn" in b for b in got) and any(
            "o-ga-1.jpg" in b for b in got) else None
    text = "\n".join(await wait_for(bodies, timeout=15))
    assert templates.render("mail_truncated_files", names="o-ga-2.jpg") in text
    assert templates.render("attachment_too_large", names="o-ga-1.jpg", limit_mb="0,1") in text
