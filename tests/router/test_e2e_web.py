"""Web portal (Open311) end to end: POST → report → routed → the agency changes status through the
API → the citizen's update is queued and sent on the web channel (its status page), and the
public views follow."""
from tests.conftest import wait_for
from tests.router.helpers import ENV_FORM, events, outbox, post_report, report, token


async def test_open311_report_is_routed_worked_and_the_citizen_notified(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    code = await post_report(client, ENV_FORM)
    rep = await report(client, code)
    assert (rep.status, rep.agency_id, rep.category) == ("forwarded", "moi-truong", "environment")
    auth = await token(client, "moi-truong")
    queue = await (await client.get("/api/v1/queue", headers=auth)).json()
    assert [r["code"] for r in queue["reports"]] == [code]

    for status, note, expected in (
            ("in_progress", "Đã giao tổ vệ sinh số 3",
             f"Phản ánh {code} đang được Công ty Môi trường đô thị Huế xử lý."),
            ("resolved", "Đã thu gom toàn bộ rác",
             f"Phản ánh {code} đã được Công ty Môi trường đô thị Huế xử lý xong.\n"
             "Kết quả: Đã thu gom toàn bộ rác\n"
             f"Đánh giá mức độ hài lòng (1–5): http://hub.test/r/{code}?rate=")):
        resp = await client.post(f"/api/v1/reports/{code}/status", json={"status": status, "note": note},
                                 headers=auth)
        assert resp.status == 200

        async def sent(status=status):
            rows = await outbox(client, code, purpose="citizen", template=status)
            return rows if rows and rows[0].state == "sent" else None
        [row] = await wait_for(sent)
        # (the rating link ends with its one-time token)
        assert row.channel == "web" and row.payload["text"].startswith(expected)
        assert row.provider_id == f"status-page:{code}"

    notes = [e.note for e in await events(client, code, "notification")]
    assert "đã gửi qua web (in_progress)" in notes and "đã gửi qua web (resolved)" in notes
    public = await (await client.get(f"/api/public/reports/{code}")).json()
    assert public["status"] == "resolved"
    assert [e["status"] for e in public["events"]] == ["received", "forwarded", "in_progress", "resolved"]
    [request] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert request["status"] == "closed" and request["agency_responsible"] == "moi-truong"
    page = await (await client.get(f"/r/{code}")).text()
    assert "Đã xử lý xong" in page and "Đã thu gom toàn bộ rác" in page
