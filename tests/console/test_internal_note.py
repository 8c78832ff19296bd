"""An agency officer's progress note ("Đã cử xe, dự kiến xong thứ Hai") has its own form, "Ghi
chú nội bộ", which does what the agency API's /note does: a private event, no message, no status
change. The status select starts empty, and an empty status is refused: before, the only note box
was the status form's, whose only choice on an in-progress report was "Đã xử lý xong" — the
progress note resolved the report and asked the citizen for a rating."""
from __future__ import annotations

import re

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import OutboxMessage
from tests.console.test_actions import Officer, hub_with_officers
from tests.router.helpers import events, post_report, report

NOTE = "Đã cử xe, dự kiến xong thứ Hai"


async def _messages(client, code: str) -> list[str]:
    r = await report(client, code)
    async with client.app[HUB_KEY].sessions() as session:
        return list((await session.execute(select(OutboxMessage.template).where(
            OutboxMessage.report_id == r.id))).scalars())


async def test_a_progress_note_neither_resolves_nor_messages(settings_factory, hub_client) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client)
    hoa, nam = Officer(client, "mt.hoa"), Officer(client, "xd.nam")
    resp = await hoa.post(f"/console/reports/{code}/status", {"status": "in_progress"})
    assert resp.status == 303
    sent = await _messages(client, code)

    _, html = await hoa.page(f"/console/reports/{code}")
    status_form = html[html.index('/status" class="action">'):]
    status_form = status_form[:status_form.index("</form>")]
    assert re.search(r'<select [^>]*name="status"[^>]*>\s*<option value=""[^>]*>— chọn trạng thái —</option>',
                     status_form)
    assert 'name="status" required' in status_form
    assert ' selected' not in status_form  # nothing chosen for the officer
    assert f'action="/console/reports/{code}/note"' in html and "Ghi chú nội bộ" in html

    # The status form sent without a choice (what a browser without `required` does): refused.
    resp = await hoa.post(f"/console/reports/{code}/status", {"status": "", "note": NOTE})
    text = await resp.text()
    assert resp.status == 400 and "Hãy chọn trạng thái mới." in text
    assert NOTE in text  # the note typed is kept in the form
    assert (await report(client, code)).status == "in_progress"

    # The note form: a private event by the officer; no status change, no message.
    resp = await hoa.post(f"/console/reports/{code}/note", {"note": NOTE}, page=f"/console/reports/{code}")
    assert resp.status == 303 and resp.headers["Location"].endswith("?done=note#action-done")
    assert "Đã lưu ghi chú nội bộ." in (await hoa.page(resp.headers["Location"]))[1]
    r = await report(client, code)
    assert r.status == "in_progress"
    assert [(e.actor, e.note, e.public) for e in await events(client, code, "note")
            if e.note == NOTE] == [("user:mt.hoa", NOTE, False)]
    assert await _messages(client, code) == sent
    assert NOTE in (await hoa.page(f"/console/reports/{code}"))[1]  # on the officers' timeline

    # Empty: refused; another agency: the same 404 as for a code that does not exist.
    resp = await hoa.post(f"/console/reports/{code}/note", {"note": " "})
    assert resp.status == 400 and "ghi chú nội bộ" in await resp.text()
    resp = await nam.post(f"/console/reports/{code}/note", {"note": "x"})
    assert resp.status == 404
    for username in ("td.minh", "ld.giam-doc"):  # the API's /note is the agencies' and the center's
        resp = await Officer(client, username).post(f"/console/reports/{code}/note", {"note": "x"})
        assert resp.status == 403, username
    assert len([e for e in await events(client, code, "note") if e.actor.startswith("user:")]) == 1
