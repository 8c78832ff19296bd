"""Delivery to agencies through the outbox: a signed webhook (verified the way DESIGN tells
agencies to) and email to an SMTP sink, with retries and visible failures."""
import hashlib
import hmac
import socket
import time
from email import message_from_bytes, policy

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import select

from hub.keys import HUB_KEY
from router.delivery import verify_signature
from store.models import OutboxMessage
from tests.conftest import wait_for
from tests.router.helpers import ENV_FORM, ROAD_FORM, events, outbox, post_report

SECRET = "agency-webhook-secret"
JPEG = b"\xff\xd8\xff\xe0" + b"photo-bytes" * 100 + b"\xff\xd9"


def agencies(**extra):
    env = {"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế", "categories": ["environment"]}
    road = {"id": "so-xay-dung", "name": "Sở Xây dựng", "categories": ["traffic_infrastructure"]}
    env.update(extra.get("env", {}))
    road.update(extra.get("road", {}))
    return [env, road]


def agency_verifies(secret: str, headers: dict, body: bytes) -> bool:
    """Written from DESIGN §3 only, independently of router.delivery."""
    timestamp = headers["X-Hub-Timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Hub-Signature-256"])


async def test_signed_webhook_is_delivered_retried_and_verifiable(settings_factory, hub_client, fake_api):
    api = await fake_api()
    api.on("POST", "/hook", (503, {"error": "busy"}), default={"ok": True})
    api.on("POST", "/gone", default=(410, {"error": "endpoint removed"}))
    settings = settings_factory(agencies=agencies(
        env={"webhook_url": f"{api.url}/hook", "webhook_secret": SECRET},
        road={"webhook_url": f"{api.url}/gone", "webhook_secret": "other"}))
    client = await hub_client(settings)
    code = await post_report(client, ENV_FORM)

    async def delivered():
        rows = await outbox(client, code, purpose="agency_webhook")
        return rows if rows and rows[0].state == "sent" else None
    [row] = await wait_for(delivered)
    assert row.attempts == 2 and row.address == "moi-truong"
    first, second = api.calls_to("/hook")
    for call in (first, second):
        assert agency_verifies(SECRET, call.headers, call.body)
        assert verify_signature(SECRET, call.headers, call.body)
        assert not agency_verifies("wrong", call.headers, call.body)
        assert not agency_verifies(SECRET, call.headers, call.body + b" ")
    body = second.json()
    assert body["event"] == "report.forwarded" and body["agency"] == "moi-truong"
    assert body["delivery_id"] == f"outbox-{row.id}" == second.headers["X-Hub-Delivery"]
    assert body["report"]["code"] == code and body["report"]["citizen"]["phone"] == "+84905123456"
    assert body["text"].startswith(f"Phản ánh mới {code} (Vệ sinh môi trường)")
    # a replayed delivery (old timestamp) is refused by the verification helper
    assert not verify_signature(SECRET, second.headers, second.body, now=time.time() + 600)
    notes = [e.note for e in await events(client, code, "delivery")]
    assert notes == ["đã gửi qua agency_webhook (agency_new)"]

    # a refusing endpoint: dead at once, with the reason on the row and the report
    road = await post_report(client, ROAD_FORM)

    async def dead():
        rows = await outbox(client, road, purpose="agency_webhook")
        return rows if rows and rows[0].state == "dead" else None
    [row] = await wait_for(dead)
    assert row.last_error == "webhook refused the delivery (HTTP 410)"
    notes = [e.note for e in await events(client, road, "delivery")]
    assert notes == ["gửi qua agency_webhook thất bại: webhook refused the delivery (HTTP 410)"]
    metrics = await (await client.get("/metrics")).text()
    assert 'hub_alerts_total{channel="agency_webhook",kind="delivery_dead"} 1.0' in metrics
    assert 'hub_outbox_attempts_total{channel="agency_webhook",outcome="retry",purpose="agency_webhook"} 1.0' in metrics


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_sink():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


async def test_email_delivery_carries_code_place_and_photo(settings_factory, hub_client, fake_api,
                                                           smtp_sink):
    sink, port = smtp_sink
    api = await fake_api()

    async def jpeg(request, body):
        return web.Response(body=JPEG, content_type="image/jpeg")
    api.on("GET", "/photo.jpg", default=jpeg)
    settings = settings_factory(
        agencies=agencies(env={"email": "xuly@moitruong.hue.gov.vn"}, road={"email": "nobody@hue.gov.vn"}),
        channels={"email": {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                            "from_address": "phananh@hue.gov.vn"},
                  "web": {"media_hosts": ["127.0.0.1"]}},
        routing={"delivery_media_wait_seconds": 1.0})
    client = await hub_client(settings)
    code = await post_report(client, ENV_FORM, media_url=f"{api.url}/photo.jpg")
    await wait_for(lambda: _sent(client, code), timeout=15)

    [(mail_from, rcpts, raw)] = sink.messages
    assert mail_from == "phananh@hue.gov.vn" and rcpts == ["xuly@moitruong.hue.gov.vn"]
    mail = message_from_bytes(raw, policy=policy.default)
    assert f"[#{code}]" in mail["Subject"] and mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()
    assert "Rác thải ùn ứ nhiều ngày" in text and f"Mã phản ánh: {code}" in text
    assert "openstreetmap.org/?mlat=16.4637" in text and "+84905123456" in text
    [photo] = list(mail.iter_attachments())
    assert photo.get_content_type() == "image/jpeg" and photo.get_content() == JPEG
    sha = hashlib.sha256(JPEG).hexdigest()
    assert f"/api/v1/reports/{code}/attachments/{sha}" in text

    # a refused mailbox is a dead row with the SMTP answer, never silent
    road = await post_report(client, ROAD_FORM)

    async def dead():
        rows = await outbox(client, road, purpose="agency_email")
        return rows if rows and rows[0].state == "dead" else None
    [row] = await wait_for(dead)
    assert row.last_error.startswith("SMTP 550") and "no such mailbox" in row.last_error


async def _sent(client, code):
    async with client.app[HUB_KEY].sessions() as session:
        return (await session.execute(select(OutboxMessage).where(
            OutboxMessage.purpose == "agency_email", OutboxMessage.state == "sent"))).scalar()
