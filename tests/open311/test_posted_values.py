"""What a POST's fields become on the report: the values validate_request checked (stripped),
and a place given only as address_id reaches the agency."""
from __future__ import annotations

from typing import Any

from channels.open311.adapter import parse_request, validate_request
from tests.router.helpers import post_report, report

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
