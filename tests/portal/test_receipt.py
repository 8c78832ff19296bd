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
