"""Hotline end to end: a call-center export → report → routed → the agency works it through the
API → the citizen's phone gets the Vietnamese update through the SMS gateway; when the gateway
refuses, the update lands on the operators' call-back list."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from channels.hotline.importer import import_file, reader_options
from hub.keys import HUB_KEY
from store.models import Report
from tests.conftest import wait_for
from tests.router.helpers import outbox, token

HUE = timezone(timedelta(hours=7))


async def test_hotline_caller_gets_sms_updates_then_a_call_back(settings_factory, hub_client, fake_api,
                                                               tmp_path):
    sms = await fake_api()
    sms.on("POST", "/send", default={"id": "sms-ok"})
    client = await hub_client(settings_factory(channels={"hotline": {
        "enabled": True, "sms_gateway_url": f"{sms.url}/send", "sms_max_chars": 480}}))
    hub = client.app[HUB_KEY]
    when = (datetime.now(HUE) - timedelta(minutes=5)).isoformat(timespec="seconds")
    export = tmp_path / "calls.csv"
    export.write_text("Call ID,Call time,Caller,Agent,Transcript,Address,Category\n"
                      f'CC-9001,{when},0905 123 456,Lan,"Rác thải ùn ứ ở kiệt 12 Trần Phú, bốc mùi",'
                      "12 Trần Phú,environment\n", encoding="utf-8")
    summary = await import_file(hub.intake.submit_many, export, reader_options(hub.settings.channels.hotline))
    assert (summary.imported, summary.error) == (1, None)

    async def code():
        async with hub.sessions() as session:
            return (await session.execute(select(Report.code))).scalar()
    code = await wait_for(code)
    [ack] = await wait_for(lambda: _calls(sms, 1))
    assert ack.json()["to"] == "+84905123456" and code in ack.json()["text"]
    assert (await (await client.get(f"/api/public/reports/{code}")).json())["agency"] == "moi-truong"

    agency = await token(client, "moi-truong")
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "in_progress", "note": "Đã giao tổ thu gom"}, headers=agency)
    assert resp.status == 200
    calls = await wait_for(lambda: _calls(sms, 2))
    # SMS texts are the short variants (router/templates.py "<name>@sms")
    assert calls[-1].json()["text"] == f"Phản ánh đang được xử lý. Tra cứu: hub.test/r/{code}"

    sms.on("POST", "/send", default=(400, {"error": "invalid destination"}))
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "resolved", "note": "Đã thu gom"}, headers=agency)
    assert resp.status == 200
    center = await token(client, "center")

    async def listed():
        entries = (await (await client.get("/api/v1/callbacks", headers=center)).json())["callbacks"]
        return entries or None
    [entry] = await wait_for(listed)
    assert entry["report_code"] == code and entry["phone"] == "+84905123456"
    # What the operator reads out (resolved@callback), not the SMS text that failed: no link;
    # the operator asks for the rating and records it with the call (docs/console.md).
    assert entry["text"] == (
        f"Phản ánh {code} đã được Công ty Môi trường đô thị Huế xử lý xong. Kết quả: Đã thu gom\n"
        "Xin ông/bà cho biết mức độ hài lòng từ 1 đến 5 (5 là rất hài lòng).")
    assert "HTTP 400" in entry["reason"]
    [row] = await outbox(client, code, template="resolved")
    # The SMS route refused it: the row is dead and the router's chain put the caller on the list.
    assert row.channel == "hotline" and row.state == "dead" and "HTTP 400" in row.last_error


async def _calls(api, count):
    calls = api.calls_to("/send")
    return calls if len(calls) >= count else None


async def test_a_caller_is_not_asked_by_sms_for_what_they_cannot_send(settings_factory, hub_client,
                                                                      fake_api, tmp_path):
    """Vietnamese review: a call logged without an address got 'vui lòng gửi thêm địa chỉ…'
    under its SMS receipt (three SMS instead of one), which no caller can answer by SMS."""
    sms = await fake_api()
    sms.on("POST", "/send", default={"id": "sms-ok"})
    client = await hub_client(settings_factory(channels={"hotline": {
        "enabled": True, "sms_gateway_url": f"{sms.url}/send"}}))
    hub = client.app[HUB_KEY]
    when = (datetime.now(HUE) - timedelta(minutes=5)).isoformat(timespec="seconds")
    export = tmp_path / "calls.csv"
    export.write_text("Call ID,Call time,Caller,Agent,Transcript,Address\n"
                      f"CC-9002,{when},0905 123 456,Lan,Rác thải ùn ứ bốc mùi,\n", encoding="utf-8")
    summary = await import_file(hub.intake.submit_many, export,
                                reader_options(hub.settings.channels.hotline))
    assert summary.imported == 1
    [ack] = await wait_for(lambda: _calls(sms, 1))
    text = ack.json()["text"]
    assert "địa chỉ" not in text and "(1/" not in text, text  # one SMS, the receipt alone
