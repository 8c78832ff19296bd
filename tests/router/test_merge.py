"""Merging a report into another (status duplicate) over the agency API: the original must be
another existing report that is not itself a duplicate, so merges make no chain and no cycle, and
a report reopened from duplicate is nobody's duplicate any more."""
from tests.router.helpers import ENV_FORM, post_report, report, token


async def _status(client, center, code, **body):
    return await client.post(f"/api/v1/reports/{code}/status", json=body, headers=center)


async def test_merges_make_no_cycle_and_no_chain(settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    first = await post_report(client, ENV_FORM)
    second = await post_report(client, ENV_FORM, description="Rác ùn ứ bốc mùi kiệt 12 Nguyễn Trãi")
    third = await post_report(client, ENV_FORM, description="Rác đổ trộm kiệt 14 Nguyễn Trãi")
    center = await token(client, "center")

    resp = await _status(client, center, second, status="duplicate", duplicate_of=first)
    assert resp.status == 200 and (await resp.json())["duplicate_of"] == first

    # The reverse would make each the other's duplicate, the complaint in no queue.
    resp = await _status(client, center, first, status="duplicate", duplicate_of=second)
    body = await resp.json()
    assert resp.status == 409, body
    assert second in body["error"] and first in body["error"]  # names the original to use
    assert ((await report(client, first)).status, (await report(client, first)).duplicate_of) == (
        "forwarded", None)

    # Nor a chain: a third report merged into the duplicate is refused; into the original is fine.
    resp = await _status(client, center, third, status="duplicate", duplicate_of=second)
    assert resp.status == 409
    assert (await report(client, third)).status == "forwarded"
    resp = await _status(client, center, third, status="duplicate", duplicate_of=first)
    assert resp.status == 200

    # Itself, nothing, or a code no report has: refused as before (422).
    for duplicate_of in (first, None, "PA-2000-999999"):
        resp = await _status(client, center, first, status="duplicate", duplicate_of=duplicate_of)
        assert resp.status == 422, duplicate_of
    assert "no report has the code PA-2000-999999" in (await resp.json())["error"]


async def test_a_reopened_duplicate_forgets_its_original(settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    first = await post_report(client, ENV_FORM)
    second = await post_report(client, ENV_FORM, description="Rác ùn ứ bốc mùi kiệt 12 Nguyễn Trãi")
    center = await token(client, "center")
    assert (await _status(client, center, second, status="duplicate", duplicate_of=first)).status == 200

    resp = await _status(client, center, second, status="triage")
    assert resp.status == 200 and (await resp.json())["duplicate_of"] is None
    assert (await report(client, second)).duplicate_of is None
    resp = await client.post(f"/api/v1/reports/{second}/route", json={"agency": "moi-truong"},
                             headers=center)
    assert resp.status == 200
    resp = await _status(client, center, second, status="resolved", note="Đã thu gom")
    assert resp.status == 200 and (await resp.json())["duplicate_of"] is None

    # Reopened, it may now be the original of the first (no cycle: it is no duplicate any more).
    resp = await _status(client, center, first, status="duplicate", duplicate_of=second)
    assert resp.status == 200 and (await resp.json())["duplicate_of"] == second


async def test_duplicates_follow_their_original_when_it_is_merged(settings_factory, hub_client,
                                                                  db_url):
    from tests.router.helpers import events

    client = await hub_client(settings_factory(db_url))
    first = await post_report(client, ENV_FORM)
    second = await post_report(client, ENV_FORM, description="Rác ùn ứ bốc mùi kiệt 12 Nguyễn Trãi")
    third = await post_report(client, ENV_FORM, description="Rác đổ trộm kiệt 14 Nguyễn Trãi")
    center = await token(client, "center")
    assert (await _status(client, center, third, status="duplicate", duplicate_of=second)).status == 200
    # The original is itself found to repeat an earlier report: its duplicate follows it (no chain).
    assert (await _status(client, center, second, status="duplicate", duplicate_of=first)).status == 200
    r = await report(client, third)
    assert (r.status, r.duplicate_of) == ("duplicate", first)
    notes = [e.note for e in await events(client, third, "note")]
    assert f"{second} đã được gộp vào {first}: phản ánh này theo vào {first}" in notes
