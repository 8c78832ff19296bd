"""The agency API: tokens scope what an agency sees; the lifecycle decides what it may do."""
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Callback
from tests.router.helpers import ENV_FORM, ROAD_FORM, events, outbox, post_report, report, token


async def _two_agencies(settings_factory, hub_client, db_url=None):
    client = await hub_client(settings_factory(db_url))
    env = await post_report(client, ENV_FORM)  # → moi-truong
    road = await post_report(client, ROAD_FORM)  # → so-xay-dung
    return client, env, road, await token(client, "moi-truong"), await token(client, "so-xay-dung")


async def test_agencies_cannot_read_or_change_each_others_reports(settings_factory, hub_client, db_url):
    client, env, road, env_auth, road_auth = await _two_agencies(settings_factory, hub_client, db_url)
    missing = await client.get("/api/v1/reports/PA-2000-999999", headers=env_auth)
    assert missing.status == 404
    calls = [
        ("get", f"/api/v1/reports/{road}", None),
        ("post", f"/api/v1/reports/{road}/status", {"status": "in_progress"}),
        ("post", f"/api/v1/reports/{road}/reply", {"text": "Chúng tôi đã nhận"}),
        ("post", f"/api/v1/reports/{road}/note", {"note": "ghi chú"}),
        ("get", f"/api/v1/reports/{road}/attachments/{'0' * 64}", None),
    ]
    for method, path, body in calls:
        resp = await getattr(client, method)(path, headers=env_auth, json=body)
        # the same answer as a code that does not exist: codes cannot be probed
        assert resp.status == 404, (path, resp.status)
        assert await resp.json() == await missing.json()
    assert (await report(client, road)).status == "forwarded"
    assert not [e for e in await events(client, road) if e.actor == "moi-truong"]

    own = await (await client.get("/api/v1/queue", headers=env_auth)).json()
    assert [r["code"] for r in own["reports"]] == [env] and own["agency"] == "moi-truong"
    other = await (await client.get("/api/v1/queue?status=all", headers=road_auth)).json()
    assert [r["code"] for r in other["reports"]] == [road]

    center = await token(client, "center")
    everything = await (await client.get("/api/v1/queue", headers=center)).json()
    assert {r["code"] for r in everything["reports"]} == {env, road}
    detail = await (await client.get(f"/api/v1/reports/{road}", headers=center)).json()
    assert detail["agency"] == "so-xay-dung" and detail["status"] == "forwarded"


async def test_tokens_are_required(settings_factory, hub_client):
    client, env, *_ = await _two_agencies(settings_factory, hub_client)
    for headers in ({}, {"Authorization": "Bearer hub_not-a-token"}, {"Authorization": "Basic x"}):
        resp = await client.get(f"/api/v1/reports/{env}", headers=headers)
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_report_detail_has_citizen_attachments_and_history(settings_factory, hub_client):
    client, env, _, env_auth, _ = await _two_agencies(settings_factory, hub_client)
    data = await (await client.get(f"/api/v1/reports/{env}", headers=env_auth)).json()
    assert data["citizen"]["phone"] == "+84905123456" and data["citizen"]["email"] == "lan@example.vn"
    assert data["attachments"] == [] and data["due_at"]
    assert data["allowed_statuses"] == ["in_progress", "resolved", "returned"]
    assert [e["status"] for e in data["events"] if e["kind"] == "status"] == ["received", "forwarded"]


