"""An officer's own API token: what it changes is recorded under their name; an agency-wide
token (``agency-token``) keeps working and is recorded under the agency."""
from __future__ import annotations

from hub.keys import HUB_KEY
from store.account_tokens import issue_account_token
from store.accounts import create_account
from tests.router.helpers import events, post_report, token


async def test_status_change_names_the_officer(settings_factory, hub_client) -> None:
    client = await hub_client(settings_factory())
    hub = client.app[HUB_KEY]
    code = await post_report(client)
    async with hub.sessions() as session, session.begin():
        await create_account(session, "hoa", "agency", "một-mật-khẩu-dài", agency_id="moi-truong",
                             display_name="Lê Thị Hoa", agencies={"moi-truong": "Môi trường"})
    async with hub.sessions() as session, session.begin():
        _, value = await issue_account_token(session, "hoa")
    officer = {"Authorization": f"Bearer {value}"}
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=officer,
                             json={"status": "in_progress", "note": "Đã giao tổ thu gom"})
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=await token(client, "moi-truong"),
                             json={"status": "resolved", "note": "Đã thu gom"})
    assert resp.status == 200
    actors = [(e.status_to, e.actor) for e in await events(client, code, kind="status")]
    assert ("in_progress", "user:hoa") in actors and ("resolved", "moi-truong") in actors
    # Another agency's officer token cannot see it (404, as for a missing code).
    async with hub.sessions() as session, session.begin():
        await create_account(session, "nam", "agency", "một-mật-khẩu-dài", agency_id="so-xay-dung",
                             agencies={"so-xay-dung": "Sở Xây dựng"})
        _, other = await issue_account_token(session, "nam")
    resp = await client.get(f"/api/v1/reports/{code}", headers={"Authorization": f"Bearer {other}"})
    assert resp.status == 404
