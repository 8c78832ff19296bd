"""GET requests' ``page`` (1-based, as FixMyStreet's): page 2 is the next reports, newest first
then by id, each once; a page_size or page of 0 or not a number is a 400 (walkthrough: page was
ignored and page 1 came back again; page_size=0 quietly became 1)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from store.models import utcnow
from tests.portal.conftest import seed_report

V2 = "/open311/v2"


async def test_paging_gives_each_report_once_newest_first(portal: Any) -> None:
    client = portal
    same = utcnow() - timedelta(hours=2)  # two created at the same instant: the id orders them
    codes = [await seed_report(client, created=same - timedelta(minutes=m)) for m in (0, 0, 5, 10, 15)]
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        resp = await client.get(f"{V2}/requests.json?page_size=2&page={page}")
        assert resp.status == 200, await resp.text()
        seen += [r["service_request_id"] for r in await resp.json()]
    assert sorted(seen) == sorted(codes) and len(seen) == len(set(seen)) == 5
    # newest first; among equals the later id first
    assert seen == [codes[1], codes[0], codes[2], codes[3], codes[4]]
    first = [r["service_request_id"] for r in await (await client.get(
        f"{V2}/requests.json?page_size=2")).json()]
    assert first == seen[:2]
    xml = await (await client.get(f"{V2}/requests.xml?limit=2&page=2")).text()
    assert codes[2] in xml and codes[1] not in xml


async def test_a_zero_or_odd_page_or_size_is_a_400(settings_factory, hub_client) -> None:
    client = await hub_client(settings_factory())
    for query in ("page_size=0", "page_size=abc", "limit=-1", "page=0", "page=x", "page=-2"):
        resp = await client.get(f"{V2}/requests.json?{query}")
        assert resp.status == 400, query
        [err] = await resp.json()
        key = query.split("=")[0]
        assert key in err["description"] and "whole number" in err["description"], err
    assert (await client.get(f"{V2}/requests.json?page_size=5000&page=3")).status == 200