async def test_illegal_transitions_are_409_with_the_allowed_ones(settings_factory, hub_client, db_url):
    client, env, _, auth, _ = await _two_agencies(settings_factory, hub_client, db_url)
    url = f"/api/v1/reports/{env}/status"

    resp = await client.post(url, json={"status": "closed"}, headers=auth)
    assert resp.status == 409
    body = await resp.json()
    assert body["status"] == "forwarded" and body["allowed"] == ["in_progress", "resolved", "returned"]

    # legal, but the center's to set
    resp = await client.post(url, json={"status": "rejected", "note": "không rõ"}, headers=auth)
    assert resp.status == 403 and "rejected" not in (await resp.json())["allowed"]
    # resolved needs the result
    assert (await client.post(url, json={"status": "resolved"}, headers=auth)).status == 422
    assert (await client.post(url, json={"status": "nonsense"}, headers=auth)).status == 400
    assert (await client.post(url, data=b"{", headers=auth)).status == 400

    resp = await client.post(url, json={"status": "in_progress", "note": "Đã cử tổ thu gom"},
                             headers=auth)
    assert resp.status == 200 and (await resp.json())["previous"] == "forwarded"
    resp = await client.post(url, json={"status": "resolved", "note": "Đã thu gom sạch"}, headers=auth)
    assert resp.status == 200
    resp = await client.post(url, json={"status": "returned", "note": "x"}, headers=auth)
    assert resp.status == 409 and (await resp.json())["allowed"] == ["in_progress"]

    center = await token(client, "center")
    resp = await client.post(url, json={"status": "triage"}, headers=center)
    assert resp.status == 409 and (await resp.json())["allowed"] == ["closed", "in_progress"]
    assert (await client.post(url, json={"status": "closed"}, headers=center)).status == 200
    resp = await client.post(url, json={"status": "in_progress"}, headers=center)
    assert resp.status == 409 and (await resp.json())["allowed"] == []

    history = [(e.actor, e.status_from, e.status_to, e.note) for e in await events(client, env, "status")]
    assert history[-3:] == [("moi-truong", "forwarded", "in_progress", "Đã cử tổ thu gom"),
                            ("moi-truong", "in_progress", "resolved", "Đã thu gom sạch"),
                            ("center", "resolved", "closed", None)]
    texts = [row.payload["text"] for row in await outbox(client, env, purpose="citizen")]
    assert any("đang được Công ty Môi trường đô thị Huế xử lý" in t for t in texts)
    # a web citizen rates by the one-time link (no reply box on the portal)
    assert any("Kết quả: Đã thu gom sạch" in t and "Đánh giá mức độ hài lòng (1–5): http" in t
               and "?rate=" in t for t in texts)
    assert (await report(client, env)).resolved_at is not None


async def test_agency_returns_a_report_to_the_center_queue(settings_factory, hub_client):
    client, env, _, auth, _ = await _two_agencies(settings_factory, hub_client)
    resp = await client.post(f"/api/v1/reports/{env}/status",
                             json={"status": "returned", "note": "Thuộc thẩm quyền phường"}, headers=auth)
    assert resp.status == 200 and (await resp.json())["agency"] is None
    assert (await client.get(f"/api/v1/reports/{env}", headers=auth)).status == 404
    center = await token(client, "center")
    queue = await (await client.get("/api/v1/queue?status=returned", headers=center)).json()
    assert [r["code"] for r in queue["reports"]] == [env]
    texts = [row.payload["text"] for row in await outbox(client, env, purpose="citizen")]
    assert "đang được Trung tâm xem xét" in texts[-1]


async def test_center_routes_rejects_and_merges(settings_factory, hub_client, db_url):
    client, env, road, env_auth, road_auth = await _two_agencies(settings_factory, hub_client, db_url)
    center = await token(client, "center")
    # agencies cannot route
    assert (await client.post(f"/api/v1/reports/{env}/route", json={"agency": "so-xay-dung"},
                              headers=env_auth)).status == 403
    bad = await client.post(f"/api/v1/reports/{env}/route", json={"agency": "nobody"}, headers=center)
    assert bad.status == 422

    resp = await client.post(f"/api/v1/reports/{env}/route",
                             json={"category": "urban_infrastructure"}, headers=center)
    assert resp.status == 200
    assert (await resp.json())["agency"] == "so-xay-dung"
    assert (await client.get(f"/api/v1/reports/{env}", headers=env_auth)).status == 404
    moved = await (await client.get(f"/api/v1/reports/{env}", headers=road_auth)).json()
    assert moved["category"] == "urban_infrastructure" and moved["status"] == "forwarded"
    texts = [row.payload["text"] for row in await outbox(client, env, purpose="citizen")]
    assert "đã được chuyển lại đến Sở Xây dựng" in texts[-1]

    # duplicate needs an existing other report
    url = f"/api/v1/reports/{road}/status"
    assert (await client.post(url, json={"status": "duplicate", "duplicate_of": road},
                              headers=center)).status == 422
    resp = await client.post(url, json={"status": "duplicate", "duplicate_of": env}, headers=center)
    assert resp.status == 200 and (await resp.json())["duplicate_of"] == env
    texts = [row.payload["text"] for row in await outbox(client, road, purpose="citizen")]
    assert f"trùng với phản ánh {env}" in texts[-1]

    url = f"/api/v1/reports/{env}/status"
    assert (await client.post(url, json={"status": "rejected"}, headers=center)).status == 422
    resp = await client.post(url, json={"status": "rejected", "note": "Nội dung không rõ ràng"},
                             headers=center)
    assert resp.status == 200
    texts = [row.payload["text"] for row in await outbox(client, env, purpose="citizen")]
    assert texts[-1].endswith("Lý do: Nội dung không rõ ràng")


