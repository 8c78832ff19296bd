"""The one-time rating link (issue 15's router.rating) on the public report page: a form for
citizens who cannot answer on their channel (SMS, hotline, web); the comment is public, masked."""
from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from router.rating import issue_rating_token
from store.models import Report
from tests.portal.conftest import seed_report


async def token_for(client: Any, code: str) -> str:
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        return await issue_rating_token(session, report)


async def test_rating_link_shows_a_form_that_rates_once(portal: Any) -> None:
    client = portal
    code = await seed_report(client, status="resolved", name="Phạm Văn Hùng", phone="+84905111222",
                             notes={"resolved": "Đã vá xong"})
    token = await token_for(client, code)
    page = await client.get(f"/r/{code}?rate={token}")
    text = await page.text()
    assert page.status == 200 and 'action="/r/' + code + '/rate"' in text and 'name="score"' in text
    assert '<meta name="robots" content="noindex">' in text
    assert f'<link rel="canonical" href="http://hub.test/r/{code}">' in text  # the token never in it
    assert 'name="score"' not in await (await client.get(f"/r/{code}")).text()  # only with the link
    # no score chosen: the form again, with the reason
    resp = await client.post(f"/r/{code}/rate", data={"token": token, "comment": "x"}, allow_redirects=False)
    assert resp.status == 400 and "từ 1 đến 5" in await resp.text() and 'name="score"' in await resp.text()
    resp = await client.post(f"/r/{code}/rate", data={
        "token": token, "score": "4", "comment": "Hùng cảm ơn, gọi 0905 111 222 <b>nhanh</b>"},
        allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/r/{code}?rated=1"
    after = await (await client.get(f"/r/{code}?rated=1")).text()
    shown = html.unescape(after)
    assert "Cảm ơn bạn đã đánh giá" in shown and "4/5" in shown
    assert "*** cảm ơn, gọi 090*****22 <b>nhanh</b>" in shown and "&lt;b&gt;" in after
    assert not re.search(r"\bHùng\b", shown) and "0905 111 222" not in shown
    async with client.app[HUB_KEY].sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
    assert (report.rating_score, report.rating_comment) == (4, "Hùng cảm ơn, gọi 0905 111 222 <b>nhanh</b>")
    # counted for the agency at once
    stats = await (await client.get("/api/public/stats")).json()
    [env] = [a for a in stats["agencies"] if a["agency"] == "moi-truong"]
    assert env["satisfaction"] == {"average": 4.0, "ratings": 1}
    # the link is spent; a wrong one is unknown; another report's is not this one's
    again = await client.post(f"/r/{code}/rate", data={"token": token, "score": "1"}, allow_redirects=False)
    assert again.status == 410 and "đã được dùng" in await again.text()
    assert "không còn dùng được" in await (await client.get(f"/r/{code}?rate={token}")).text()
    wrong = await client.post(f"/r/{code}/rate", data={"token": "khong-phai", "score": "5"})
    assert wrong.status == 404 and "không hợp lệ" in await wrong.text()
    other = await seed_report(client, status="resolved")
    other_token = await token_for(client, other)
    resp = await client.post(f"/r/{code}/rate", data={"token": other_token, "score": "5"})
    assert resp.status == 404
