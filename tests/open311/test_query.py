"""GET requests' date filters as clients send them, and the limits of the URL."""
from __future__ import annotations

from datetime import UTC, datetime

from channels.open311.requests import request_filters

V2 = "/open311/v2"
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


async def test_an_unencoded_plus_before_the_offset_is_read_as_plus(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    for query in ("start_date=2026-12-03T00:00:00+07:00", "end_date=2026-12-03T00:00:00+0700",
                  "start_date=2026-11-01T00:00:00%2B07:00&end_date=2026-12-03T00:00:00+07:00"):
        resp = await client.get(f"{V2}/requests.json?{query}")
        assert resp.status == 200, (query, await resp.text())
    # still a 400: no zone at all, or junk
    for query in ("start_date=2026-12-03T00:00:00", "start_date=2026-12-03T00:00:00+junk"):
        assert (await client.get(f"{V2}/requests.json?{query}")).status == 400, query


def test_the_90_day_limit_is_on_a_start_and_end_pair() -> None:
    """As the spec words it: start_date with end_date may not span more than 90 days; a
    start_date alone lists from it to now (newest first, up to page_size); an end_date alone
    the 90 days before it (docs/open311.md)."""
    import pytest

    from channels.open311.requests import QueryError

    request_filters({"start_date": "2020-01-01T00:00:00Z"}, NOW)
    request_filters({"end_date": "2020-01-01T00:00:00Z"}, NOW)
    with pytest.raises(QueryError, match="90 days"):
        request_filters({"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-06-01T00:00:00Z"}, NOW)


async def test_a_trailing_slash_is_a_404_not_a_405(settings_factory, hub_client):
    from tests.open311.spec import check_json, check_xml

    client = await hub_client(settings_factory())
    for path, check in ((f"{V2}/requests.json/", check_json), (f"{V2}/services.xml/", check_xml),
                        (f"{V2}/requests/PA-2026-000001.json/", check_json)):
        resp = await client.get(path)
        body = await resp.read()
        assert resp.status == 404, (path, resp.status, body[:200])
        [err] = check("errors", body, resp.headers["Content-Type"])
        assert "trailing slash" in err["description"]


async def test_the_documented_id_list_fits_in_a_url(settings_factory, hub_client):
    """docs/open311.md: up to 400 service_request_ids per GET (commas encoded or not); the
    HTTP server refuses a request line over 8190 bytes before Open311 sees it."""
    import re
    from pathlib import Path

    documented = int(re.search(r"up to (\d+) ids per call",
                               Path("docs/open311.md").read_text(encoding="utf-8")).group(1))
    client = await hub_client(settings_factory())
    ids = "%2C".join(f"PA-2026-{n:06d}" for n in range(documented))
    resp = await client.get(f"{V2}/requests.json?service_request_id={ids}")
    assert resp.status == 200, (await resp.text())[:200]
