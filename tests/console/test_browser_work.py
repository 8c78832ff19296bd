"""The console's work in real headless Chromium on the whole hub (workers, router, intake) with a
fake Telegram Bot API on loopback: the center routes a triage report and the agency officer then
sees it; the officer sets in_progress, then resolved with a note, and the citizen's Telegram chat
receives each step; a hotline operator logs a call and reads the code back; an officer of another
agency cannot open the report (nor its photo).

``HUB_CONSOLE_SCREENSHOTS=DIR`` keeps a PNG of each page checked.
"""
from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.accounts import create_account
from store.models import Attachment, Report
from tests.browser import Shots, new_page
from tests.conftest import wait_for
from tests.console.conftest import PASSWORD
from tests.console.test_browser import _png, log_in
from tests.telegram import fakebot
from tests.telegram.fakebot import SECRET, channel_settings, load, sent_messages, serve

CHAT, OTHER_CHAT = 512340001, 512340777
OFFICERS = {"tt.lan": ("center", None, "Trần Thị Lan"), "td.minh": ("hotline", None, "Đỗ Văn Minh"),
            "mt.hoa": ("agency", "moi-truong", "Lê Thị Hoa"),
            "xd.nam": ("agency", "so-xay-dung", "Phạm Văn Nam")}
WIDE = {"viewport": {"width": 1280, "height": 900}}


class Site:
    def __init__(self, base: str, app: Any, bot_api: Any) -> None:
        self.base, self.app, self.bot_api = base, app, bot_api
        self.hub = app[HUB_KEY]

    async def telegram(self, name: str, *, text: str | None = None, chat: int = CHAT,
                       update_id: int | None = None) -> None:
        update = load(name, date=int(time.time()), chat_id=chat, update_id=update_id)
        if text is not None:
            update["message"]["text"] = text
        async with aiohttp.ClientSession() as http:
            resp = await http.post(f"{self.base}/webhooks/telegram",
                                   data=json.dumps(update, ensure_ascii=False),
                                   headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                            "Content-Type": "application/json"})
            assert resp.status == 200

    async def report(self, **where: Any) -> Report | None:
        async with self.hub.sessions() as session:
            query = select(Report)
            for key, value in where.items():
                query = query.where(getattr(Report, key) == value)
            return (await session.execute(query.order_by(Report.id.desc()).limit(1))).scalar()

    def texts(self, chat: int = CHAT) -> list[str]:
        return [m["text"] for m in sent_messages(self.bot_api) if m["chat_id"] == str(chat)]


