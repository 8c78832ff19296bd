"""A form that messages the citizen (reply, status with note, return, reject) acts once when it
is sent twice — a double click, a retry, two requests at the same time: its one-time token."""
from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import OutboxMessage
from tests.console.conftest import csrf_of, login
from tests.router.helpers import events, post_report, report


async def _agency_replies(client: Any, code: str) -> int:
    r = await report(client, code)
    async with client.app[HUB_KEY].sessions() as session:
        rows = (await session.execute(select(OutboxMessage.template).where(
            OutboxMessage.report_id == r.id, OutboxMessage.template == "agency_reply"))).scalars()
        return len(list(rows))


def _token(html: str, action: str) -> str:
    form = html[html.index(f'/{action}" class="action">'):]
    return re.search(r'name="form_token" value="([^"]+)"', form).group(1)


async def test_the_same_form_sent_twice_acts_once(settings_factory, hub_client) -> None:
    from tests.console.test_actions import hub_with_officers

    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client)
    assert (await report(client, code)).agency_id == "moi-truong"
    await login(client, "mt.hoa")
    html = await (await client.get(f"/console/reports/{code}")).text()
    csrf = csrf_of(html)

    reply = {"csrf_token": csrf, "text": "Chúng tôi đã nhận, sẽ xử lý trong tuần",
             "form_token": _token(html, "reply")}
    answers = await asyncio.gather(*[client.post(f"/console/reports/{code}/reply", data=reply,
                                                 allow_redirects=False) for _ in range(2)])
    assert [a.status for a in answers] == [303, 303]
    assert all("done=reply" in a.headers["Location"] for a in answers)
    assert len(await events(client, code, "reply")) == 1
    assert await _agency_replies(client, code) == 1

    status = {"csrf_token": csrf, "status": "in_progress", "note": "Đã cử đội đến",
              "form_token": _token(html, "status")}
    answers = [await client.post(f"/console/reports/{code}/status", data=status,
                                 allow_redirects=False) for _ in range(2)]
    assert [a.status for a in answers] == [303, 303]
    assert [e.status_to for e in await events(client, code, "status")].count("in_progress") == 1

    # Another form (a new token from a new page) is another reply.
    html = await (await client.get(f"/console/reports/{code}")).text()
    resp = await client.post(f"/console/reports/{code}/reply", allow_redirects=False, data={
        **reply, "form_token": _token(html, "reply")})
    assert resp.status == 303
    assert len(await events(client, code, "reply")) == 2
    assert await _agency_replies(client, code) == 2
