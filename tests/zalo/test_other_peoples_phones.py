"""A report names other people's numbers (the house owner who builds onto the sidewalk, a
contractor's card): those never become the citizen's contact. When Zalo cannot reach the
citizen, the hub's news goes by ZNS only to a number the citizen gave as their own, and a
question of the dialogue is not sent by another route at all."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.keys import HUB_KEY
from normalizer.phones import own_emails, own_phones
from store.models import OutboxMessage, Report, ReportEvent
from tests.conftest import wait_for
from tests.zalo.support import CS, ZNS, api_answer, signed, stamped, zalo_settings

OUTSIDE_WINDOW = api_answer("api_message_cs__error_-230")


@pytest.mark.parametrize(("text", "own"), [
    ("Nhà số 7 Kim Long đang xây lấn ra vỉa hè, chủ nhà là ông Lâm 0977123123", []),
    ("liên hệ chủ nhà 0977123123", []),
    ("Số điện thoại của chủ quán là 0977 123 123", []),
    ("Danh thiếp: Nhà thầu Minh Phát 0905777888", []),
    ("karaoke nhà 0977123123 hát đến 12h đêm", []),
    ("Nguyễn Văn A - 0905123456", []),  # whose? not said: not taken
    # review: a cue right before the number, but the sentence is about someone else
    ("Chủ nhà số 12 xây lấn vỉa hè, SĐT 0905123456", []),
    ("chủ quán sđt: 0905 123 456", []),
    ("Chủ nhà là ông Hùng, điện thoại 0905123456, xây trái phép", []),
    ("Chủ nhà lấn chiếm vỉa hè, bà Mai sđt 0905123456", []),
    ("Ông Hùng chủ nhà\n0905123456", []),  # alone on its line, but not the whole message
    ("Nhà hàng xóm hát karaoke đến khuya. SĐT của tôi 0905123456", ["+84905123456"]),
    ("Quán karaoke ồn ào, sđt của em 0905123456", ["+84905123456"]),
    ("SĐT của tôi: 0905 123 456", ["+84905123456"]),
    ("sdt em 0905.123.456 nha", ["+84905123456"]),
    ("0905123456", ["+84905123456"]),
    ("0905.123.456 ạ", ["+84905123456"]),
    ("Gọi cho em theo số 0905123456 nhé", ["+84905123456"]),
    ("Nguyễn Văn A\nĐT: 0905123456", ["+84905123456"]),
    ("Cong bi tac, lien he 0905123456", ["+84905123456"]),
    # second review: abbreviations do not end the sentence that names the owner
    ("Chủ nhà số 12 P. Thạch Thang xây lấn vỉa hè, SĐT 0905123456", []),
    ("Chủ nhà kiệt 3 Tp.Huế xây lấn, liên hệ 0905123456", []),
    ("Chủ quán Q.1 lấn chiếm, sđt 0905123456", []),
    ("Cống tắc ở P. Phú Hội, SĐT 0905123456", ["+84905123456"]),
    # people named in lower case, with or without diacritics
    ("ong hung o so 12 xay lan via he, sdt 0905123456", []),
    ("chi ngoc ban hang lan chiem, lh 0905123456", []),
    ("ông hùng xây lấn vỉa hè, sđt 0905123456", []),
    ("co rac thai ba ngay chua don, sdt 0905123456", ["+84905123456"]),  # có, ba (three)
    ("có rác thải ba ngày chưa dọn, sđt 0905123456", ["+84905123456"]),
    ("em gui anh hien truong, sdt 0905123456", ["+84905123456"]),  # ảnh hiện trường
    ("co dung xe tren via he, sdt 0905123456", ["+84905123456"]),
    ("ong nuoc bi vo, sdt 0905123456", ["+84905123456"]),  # ống nước
    # businesses not named through their owner, adverts
    ("Cửa hàng vật liệu xây dựng lấn chiếm vỉa hè, liên hệ 0905123456", []),
    ("Quán nhậu số 5 mở nhạc to, sđt 0905123456", []),
    ("Dán quảng cáo khoan cắt bê tông khắp cột điện, liên hệ 0905123456", []),
    # streets named after people, and the reader addressed, are nobody else
    ("Cống tắc trên đường Bà Triệu, sđt 0905123456", ["+84905123456"]),
    ("Ổ gà trước số 12 Ông Ích Khiêm. SĐT 0905123456", ["+84905123456"]),
    ("Ổ gà ở Ông Ích Khiêm, sđt 0905123456", ["+84905123456"]),
    ("cong bi tac duong Ba Trieu, sdt 0905123456", ["+84905123456"]),
    ("Kính gửi Anh Chị, cống bị tắc, SĐT 0905123456", ["+84905123456"]),
    ("Nhờ cô chú xử lý giúp, sđt 0905123456", ["+84905123456"]),
    ("Bà con khu phố rất bức xúc, liên hệ 0905123456", ["+84905123456"]),
])
def test_own_phones_are_the_ones_the_writer_gives_as_theirs(text: str, own: list[str]) -> None:
    assert own_phones(text) == own


def test_own_emails() -> None:
    assert own_emails("email: lan.nguyen@gmail.com") == ["lan.nguyen@gmail.com"]
    assert own_emails("chủ quán là anh Hùng hungnv@gmail.com") == []


@pytest.fixture
def zalo_unreachable(settings_factory: Any, hub_client: Any, fake_api: Any) -> Any:
    """A hub whose Zalo messages all come back "outside the interaction window" (-230), so
    every citizen message needs another route; ZNS answers as Zalo does."""
    from tests.zalo.support import FakeZalo

    async def start() -> tuple[Any, Any]:
        api = await fake_api()
        fake = FakeZalo(api)
        api.on("POST", CS, default=OUTSIDE_WINDOW)
        client = await hub_client(settings_factory(None, **zalo_settings(api.url)))
        return client, fake
    return start


async def _settled(client: Any) -> tuple[Report, list[OutboxMessage], list[str]]:
    hub = client.app[HUB_KEY]

    async def done() -> tuple[Report, list[OutboxMessage], list[str]] | None:
        async with hub.sessions() as session:
            report = (await session.execute(select(Report))).scalars().first()
            rows = list((await session.execute(select(OutboxMessage).order_by(
                OutboxMessage.id))).scalars())
            if report is None or not rows or any(r.state not in ("sent", "dead") for r in rows):
                return None
            notes = list((await session.execute(select(ReportEvent.note).where(
                ReportEvent.report_id == report.id))).scalars())
            return report, rows, [n or "" for n in notes]
    return await wait_for(done)


async def test_the_house_owners_number_gets_no_zns(zalo_unreachable: Any) -> None:
    client, fake = await zalo_unreachable()
    raw = stamped("user_send_text__report", msg_id="b7000000000000000001",
                  text="Nhà số 7 Kim Long đang xây lấn ra vỉa hè, chủ nhà là ông Lâm 0977123123")
    assert (await client.post("/webhooks/zalo", data=raw, headers=signed(raw))).status == 200
    report, rows, notes = await _settled(client)
    assert fake.api.calls_to(CS), "the acknowledgement was tried on Zalo"
    # The number stays in the text (and in the report's contact points for the agency) …
    assert report.extra["found_contacts"]["phones"] == ["+84977123123"]
    assert report.extra["found_contacts"]["own_phones"] == []
    # … but nothing was sent to it: no ZNS, no SMS, no call-back entry.
    assert [c.json()["phone"] for c in fake.api.calls_to(ZNS)] == []
    assert {r.channel for r in rows} == {"zalo"}


async def test_the_citizens_own_number_gets_the_zns_but_not_the_dialogue_question(
        zalo_unreachable: Any) -> None:
    client, fake = await zalo_unreachable()
    raw = stamped("user_send_text__report", msg_id="b7000000000000000002",
                  text="Cống bị tắc ở kiệt 12 Kim Long, nước tràn ra đường. SĐT của tôi 0905123456")
    assert (await client.post("/webhooks/zalo", data=raw, headers=signed(raw))).status == 200
    report, rows, notes = await _settled(client)
    zns = [c.json() for c in fake.api.calls_to(ZNS)]
    assert [c["phone"] for c in zns] == ["84905123456"]  # the acknowledgement, once
    assert zns[0]["template_data"]["code"] == report.code

    # A question of the dialogue that Zalo could not deliver stays on Zalo.
    from router.fallback import route_elsewhere

    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        fresh = await session.get(Report, report.id)
        assert await route_elsewhere(hub, session, fresh, "ask_photo", {"code": report.code},
                                     reason="zalo: outside window") is None
    async with hub.sessions() as session:
        channels = list((await session.execute(select(OutboxMessage.template).where(
            OutboxMessage.channel != "zalo"))).scalars())
        notes = list((await session.execute(select(ReportEvent.note).where(
            ReportEvent.report_id == report.id))).scalars())
    assert "ask_photo" not in channels
    assert any("không chuyển tin trò chuyện 'ask_photo'" in (n or "") for n in notes)


def test_reports_analysed_before_own_numbers_were_told_apart_are_read_again() -> None:
    """Review: a report stored with found_contacts {phones, emails} only (before this change)
    kept no route at all; its text is read again."""
    from router.fallback import own_found
    from store.models import Report

    old = Report(description="Cống tắc kiệt 5. SĐT của tôi 0905123456, chủ nhà ông Lâm 0977123123",
                 extra={"found_contacts": {"phones": ["+84905123456", "+84977123123"],
                                           "emails": []}})
    assert own_found(old) == (["+84905123456"], [])
    new = Report(description="x", extra={"found_contacts": {
        "phones": ["+84977123123"], "emails": [], "own_phones": [], "own_emails": []}})
    assert own_found(new) == ([], [])


def test_a_later_message_keeps_an_old_reports_own_numbers() -> None:
    """Second review: text added to a report analysed before own numbers were told apart wrote
    ``own_phones`` from the new text only, and ``own_found`` stopped reading the old text."""
    from hub.inbound.assembly import _remember_contacts
    from router.fallback import own_found
    from store.models import Report

    old = Report(description="Cống tắc kiệt 5. SĐT của tôi 0905123456",
                 extra={"found_contacts": {"phones": ["+84905123456"], "emails": []}})
    _remember_contacts(old, "email của tôi: lan@gmail.com")
    assert own_found(old) == (["+84905123456"], ["lan@gmail.com"])