@pytest.fixture
async def site(settings_factory: Any, aiohttp_server: Any, fake_api: Any,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    from hub.app import create_app

    # The citizen's photo is a real picture (the page must show it).
    monkeypatch.setitem(fakebot.FILES, "AgACAgUAAxkBAAIBZ2Wphoto_x",
                        ("photos/file_12.jpg", _png((46, 139, 87), 320)))
    bot_api = await fake_api()
    serve(bot_api)
    app = create_app(settings_factory(channels=channel_settings(bot_api.url)))
    server = await aiohttp_server(app)
    hub = app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        for username, (role, agency, name) in OFFICERS.items():
            await create_account(session, username, role, PASSWORD, agency_id=agency,
                                 display_name=name, agencies={a.id: a.name for a in hub.agencies})
    yield Site(f"http://127.0.0.1:{server.port}", app, bot_api)


async def _submit(page: Any, form: str) -> Any:
    async with page.expect_navigation() as answer:
        await page.locator(f"{form} button[type=submit]").first.click()
    return await answer.value


async def test_center_routes_then_agency_resolves_and_citizen_hears(browser: Any, site: Site,
                                                                    shots: Shots) -> None:
    base = site.base
    await site.telegram("message__text", text="Alo, tôi muốn báo một chuyện ở gần nhà")
    received = await wait_for(lambda: site.report(status="received"))
    code = received.code
    await wait_for(lambda: _has(site, code))  # the receipt with the code; it asks where
    await site.telegram("message__text", text="xong", update_id=830100999)  # no more to say
    await wait_for(lambda: site.report(status="triage"))  # "other", no place: the center decides
    errors: list[str] = []

    center = await new_page(browser, errors, **WIDE)
    await log_in(center, base, "tt.lan")
    assert code in await center.locator("table.queue").inner_text()
    await center.goto(f"{base}/console/reports/{code}")
    await center.locator("select[name=agency]").select_option("moi-truong")
    await center.locator("select[name=category]").select_option("environment")
    await shots.take(center, "report-route-before")
    await _submit(center, "form[action$='/route']")
    assert "Đã chuyển phản ánh." in await center.locator("#action-done").inner_text()
    assert "Trần Thị Lan" in await center.locator("ol.timeline").inner_text()
    await shots.take(center, "report-routed")
    routed = await site.report(code=code)
    assert (routed.status, routed.agency_id) == ("forwarded", "moi-truong")
    # On a phone the page, action forms with the agencies' long names and the merge button
    # included, fits the screen (a grid column's min-content width and the unwrapped "Gộp … vào
    # …" button once pushed it 40 px past the edge). Another report in the same ward is offered.
    async with site.hub.sessions() as session, session.begin():
        (await session.get(Report, routed.id)).ward = "Phường Thuận Hóa"
        session.add(Report(code="PA-2026-990001", channel="web", status="forwarded",
                           category="environment", agency_id="moi-truong", ward="Phường Thuận Hóa",
                           description="Rác đổ trộm ở cuối kiệt", created_at=routed.created_at))
    await center.reload()
    assert f"Gộp {code} vào PA-2026-990001" in await center.locator("ul.duplicates").inner_text()
    await center.set_viewport_size({"width": 390, "height": 844})
    await shots.take(center, "report-routed-phone")
    assert await center.evaluate("document.documentElement.scrollWidth") <= 390
    await center.set_viewport_size(WIDE["viewport"])

    officer = await new_page(browser, errors, **WIDE)
    await log_in(officer, base, "mt.hoa")
    assert code in await officer.locator("table.queue").inner_text()
    await shots.take(officer, "agency-queue")
    async with officer.expect_navigation():
        await officer.get_by_role("link", name=code).click()
    sent_before = len(site.texts())
    await officer.locator("select[name=status]").select_option("in_progress")
    await _submit(officer, "form[action$='/status']")
    assert "Đã cập nhật trạng thái." in await officer.locator("#action-done").inner_text()
    texts = await wait_for(lambda: _more(site, sent_before))
    assert f"Phản ánh {code} đang được Công ty Môi trường đô thị Huế xử lý." in texts[-1]

    # "resolved" without a note is refused on the page, nothing changes.
    await officer.locator("select[name=status]").select_option("resolved")
    response = await _submit(officer, "form[action$='/status']")
    assert response.status == 422
    assert "cần ghi chú" in await officer.locator("#action-error").inner_text()
    assert (await site.report(code=code)).status == "in_progress"
    sent_before = len(site.texts())
    await officer.locator("select[name=status]").select_option("resolved")
    await officer.locator("textarea#status-note").fill("Đã thu gom và phun khử mùi lúc 15 giờ")
    await _submit(officer, "form[action$='/status']")
    timeline = await officer.locator("ol.timeline").inner_text()
    assert "Lê Thị Hoa" in timeline and "Đã thu gom và phun khử mùi lúc 15 giờ" in timeline
    await shots.take(officer, "report-resolved")
    texts = await wait_for(lambda: _more(site, sent_before))
    assert "Kết quả: Đã thu gom và phun khử mùi lúc 15 giờ" in texts[-1]
    assert (await site.report(code=code)).status == "resolved"
    assert [e for e in errors if "422" not in e] == []


async def test_other_agency_cannot_open_the_report_or_its_photo(browser: Any, site: Site,
                                                                shots: Shots) -> None:
    base = site.base
    await site.telegram("message__photo", chat=OTHER_CHAT)
    await wait_for(lambda: site.report(status="received"))
    await site.telegram("message__text", text="xong", chat=OTHER_CHAT, update_id=830100998)
    report = await wait_for(lambda: site.report(agency_id="moi-truong"))
    sha = await wait_for(lambda: _stored_photo(site, report.id))
    media = f"{base}/console/reports/{report.code}/media/{sha}"
    errors: list[str] = []

    officer = await new_page(browser, errors, **WIDE)
    await log_in(officer, base, "mt.hoa")
    await officer.goto(f"{base}/console/reports/{report.code}")
    img = officer.locator("ul.attachments img.media")
    await img.wait_for()
    # The element is there before its picture has loaded: wait for the load, then check it.
    await officer.wait_for_function("i => i.complete && i.naturalWidth > 0",
                                    arg=await img.element_handle(), timeout=15_000)
    assert await img.evaluate("i => i.naturalWidth") == 320  # the picture loaded
    await shots.take(officer, "report-photo")

    other = await new_page(browser, errors, **WIDE)
    await log_in(other, base, "xd.nam")
    assert report.code not in await other.locator("main").inner_text()
    answer = await other.goto(f"{base}/console/reports/{report.code}")
    assert answer.status == 404
    assert f"Không có phản ánh {report.code} trong phạm vi của bạn." in await other.locator("main").inner_text()
    await shots.take(other, "other-agency-404")
    assert (await other.goto(media)).status == 404
    assert [e for e in errors if "404" not in e] == []


async def test_hotline_operator_logs_a_call(browser: Any, site: Site, shots: Shots) -> None:
    base = site.base
    errors: list[str] = []
    page = await new_page(browser, errors, **WIDE)
    await log_in(page, base, "td.minh")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Ghi cuộc gọi").click()
    await page.locator("#call-phone").fill("0905 123 456")
    await page.locator("#call-name").fill("Nguyễn Văn An")
    await page.locator("#call-text").type("Rác thải ùn ứ bốc mùi nhiều ngày ở kiệt 12 Nguyễn Trãi, không ai thu gom")
    await page.locator("#call-address").type("kiệt 12 Nguyễn Trãi, thuan h")
    # The live suggestions: the classifier's category, then a ward to pick.
    await page.locator("#category-suggest").wait_for()
    assert "Vệ sinh môi trường" in await page.locator("#category-suggest").inner_text()
    pick = page.locator("button.ward-pick", has_text="Phường Thuận Hóa")
    await pick.wait_for()
    await shots.take(page, "call-form")
    await pick.click()
    assert await page.locator("#call-address").input_value() == "kiệt 12 Nguyễn Trãi, Phường Thuận Hóa"
    await page.locator("#ward-suggest").wait_for()
    await _submit(page, "#call-form")
    code = await page.locator("#call-code").inner_text()
    await shots.take(page, "call-code")
    report = await site.report(code=code)
    assert report is not None and report.channel == "hotline" and report.ward == "Phường Thuận Hóa"
    assert report.extra["operator"] == "user:td.minh"
    async with page.expect_navigation():
        await page.get_by_role("link", name="Xem phản ánh").click()
    assert "0905123456" in (await page.locator("main").inner_text()).replace(" ", "").replace("+84", "0")
    assert errors == []


async def _has(site: Site, needle: str) -> bool:
    return any(needle in t for t in site.texts())


async def _more(site: Site, count: int) -> list[str] | None:
    texts = site.texts()
    return texts if len(texts) > count else None


async def _stored_photo(site: Site, report_id: int) -> str | None:
    async with site.hub.sessions() as session:
        return (await session.execute(select(Attachment.sha256).where(
            Attachment.report_id == report_id, Attachment.kind == "image",
            Attachment.state == "stored"))).scalar()
