"""The page of a report the center never forwarded, as the citizen holding its code reads it
(walkthrough: a web citizen whose report was refused from triage read only "Không tiếp nhận"
and "will be published when forwarded" — never the reason the center wrote for them; a merged
one never learned which report it joined)."""
from __future__ import annotations

import html
from typing import Any

from sqlalchemy import select, update

from hub.keys import HUB_KEY
from store.models import Report
from store.public_reports import set_report_hidden
from tests.portal.conftest import seed_report


async def _page(client: Any, code: str) -> str:
    resp = await client.get(f"/r/{code}")
    assert resp.status == 200, await resp.text()
    return html.unescape(await resp.text())


async def test_a_refused_report_shows_the_centers_reason_masked(portal: Any) -> None:
    client = portal
    code = await seed_report(client, status="rejected", agency=None, forwarded=False,
                             name="Trần Thị Mai", phone="0905999888",
                             description="Nhà bà Mai hàng xóm đổ rác đêm khuya",
                             notes={"rejected": "Nội dung không đủ thông tin để xác minh; chị "
                                               "Trần Thị Mai (0905 999 888) vui lòng gửi kèm ảnh."})
    page = await _page(client, code)
    assert "Không tiếp nhận" in page and "Lý do:" in page
    assert "Nội dung không đủ thông tin để xác minh" in page and "(090*****88)" in page
    assert "0905 999 888" not in page and "Trần Thị Mai" not in page  # masked as everywhere
    assert "đổ rác đêm khuya" not in page  # the report itself stays unpublished
    assert "sẽ được công khai khi Trung tâm chuyển" not in page  # it will not be forwarded


async def test_a_report_in_triage_says_it_will_be_published_once_forwarded(portal: Any) -> None:
    code = await seed_report(portal, status="triage", agency=None, forwarded=False)
    page = await _page(portal, code)
    assert "sẽ được công khai khi Trung tâm chuyển" in page and "Lý do:" not in page


async def test_a_merged_report_links_the_one_it_joined(portal: Any) -> None:
    client = portal
    original = await seed_report(client, status="triage", agency=None, forwarded=False)
    dup = await seed_report(client, status="duplicate", agency=None, forwarded=False)
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.code == dup).values(duplicate_of=original))
    page = await _page(client, dup)
    assert f'trùng với phản ánh <a href="/r/{original}" class="code">{original}</a>' in page
    assert (await client.get(f"/r/{original}")).status == 200  # the link leads somewhere
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_report_hidden(session, original, True, actor="tt.lan", reason="thông tin cá nhân")
    # hidden, the one it joined still answers with its status (no link to a 404)
    assert (await client.get(f"/r/{original}")).status == 200
    assert f'href="/r/{original}"' in await _page(client, dup)


async def test_a_hidden_report_keeps_its_citizens_updates_and_rating_link(portal: Any) -> None:
    """Walkthrough: hiding a web citizen's report made /r/CODE a 404 saying the code was wrong,
    though that page is where a web citizen reads the agency's reply and rates the result."""
    from router.rating import issue_rating_token

    client = portal
    code = await seed_report(client, status="resolved", agency="moi-truong",
                             description="Nhà ông Hùng số 5 xả nước thải", name="Lê Văn Hùng",
                             notes={"resolved": "Đã nhắc hộ gia đình khắc phục, ông Lê Văn Hùng đã sửa."})
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_report_hidden(session, code, True, actor="tt.lan", reason="thông tin cá nhân")
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        token = await issue_rating_token(session, report)
    page = await _page(client, code)
    assert "Đã xử lý xong" in page and "Kết quả:" in page and "Đã nhắc hộ gia đình khắc phục" in page
    assert "Hùng" not in page and "xả nước thải" not in page  # masked; the report text unpublished
    assert "không được công khai" in page and "sẽ được công khai" not in page
    page = await _page(client, f"{code}?rate={token}")
    assert f'action="/r/{code}/rate"' in page
    resp = await client.post(f"/r/{code}/rate", data={"token": token, "score": "4"},
                             allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert "Cảm ơn bạn đã đánh giá" in await _page(client, f"{code}?rated=1")
