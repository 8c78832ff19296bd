"""The phone walkthrough's defects in real headless Chromium (skipped with a reason without
/usr/bin/chromium, tests/browser.py): Back then "Gửi phản ánh" again lands on the first receipt
(one report); the receipt rates the resolved report; the form's map box says what to do
without JavaScript."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from hub.keys import HUB_KEY
from store.models import Report
from tests.browser import Shots, new_page
from tests.conftest import wait_for
from tests.portal.conftest import run_portal_jobs
from tests.portal.test_browser import PHONE, shots, site  # noqa: F401  (the fixtures, by name)
from tests.router.helpers import report, token

DESCRIPTION = "Ổ gà lớn trước nhà số 12 Lê Lợi, rất nguy hiểm"


async def _reports(client: Any) -> int:
    async with client.app[HUB_KEY].sessions() as session:
        return (await session.execute(select(func.count()).select_from(Report))).scalar_one()


async def _code_on(page: Any, client: Any) -> str:
    async def code() -> str | None:
        await run_portal_jobs(client)
        await page.reload()
        found = await page.locator("strong.code").all_inner_texts()
        return found[0] if found else None
    return await wait_for(code, timeout=30)


async def test_back_and_send_again_lands_on_the_first_receipt_which_then_rates(
        browser: Any, site: tuple[str, Any], shots: Shots) -> None:  # noqa: F811
    base, client = site
    errors: list[str] = []
    page = await new_page(browser, errors, **PHONE)
    await page.goto(f"{base}/report")
    await page.get_by_label("Hạ tầng giao thông").check()
    await page.locator("#description").fill(DESCRIPTION)
    await page.locator("#address").fill("12 Lê Lợi, Phường Thuận Hóa")
    await page.locator("#email").fill("lan.nguyen@example.com")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Gửi phản ánh").click()
    receipt = page.url
    assert "/report/sent/form-" in receipt
    code = await _code_on(page, client)
    await shots.take(page, "receipt")
    # Back: the form page is loaded again; the browser brings back what was typed (or the
    # citizen types the same again), and sends it again.
    await page.go_back()
    assert page.url.endswith("/report")
    if await page.locator("#description").input_value() != DESCRIPTION:
        await page.get_by_label("Hạ tầng giao thông").check()
        await page.locator("#description").fill(DESCRIPTION)
        await page.locator("#address").fill("12 Lê Lợi, Phường Thuận Hóa")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Gửi phản ánh").click()
    assert page.url == receipt
    await run_portal_jobs(client)
    assert await _reports(client) == 1
    # "Gửi phản ánh khác": a different report is a new one
    await page.get_by_role("link", name="Gửi phản ánh khác").click()
    await page.get_by_label("Vệ sinh môi trường").check()
    await page.locator("#description").fill("Rác thải đổ trộm ven sông Như Ý")
    await page.locator("#address").fill("Đường Ngự Bình, Phường An Cựu")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Gửi phản ánh").click()
    assert "/report/sent/form-" in page.url and page.url != receipt
    await wait_for(lambda: _count_is(client, 2), timeout=30)

    # resolved: the receipt (the citizen's own page) offers the rating, once
    rep = await report(client, code)
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{base}/api/v1/reports/{code}/status", headers=await token(client, rep.agency_id),
                               json={"status": "resolved", "note": "Đã vá ổ gà"})
        assert resp.status == 200, await resp.text()
    await page.goto(receipt)
    assert "Đã xử lý xong" in await page.locator(".receipt-status").inner_text()
    await page.get_by_label("4 – Hài lòng").check()
    await page.locator("#comment").fill("Nhanh, cảm ơn")
    await shots.take(page, "receipt-rate")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Gửi đánh giá").click()
    assert page.url == receipt
    assert "Bạn đã đánh giá kết quả xử lý: 4/5" in await page.locator(".rated").inner_text()
    assert await page.locator("input[name=score]").count() == 0
    await shots.take(page, "receipt-rated")
    assert (await report(client, code)).rating_score == 4
    await page.goto(f"{base}/r/{code}")
    assert await page.locator("input[name=score]").count() == 0
    assert "lan.nguyen" not in await page.content()
    assert not errors, errors


async def _count_is(client: Any, n: int) -> bool:
    await run_portal_jobs(client)
    return await _reports(client) == n


async def test_the_form_map_says_what_to_do_without_javascript(
        browser: Any, site: tuple[str, Any], shots: Shots, tmp_path: Path) -> None:  # noqa: F811
    base, _client = site
    errors: list[str] = []
    page = await new_page(browser, errors, java_script_enabled=False, **PHONE)
    await page.goto(f"{base}/report")
    text = await page.locator("#pick-map").inner_text()
    assert "Bản đồ cần JavaScript" in text and "nhập địa chỉ" in text
    assert await page.locator("#pick-map").is_visible()
    await shots.take(page, "form-nojs")


async def test_a_code_typed_in_the_search_box_opens_the_report(
        browser: Any, site: tuple[str, Any]) -> None:  # noqa: F811
    from tests.portal.conftest import seed_report

    base, client = site
    code = await seed_report(client, status="triage", forwarded=False)
    errors: list[str] = []
    page = await new_page(browser, errors, **PHONE)
    await page.goto(f"{base}/reports")
    await page.locator("#f-q").fill("pa 2026 " + str(int(code.rsplit("-", 1)[1])))
    async with page.expect_navigation():
        await page.locator("#f-q").press("Enter")
    assert page.url == f"{base}/r/{code}"
    assert code in await page.locator("h1").inner_text()
    assert not errors, errors


async def test_two_open_form_tabs_both_send_their_reports(
        browser: Any, site: tuple[str, Any]) -> None:  # noqa: F811
    """Two tabs of one browser share the pending form key: the second tab's report is not lost
    (the form comes back with what was typed and a new key) and sending again sends it."""
    base, client = site
    errors: list[str] = []
    first = await new_page(browser, errors, **PHONE)
    await first.goto(f"{base}/report")
    second = await first.context.new_page()
    await second.goto(f"{base}/report")
    for page, category, text in ((first, "Hạ tầng giao thông", DESCRIPTION),
                                 (second, "Vệ sinh môi trường", "Rác thải đổ trộm ven sông Như Ý")):
        await page.get_by_label(category).check()
        await page.locator("#description").fill(text)
        await page.locator("#address").fill("12 Lê Lợi, Phường Thuận Hóa")
    async with first.expect_navigation():
        await first.get_by_role("button", name="Gửi phản ánh").click()
    assert "/report/sent/form-" in first.url
    async with second.expect_navigation():
        await second.get_by_role("button", name="Gửi phản ánh").click()
    assert "/report/sent/" not in second.url
    assert "lần nữa" in await second.locator(".errors").inner_text()
    assert await second.locator("#description").input_value() == "Rác thải đổ trộm ven sông Như Ý"
    async with second.expect_navigation():
        await second.get_by_role("button", name="Gửi phản ánh").click()
    assert "/report/sent/form-" in second.url and second.url != first.url
    await wait_for(lambda: _count_is(client, 2), timeout=30)
    assert not errors, errors
