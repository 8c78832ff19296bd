"""What a citizen adds after the agency has the report reaches the agency too."""
from __future__ import annotations

from sqlalchemy import select

from hub.app import close_hub, open_hub
from hub.inbound import apply_message
from normalizer.schema import InboundMessage
from store.models import OutboxMessage

PHONE = "+84905123456"


def call(n: int, text: str, code: str | None = None) -> InboundMessage:
    return InboundMessage(channel="hotline", external_id=f"call:{n}", sender_id=PHONE, text=text,
                          report_code=code)


async def test_follow_up_after_delivery_goes_to_the_agency(settings_factory) -> None:
    settings = settings_factory(agencies=[{
        "id": "moi-truong", "name": "Công ty Môi trường đô thị Huế", "categories": ["environment"],
        "webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "s"}])
    hub = await open_hub(settings)
    try:
        async with hub.sessions() as session, session.begin():
            report = await apply_message(hub, session, call(1, "Rác thải đổ trộm bốc mùi hôi thối "
                                                               "ở đường Chi Lăng, phường Phú Xuân"))
            assert report.agency_id == "moi-truong"
            code = report.code
            # Before the agency got anything, an addition only joins the report.
            await apply_message(hub, session, call(2, "Đã ba ngày chưa ai thu gom", code))
        async with hub.sessions() as session, session.begin():
            rows = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.purpose == "agency_webhook"))).scalars().all()
            assert [r.template for r in rows] == ["agency_new"]
            rows[0].state = "sent"  # the dispatcher delivered it
        async with hub.sessions() as session, session.begin():
            await apply_message(hub, session, call(3, "Hôm nay còn bốc cháy khói", code))
        async with hub.sessions() as session:
            rows = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.purpose == "agency_webhook").order_by(OutboxMessage.id))).scalars().all()
        assert [r.template for r in rows] == ["agency_new", "agency_citizen_message"]
        assert "Hôm nay còn bốc cháy khói" in rows[1].payload["text"]
        assert code in rows[1].payload["text"]
        # photos alone: the agency hears they came (review: it heard nothing)
        from normalizer.schema import AttachmentRef

        photo = call(4, "", code)
        photo.attachments = [AttachmentRef(kind="image", url="http://127.0.0.1:9/a.jpg")]
        async with hub.sessions() as session, session.begin():
            await apply_message(hub, session, photo)
        async with hub.sessions() as session:
            rows = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.purpose == "agency_webhook").order_by(OutboxMessage.id))).scalars().all()
        assert "Công dân gửi thêm 1 tệp ảnh/video" in rows[-1].payload["text"]
    finally:
        await close_hub(hub)


async def test_a_channel_without_a_route_goes_down_the_chain_at_once(settings_factory) -> None:
    """A hotline caller (a contact with a phone) when no SMS gateway is configured: no outbox row
    on the hotline route that could only die; the caller goes on the call-back list for what
    needs a voice."""
    from store.models import Callback

    hub = await open_hub(settings_factory(channels={"hotline": {"enabled": True}}))
    try:
        assert "hotline" not in hub.senders
        async with hub.sessions() as session, session.begin():
            report = await apply_message(hub, session, call(1, "Rác thải đổ trộm bốc mùi hôi thối "
                                                               "ở đường Chi Lăng, phường Phú Xuân"))
            assert report.contact_id is not None
            from router.lifecycle import notify_citizen

            await notify_citizen(session, hub, report, "resolved", note="Đã thu gom")
        async with hub.sessions() as session:
            rows = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.channel == "hotline"))).scalars().all()
            callbacks = (await session.execute(select(Callback))).scalars().all()
        assert rows == []
        assert [c.phone for c in callbacks] == [PHONE]
    finally:
        await close_hub(hub)
