"""The SMTP sender against an aiosmtpd sink: threaded headers, 4xx → retry, 5xx → give up,
AUTH and STARTTLS per settings, the per-address rate limit."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from channels.email.adapter import EmailChannel
from channels.email.smtp import ReplyRateLimit, message_id_for
from hub.app import build_hub
from normalizer.schema import OutboundMessage
from tests.email.conftest import CENTER
from tests.email.dovecot import free_port
from tests.email.smtp_sink import SmtpSink

CITIZEN_ID = "<CAF1plain001@mail.gmail.com>"


def ack(key: str = "outbox-7") -> OutboundMessage:
    return OutboundMessage(text="Đã tiếp nhận phản ánh của bạn. Mã phản ánh: PA-2026-000001.",
                           subject="[#PA-2026-000001] Đã tiếp nhận phản ánh",
                           report_code="PA-2026-000001", idempotency_key=key, template="ack",
                           reply_context={"message_id": CITIZEN_ID, "subject": "Rác thải",
                                          "references": ["<older@mail.gmail.com>"]})


@pytest.fixture
async def make_channel(settings_factory: Any) -> AsyncIterator[Callable[..., EmailChannel]]:
    hubs: list[Any] = []

    def make(port: int, **extra: Any) -> EmailChannel:
        section = {"enabled": True, "imap_host": "127.0.0.1", "username": CENTER, "password": "x",
                   "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                   "from_address": CENTER, "from_name": "Trung tâm Giám sát",
                   "smtp_timeout_seconds": 5, **extra}
        hub = build_hub(settings_factory(channels={"email": section}))
        hubs.append(hub)
        return hub.channels["email"]  # type: ignore[return-value]
    yield make
    for hub in hubs:
        await hub.channels["email"].aclose()
        await hub.engine.dispose()


async def test_sent_mail_is_threaded_and_marked_automatic(make_channel: Any, smtp_sink: SmtpSink) -> None:
    channel = make_channel(smtp_sink.port)
    result = await channel.send("NguyenVanA@gmail.com", ack())
    assert result.status == "sent"
    [got] = smtp_sink.received
    mail = got.message
    assert got.mail_from == CENTER and got.rcpt_tos == ["nguyenvana@gmail.com"]
    assert result.provider_id == mail["Message-ID"] == message_id_for("outbox-7", "PA-2026-000001", CENTER)
    assert mail["Message-ID"].endswith("@hue.gov.vn>")
    assert mail["In-Reply-To"] == CITIZEN_ID
    assert mail["References"] == f"<older@mail.gmail.com> {CITIZEN_ID}"
    assert mail["Subject"] == "[#PA-2026-000001] Đã tiếp nhận phản ánh"
    assert mail["Auto-Submitted"] == "auto-replied" and mail["X-Auto-Response-Suppress"] == "All"
    assert str(mail["From"]) == f"Trung tâm Giám sát <{CENTER}>"
    body = mail.get_content()
    # The channel transmits the text the router rendered (the reply hint is the router's).
    assert body.strip() == ack().text.strip()
    # A retry of the same outbox row re-sends the same Message-ID (threads and bounces match).
    again = await channel.send("nguyenvana@gmail.com", ack())
    assert again.provider_id == result.provider_id
    assert smtp_sink.handler.connections == 1  # one reused SMTP session


@pytest.mark.parametrize("reply, status, other_route", [
    ("451 4.3.0 Mailbox temporarily unavailable", "retry", False),
    ("452 4.2.2 Mailbox full", "retry", False),
    ("550 5.1.1 No such user", "give_up", True),
    ("554 5.7.1 Rejected by policy", "give_up", True),
])
async def test_smtp_answers_map_to_results(make_channel: Any, smtp_sink: SmtpSink, reply: str,
                                           status: str, other_route: bool) -> None:
    smtp_sink.handler.refuse["x@gmail.com"] = reply
    result = await make_channel(smtp_sink.port).send("x@gmail.com", ack())
    assert result.status == status and reply.split()[0] in result.reason
    assert result.needs_other_route is other_route
    assert smtp_sink.received == []


async def test_unreachable_server_is_retried(make_channel: Any) -> None:
    result = await make_channel(free_port()).send("x@gmail.com", ack())
    assert result.status == "retry" and "connection" in result.reason.lower()


async def test_auth_ok_and_refused(make_channel: Any) -> None:
    sink = SmtpSink(auth=("hub", "smtp-secret")).start()
    try:
        ok = await make_channel(sink.port, smtp_username="hub",
                                smtp_password="smtp-secret").send("x@gmail.com", ack())
        refused = await make_channel(sink.port, smtp_username="hub",
                                     smtp_password="wrong").send("x@gmail.com", ack())
    finally:
        sink.stop()
    assert ok.status == "sent" and len(sink.received) == 1
    assert refused.status == "paused" and "535" in refused.reason and "wrong" not in refused.reason


async def test_starttls_with_private_ca(make_channel: Any, tmp_path: Path) -> None:
    sink = SmtpSink(auth=("hub", "smtp-secret"), tls_dir=tmp_path).start()
    try:
        ok = await make_channel(sink.port, smtp_starttls=True, tls_ca_file=str(sink.cert),
                                smtp_username="hub", smtp_password="smtp-secret"
                                ).send("x@gmail.com", ack())
        untrusted = await make_channel(sink.port, smtp_starttls=True, smtp_username="hub",
                                       smtp_password="smtp-secret").send("y@gmail.com", ack())
    finally:
        sink.stop()
    assert ok.status == "sent" and [r.rcpt_tos for r in sink.received] == [["x@gmail.com"]]
    assert untrusted.status == "retry"  # certificate not trusted: nothing sent in clear


async def test_per_address_rate_limit(make_channel: Any, smtp_sink: SmtpSink) -> None:
    channel = make_channel(smtp_sink.port, reply_rate_limit=2, reply_rate_window_seconds=600)
    results = [await channel.send("loop@gmail.com", ack(f"outbox-{i}")) for i in range(3)]
    other = await channel.send("other@gmail.com", ack("outbox-9"))
    assert [r.status for r in results] == ["sent", "sent", "retry"]
    assert results[2].retry_after is not None and 0 < results[2].retry_after <= 600
    assert other.status == "sent" and len(smtp_sink.received) == 3


def test_rate_limit_window_slides() -> None:
    limit = ReplyRateLimit(limit=1, window=10)
    limit.record("a@b.vn", now=100)
    assert limit.wait_seconds("a@b.vn", now=105) == 5
    assert limit.wait_seconds("a@b.vn", now=110) == 0
