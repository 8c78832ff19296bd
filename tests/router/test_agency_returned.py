"""An agency keeps a read-only record of the reports it returned to the center
(``GET /api/v1/returned``): what it gave back, why and when, and where the report is now. The
report itself stays out of its reach (404 as before), another agency sees none of it, and the
list carries no citizen data."""
from tests.router.helpers import ENV_FORM, ROAD_FORM, post_report, token

REASON = "Thuộc thẩm quyền UBND phường"
CITIZEN_KEYS = {"description", "location", "citizen", "address", "lat", "lon", "contact", "phone"}


async def test_an_agency_lists_what_it_returned_and_where_it_went(settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    env = await post_report(client, ENV_FORM)  # → moi-truong
    kept = await post_report(client, ENV_FORM, description="Rác ùn ứ bốc mùi kiệt 12 Nguyễn Trãi")
    road = await post_report(client, ROAD_FORM)  # → so-xay-dung
    mt, xd, center = (await token(client, "moi-truong"), await token(client, "so-xay-dung"),
                      await token(client, "center"))
    empty = await (await client.get("/api/v1/returned", headers=mt)).json()
    assert empty == {"agency": "moi-truong", "count": 0, "offset": 0, "next_offset": None, "reports": []}

    resp = await client.post(f"/api/v1/reports/{env}/status", headers=mt,
                             json={"status": "returned", "note": REASON})
    assert resp.status == 200
    listed = await (await client.get("/api/v1/returned", headers=mt)).json()
    assert listed["agency"] == "moi-truong" and listed["count"] == 1
    [item] = listed["reports"]
    assert (item["code"], item["category"], item["reason"], item["returned_by"]) == (
        env, "environment", REASON, "moi-truong")
    assert item["returned_at"] and (item["status"], item["agency"], item["rerouted_at"]) == (
        "returned", None, None)
    assert not CITIZEN_KEYS & set(item), item
    assert kept not in {r["code"] for r in listed["reports"]}  # still its own: the queue has it

    # Another agency sees none of it; the center asks for an agency by name.
    other = await (await client.get("/api/v1/returned", headers=xd)).json()
    assert (other["agency"], other["count"], other["reports"]) == ("so-xay-dung", 0, [])
    spoofed = await (await client.get("/api/v1/returned?agency=moi-truong", headers=xd)).json()
    assert spoofed["agency"] == "so-xay-dung" and spoofed["reports"] == []
    assert (await client.get("/api/v1/returned", headers=center)).status == 400
    assert (await client.get("/api/v1/returned?agency=", headers=center)).status == 400
    assert (await client.get("/api/v1/returned?agency=khong-co", headers=center)).status == 404
    seen = await (await client.get("/api/v1/returned?agency=moi-truong", headers=center)).json()
    assert [r["code"] for r in seen["reports"]] == [env]

    # The center sends it to so-xay-dung: the list says so, and since when.
    resp = await client.post(f"/api/v1/reports/{env}/route", headers=center, json={"agency": "so-xay-dung"})
    assert resp.status == 200
    [item] = (await (await client.get("/api/v1/returned", headers=mt)).json())["reports"]
    assert (item["status"], item["agency"], item["reason"]) == ("forwarded", "so-xay-dung", REASON)
    assert item["rerouted_at"] and item["rerouted_at"] >= item["returned_at"]
    # so-xay-dung has it in its queue now, but did not return it
    assert (await (await client.get("/api/v1/returned", headers=xd)).json())["reports"] == []
    assert env in {r["code"] for r in (await (await client.get("/api/v1/queue", headers=xd)).json())["reports"]}

    # Read only: moi-truong can neither read nor act on the report any more.
    for method, path, body in [("get", f"/api/v1/reports/{env}", None),
                               ("post", f"/api/v1/reports/{env}/status", {"status": "in_progress"}),
                               ("post", f"/api/v1/reports/{env}/reply", {"text": "Chúng tôi đã nhận"}),
                               ("post", f"/api/v1/reports/{env}/note", {"note": "ghi chú"})]:
        resp = await getattr(client, method)(path, headers=mt, json=body)
        assert resp.status == 404, (path, resp.status)
    queue = await (await client.get("/api/v1/queue?status=all", headers=mt)).json()
    assert env not in {r["code"] for r in queue["reports"]} and road not in {r["code"] for r in queue["reports"]}


async def test_returned_list_pages(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    mt = await token(client, "moi-truong")
    codes = [await post_report(client, ENV_FORM, description=f"Rác ùn ứ điểm số {i}") for i in range(3)]
    for code in codes:
        resp = await client.post(f"/api/v1/reports/{code}/status", headers=mt,
                                 json={"status": "returned", "note": REASON})
        assert resp.status == 200
    first = await (await client.get("/api/v1/returned?limit=2", headers=mt)).json()
    assert first["count"] == 3 and first["next_offset"] == 2
    second = await (await client.get("/api/v1/returned?limit=2&offset=2", headers=mt)).json()
    assert second["next_offset"] is None
    listed = [r["code"] for r in first["reports"] + second["reports"]]
    assert sorted(listed) == sorted(codes) and listed[0] == codes[-1]  # the latest return first
    assert (await client.get("/api/v1/returned?limit=x", headers=mt)).status == 400


async def test_no_other_hands_note_reaches_the_agency(settings_factory, hub_client, db_url):
    """A report the agency held but did not return itself (the center took it back; an account
    of the agency has since moved elsewhere): it stays in the agency's list, without the
    center's or another agency's note and name."""
    client = await hub_client(settings_factory(db_url))
    code = await post_report(client, ENV_FORM)  # → moi-truong
    mt, center = await token(client, "moi-truong"), await token(client, "center")
    internal = "Trung tâm thu hồi: chờ ý kiến lãnh đạo"
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=center,
                             json={"status": "returned", "note": internal})
    assert resp.status == 200
    listed = await (await client.get("/api/v1/returned", headers=mt)).json()
    [item] = listed["reports"]
    assert item["code"] == code and item["returned_at"]
    assert (item["reason"], item["returned_by"]) == (None, None)
    assert internal not in str(listed) and "center" not in str(listed)
