"""The citizen's receipt /report/sent/form-… (walkthrough on a phone): where the report stands
and, once resolved, its rating form (the one-time link made at resolution, which the web sender
delivers nowhere); a report code typed in the search box opens its page whatever its status."""
from __future__ import annotations

import re
from typing import Any

from hub.keys import HUB_KEY
from store.public_reports import set_report_hidden
from tests.portal.conftest import seed_report
from tests.portal.test_form import FORM, form_key, multipart, sent_code
from tests.router.helpers import outbox, report, token


async def test_the_receipt_shows_the_status_then_rates_once(portal: Any) -> None:
    client = portal
    key = await form_key(client)
    resp = await client.post("/report", data=multipart({**FORM, "form_key": key}), allow_redirects=False)
    receipt = resp.headers["Location"]
    code = await sent_code(client, receipt)
    page = await (await client.get(receipt)).text()
    assert "Trạng thái hiện nay" in page and 'name="score"' not in page
    assert "Khi phản ánh được xử lý xong, bạn có thể đánh giá" in page
    agency = await token(client, (await report(client, code)).agency_id)
    assert (await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                              json={"status": "resolved", "note": "Đã thu gom"})).status == 200
    page = await (await client.get(receipt)).text()
    assert "Đã xử lý xong" in page
    assert f'action="{receipt}/rate"' in page and 'name="score"' in page
    # the form carries the one-time link's token, the one put in the web outbox row
    [row] = await outbox(client, code, purpose="citizen", template="resolved", channel="web")
    link_token = row.payload["template_data"]["rate_url"].rsplit("rate=", 1)[1]
    assert f'name="token" value="{link_token}"' in page
    # the public page keeps no form; nothing private on it
    public = await (await client.get(f"/r/{code}")).text()
    assert 'name="score"' not in public and "binh.tv" not in public and "form-" not in public
    resp = await client.post(f"{receipt}/rate", data={"token": link_token}, allow_redirects=False)
    assert resp.status == 400 and "từ 1 đến 5" in await resp.text()
    resp = await client.post(f"{receipt}/rate", data={"token": link_token, "score": "4"},
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == receipt
    page = await (await client.get(receipt)).text()
    assert "Bạn đã đánh giá kết quả xử lý: <strong>4/5</strong>" in page and 'name="score"' not in page
    assert (await report(client, code)).rating_score == 4
    # one rating: the same link (also the one an email copy carries) is spent
    again = await client.post(f"{receipt}/rate", data={"token": link_token, "score": "1"})
    assert again.status == 410 and (await report(client, code)).rating_score == 4
    assert "không còn dùng được" in await (await client.get(f"/r/{code}?rate={link_token}")).text()
    # another citizen's link does not rate through this receipt
    other = await seed_report(client, status="resolved")
    from tests.portal.test_rating import token_for
    resp = await client.post(f"{receipt}/rate", data={"token": await token_for(client, other), "score": "5"})
    assert resp.status == 404


async def test_a_report_code_in_the_search_opens_its_page_whatever_its_status(portal: Any) -> None:
    client = portal
    triage = await seed_report(client, status="triage", forwarded=False)
    number = int(triage.rsplit("-", 1)[1])
    for typed in (triage, triage.lower(), f"PA 2026 {number:06d}", f"pa-2026-{number}",
                  f"2026-{number:06d}", f" #{triage} "):
        resp = await client.get("/reports", params={"q": typed}, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == f"/r/{triage}", typed
    hidden = await seed_report(client, description="Nội dung nhạy cảm cần ẩn")
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_report_hidden(session, hidden, True, actor="user:tt.lan", reason="riêng tư")
    answers = []
    for code in (hidden, "PA-2026-999999"):
        resp = await client.get("/reports", params={"q": code}, allow_redirects=False)
        text = await resp.text()
        assert resp.status == 404 and f"Không tìm thấy phản ánh mã <strong class=\"code\">{code}" in text
        assert "nhạy cảm" not in text
        answers.append(text.replace(code, "CODE"))
    assert answers[0] == answers[1]  # a hidden report reads like a missing one
    # an ordinary search still searches
    resp = await client.get("/reports", params={"q": "ổ gà 2026"}, allow_redirects=False)
    assert resp.status == 200 and re.search(r"\d+ phản ánh", await resp.text())


async def test_an_open311_clients_token_opens_no_receipt_and_the_form_takes_only_its_own_keys(
        portal: Any) -> None:
    """An anonymous Open311 POST keyed "1" (or a UUID) is a web-channel inbox row too; its
    token must not open the citizen's receipt nor its one-time rating form."""
    client = portal
    open311 = {"service_code": "environment", "description": "Rác ở chợ Đông Ba",
               "address_string": "chợ Đông Ba, phường Phú Xuân"}
    keys = ["1", "0123456789abcdef0123456789abcdef", "a1b2c3d4-e5f6-4711-8899-aabbccddeeff"]
    codes = []
    for key in keys:
        resp = await client.post("/open311/v2/requests.json", data=open311, headers={"Idempotency-Key": key})
        assert resp.status == 201, await resp.text()
        codes.append(await sent_code_of_token(client, key))
    for code in codes:  # resolved: a rating link exists for each
        agency = await token(client, (await report(client, code)).agency_id)
        assert (await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                                  json={"status": "resolved", "note": "xong"})).status == 200
    for key in keys:
        assert (await client.get(f"/report/sent/{key}")).status == 404, key
        assert (await client.post(f"/report/sent/{key}/rate", data={"score": "1"})).status == 404, key
    assert [(await report(client, code)).rating_score for code in codes] == [None] * len(codes)
    # the form takes only the 32-hex key its page gave: any other is refused, nothing stored
    from sqlalchemy import func, select

    from store.models import InboxEvent

    async def rows() -> int:
        async with client.app[HUB_KEY].sessions() as session:
            return (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one()
    before = await rows()
    for key in ("1", "form-1", "0123456789ABCDEF0123456789ABCDEF", "ab" * 20):
        resp = await client.post("/report", data=multipart({**FORM, "form_key": key}), allow_redirects=False)
        text = await resp.text()
        assert resp.status == 400 and "Biểu mẫu gửi lên không hợp lệ" in text, key
        assert FORM["description"] in text  # what was typed is kept
        fresh = re.search(r'name="form_key" value="([0-9a-f]{32})"', text)
        assert fresh and fresh.group(1) != key
    assert await rows() == before
    # ... and the portal's own flow still works: the fresh key sends, its receipt opens
    resp = await client.post("/report", data=multipart({**FORM, "form_key": fresh.group(1)}),
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/report/sent/form-{fresh.group(1)}"
    assert (await client.get(resp.headers["Location"])).status == 200


async def sent_code_of_token(client: Any, key: str) -> str:
    from sqlalchemy import select

    from store.models import InboxEvent, Report
    from tests.conftest import wait_for
    from tests.portal.conftest import run_portal_jobs

    async def code() -> str | None:
        await run_portal_jobs(client)
        async with client.app[HUB_KEY].sessions() as session:
            return (await session.execute(select(Report.code).join(
                InboxEvent, InboxEvent.report_id == Report.id).where(
                InboxEvent.channel == "web", InboxEvent.external_id == key))).scalar()
    return await wait_for(code)


async def test_a_used_pending_key_never_blocks_a_different_report(portal: Any) -> None:
    """The 303 after a stored submission is lost (the cookie keeps its key K), or another tab
    sent K: a different report is sent all the same, the same report still lands on the first
    receipt, and the typed text is never lost."""
    client = portal
    jar = client.session.cookie_jar
    key = await form_key(client)
    first = await client.post("/report", data=multipart({**FORM, "form_key": key}), allow_redirects=False)
    assert first.status == 303
    receipt = first.headers["Location"]
    # the answer never arrived: the browser still has only the pending cookie K
    jar.clear()
    jar.update_cookies({"pa_form": key})
    # another tab opened before holds K too: a different report sent with it comes back with
    # what was typed and a new key (also the cookie's), and pressing send again sends it
    other = {**FORM, "category": "traffic_infrastructure", "description": "Đèn tín hiệu ngã tư Hùng Vương hỏng"}
    resp = await client.post("/report", data=multipart({**other, "form_key": key}), allow_redirects=False)
    text = await resp.text()
    assert resp.status == 409 and other["description"] in text and "lần nữa" in text
    fresh = re.search(r'name="form_key" value="([0-9a-f]{32})"', text).group(1)
    assert fresh != key and jar.filter_cookies(client.make_url("/report"))["pa_form"].value == fresh
    again = await client.post("/report", data=multipart({**other, "form_key": fresh}), allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == f"/report/sent/form-{fresh}"
    # the same report with K is still the first one
    same = await client.post("/report", data=multipart({**FORM, "form_key": key}), allow_redirects=False)
    assert same.status == 303 and same.headers["Location"] == receipt
    # reloading the form with the used K in the cookie gives a new key
    jar.clear()
    jar.update_cookies({"pa_form": key})
    reloaded = await form_key(client)
    assert reloaded != key
    third = {**FORM, "description": "Cây đổ chắn đường kiệt 5 Phan Bội Châu"}
    resp = await client.post("/report", data=multipart({**third, "form_key": reloaded}), allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/report/sent/form-{reloaded}"
    # ... and after such a reload the first report sent again still lands on its receipt
    jar.clear()
    jar.update_cookies({"pa_form": key})
    reloaded = await form_key(client)
    same = await client.post("/report", data=multipart({**FORM, "form_key": reloaded}), allow_redirects=False)
    assert same.status == 303 and same.headers["Location"] == receipt
    from sqlalchemy import func, select

    from store.models import InboxEvent
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 3
