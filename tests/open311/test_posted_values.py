"""What a POST's fields become on the report: the values validate_request checked (stripped),
and a place given only as address_id reaches the agency."""
from __future__ import annotations

from typing import Any

from channels.open311.adapter import parse_request, validate_request
from tests.open311.test_public_fields import _public
from tests.router.helpers import post_report, report, token

V2 = "/open311/v2"


def test_a_spaced_service_code_is_the_service_it_names() -> None:
    fields = {"service_code": " environment ", "lat": "16.46", "long": "107.59", "description": "x"}
    assert validate_request(fields) is None
    meta = parse_request(fields).meta
    assert meta["service_code"] == "environment" and meta["category_hint"] == "environment"


async def test_a_spaced_service_code_is_posted_to_its_category(portal: Any) -> None:
    client = portal
    code = await post_report(client, {"service_code": " environment ", "lat": "16.46",
                                      "long": "107.59", "description": "Rác thải ùn ứ ở chợ"})
    assert (await report(client, code)).category == "environment"


async def test_a_request_placed_by_address_id_only_shows_it_to_the_agency(portal: Any) -> None:
    client = portal
    code = await post_report(client, {"service_code": "environment", "address_id": "HUE-12345",
                                      "description": "Rác thải ùn ứ ở chợ"})
    assert "HUE-12345" in (await report(client, code)).address
    headers = await token(client, "center")
    data = await (await client.get(f"/api/v1/reports/{code}", headers=headers)).json()
    assert "HUE-12345" in data["location"]["address"], data["location"]
    # the public answer gives it as address_id, not as the address text
    await _public(client, code)
    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    assert req["address_id"] == "HUE-12345" and "HUE-12345" not in (req["address"] or "")


async def test_a_file_part_that_is_not_a_photo_is_refused(settings_factory, hub_client) -> None:
    import io

    import aiohttp

    from tests.open311.spec import check_json, check_xml
    from tests.portal.conftest import jpeg

    client = await hub_client(settings_factory())
    for fmt, check in (("json", check_json), ("xml", check_xml)):
        data = aiohttp.FormData()
        for key, value in {"service_code": "environment", "lat": "16.46", "long": "107.59",
                           "description": "Rác"}.items():
            data.add_field(key, value)
        data.add_field("media", io.BytesIO(b"GIF89a" + jpeg()[:64]), filename="p.jpg",
                       content_type="image/jpeg")
        resp = await client.post(f"{V2}/requests.{fmt}", data=data)
        body = await resp.read()
        assert resp.status == 400, body[:300]
        [err] = check("errors", body, resp.headers["Content-Type"])
        assert "JPEG, PNG or WebP" in err["description"]
