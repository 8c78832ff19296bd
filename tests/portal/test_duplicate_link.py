"""A merged report's public page points the citizen at the report being handled (walkthrough:
it said "trùng với một phản ánh khác" with no way to find which), unless that one is not public."""
from __future__ import annotations

from typing import Any

from tests.portal.test_timeline_reroute import MT, _forwarded_to, _hub, _public_page
from tests.router.helpers import ENV_FORM, post_report, token


async def test_duplicate_page_links_the_original_when_it_is_public(settings_factory: Any,
                                                                    hub_client: Any) -> None:
    client = await _hub(settings_factory, hub_client)
    original = await post_report(client, ENV_FORM)
    dup = await post_report(client, ENV_FORM, description="Rác ùn ứ bốc mùi kiệt 12 Nguyễn Trãi")
    for code in (original, dup):
        await _forwarded_to(client, code, MT)
    center = await token(client, "center")
    resp = await client.post(f"/api/v1/reports/{dup}/status", headers=center,
                             json={"status": "duplicate", "duplicate_of": original})
    assert resp.status == 200, await resp.text()
    html = await _public_page(client, dup)
    assert f'Phản ánh này trùng với phản ánh <a href="/r/{original}">{original}</a>' in html
    assert "Phản ánh này trùng với" not in await _public_page(client, original)
    # the original hidden from the public: no link to a page that would be a 404
    from hub.keys import HUB_KEY
    from store.public_reports import set_report_hidden

    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_report_hidden(session, original, True, actor="tt.lan", reason="thông tin cá nhân")
    assert "Phản ánh này trùng với" not in await _public_page(client, dup)