async def test_reply_and_note_are_recorded_and_the_reply_is_queued(settings_factory, hub_client):
    client, env, _, auth, _ = await _two_agencies(settings_factory, hub_client)
    resp = await client.post(f"/api/v1/reports/{env}/reply", json={"text": "Chiều nay tổ sẽ đến"},
                             headers=auth)
    assert resp.status == 202
    body = await resp.json()
    assert body["queued"] and body["channel"] == "web"
    [row] = [r for r in await outbox(client, env) if r.id == body["outbox_id"]]
    assert row.payload["text"] == (f"Công ty Môi trường đô thị Huế phản hồi về phản ánh {env}: "
                                   "Chiều nay tổ sẽ đến")
    assert (await client.post(f"/api/v1/reports/{env}/reply", json={}, headers=auth)).status == 400
    assert (await client.post(f"/api/v1/reports/{env}/note", json={"note": "Cần xe ép rác"},
                              headers=auth)).status == 201
    kinds = [(e.kind, e.actor, e.note) for e in await events(client, env)]
    assert ("reply", "moi-truong", "Chiều nay tổ sẽ đến") in kinds
    assert ("note", "moi-truong", "Cần xe ép rác") in kinds


async def test_callback_list_is_for_the_center(settings_factory, hub_client):
    client, env, _, auth, _ = await _two_agencies(settings_factory, hub_client)
    hub = client.app[HUB_KEY]
    rep = await report(client, env)
    async with hub.sessions() as session, session.begin():
        session.add(Callback(report_id=rep.id, phone="+84905123456", text="Gọi báo kết quả",
                             reason="test"))
    assert (await client.get("/api/v1/callbacks", headers=auth)).status == 403
    center = await token(client, "center")
    [entry] = (await (await client.get("/api/v1/callbacks", headers=center)).json())["callbacks"]
    assert entry["report_code"] == env and entry["phone"] == "+84905123456"
    resp = await client.post(f"/api/v1/callbacks/{entry['id']}/done", json={"outcome": "đã báo"},
                             headers=center)
    assert resp.status == 200 and (await resp.json())["outcome"] == "đã báo"
    assert (await (await client.get("/api/v1/callbacks", headers=center)).json())["callbacks"] == []
    assert (await client.post("/api/v1/callbacks/999/done", headers=center)).status == 404
    async with hub.sessions() as session:
        done = (await session.execute(select(Callback))).scalar_one()
    assert done.done_by == "center"


async def test_the_rules_do_not_send_a_report_back_to_the_agency_that_returned_it(
        settings_factory, hub_client):
    """Agency walkthrough: after moi-truong returned a report as not theirs, the center's
    'route with this category, rules choose' sent it straight back to moi-truong, with a new
    deadline and no word. It now stays with the center (triage), which may still name it."""
    client, env, _, auth, _ = await _two_agencies(settings_factory, hub_client)
    resp = await client.post(f"/api/v1/reports/{env}/status", headers=auth,
                             json={"status": "returned", "note": "Thuộc thẩm quyền phường"})
    assert resp.status == 200
    center = await token(client, "center")
    resp = await client.post(f"/api/v1/reports/{env}/route", headers=center,
                             json={"category": "environment"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["agency"] is None
    rep = await report(client, env)
    assert rep.status == "triage" and rep.agency_id is None
    notes = [e.note for e in await events(client, env, "status")]
    assert "moi-truong đã trả lại phản ánh này" in notes[-1]
    # nor when text the citizen adds later routes it out of triage by the rules
    from hub.keys import HUB_KEY
    from router.assign import route_new_report
    from store.models import Report

    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        rep = await session.get(Report, rep.id)
        assert await route_new_report(hub, session, rep, from_triage=True) is None
        assert rep.status == "triage"
    resp = await client.post(f"/api/v1/reports/{env}/route", headers=center,
                             json={"agency": "moi-truong"})  # named: the center's call
    assert resp.status == 200 and (await resp.json())["agency"] == "moi-truong"
