"""POST /api/v1/reports/{code}/reply to a citizen no channel reaches (a hotline caller, no SMS
gateway): the message goes onto the operators' call-back list, and the answer says so —
``"queued": true, "channel": "callback"`` and the entry's ``callback_id`` — where it said
``{"queued": false, "channel": null}``, as if nothing had been sent."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from channels.hotline.importer import import_file, reader_options
from hub.keys import HUB_KEY
from store.models import Report
from tests.conftest import wait_for
from tests.router.helpers import ENV_FORM, post_report, token

HUE = timezone(timedelta(hours=7))


async def test_a_reply_to_a_hotline_caller_goes_onto_the_call_back_list(settings_factory, hub_client,
                                                                        tmp_path, db_url):
    client = await hub_client(settings_factory(db_url, channels={"hotline": {"enabled": True}}))
    hub = client.app[HUB_KEY]
    when = (datetime.now(HUE) - timedelta(minutes=5)).isoformat(timespec="seconds")
    export = tmp_path / "calls.csv"
    export.write_text("Call ID,Call time,Caller,Agent,Transcript,Address,Category\n"
                      f'CC-9002,{when},0905 123 456,Lan,"Rác thải ùn ứ ở kiệt 12 Trần Phú, bốc mùi",'
                      "12 Trần Phú,environment\n", encoding="utf-8")
    summary = await import_file(hub.intake.submit_many, export,
                                reader_options(hub.settings.channels.hotline))
    assert summary.imported == 1

    async def code():
        async with hub.sessions() as session:
            return (await session.execute(select(Report.code).where(Report.channel == "hotline"))).scalar()
    code = await wait_for(code)
    agency, center = await token(client, "moi-truong"), await token(client, "center")

    resp = await client.post(f"/api/v1/reports/{code}/reply", json={"text": "Chiều nay tổ sẽ đến"},
                             headers=agency)
    assert resp.status == 202
    body = await resp.json()
    assert body["queued"] is True and body["channel"] == "callback" and body["outbox_id"] is None
    [entry] = (await (await client.get("/api/v1/callbacks", headers=center)).json())["callbacks"]
    assert body["callback_id"] == entry["id"] and "Chiều nay tổ sẽ đến" in entry["text"]
    # worded to be read out, asking what the caller says (Vietnamese review)
    assert entry["text"].endswith("Xin ông/bà cho biết ý kiến để Trung tâm chuyển lại đơn vị.")

    # A second message joins the open entry: the same call-back.
    resp = await client.post(f"/api/v1/reports/{code}/reply", json={"text": "Cần thêm ảnh"},
                             headers=agency)
    assert (await resp.json())["callback_id"] == entry["id"]

    # A citizen a channel reaches: the outbox row, as before, and no call-back.
    web = await post_report(client, ENV_FORM)
    body = await (await client.post(f"/api/v1/reports/{web}/reply", json={"text": "Đã nhận"},
                                    headers=agency)).json()
    assert body["queued"] is True and body["channel"] == "web" and body["outbox_id"]
    assert body["callback_id"] is None
