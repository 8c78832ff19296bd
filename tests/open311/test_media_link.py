"""A media_url outside channels.web.media_hosts: never fetched, kept as a link for the center
and the agency (walkthrough: a photo-only request reached the agency empty, its attachment
"refused" with no URL, though the setting promised "kept as a link"), and never given back to
the public."""
from __future__ import annotations

from typing import Any

from tests.conftest import wait_for
from tests.router.helpers import post_report, token

V2 = "/open311/v2"
PHOTO = "https://photos.example.org/abc.jpg"


async def test_a_media_url_from_another_host_reaches_the_agency_as_a_link(portal: Any) -> None:
    client = portal
    code = await post_report(client, {"service_code": "environment", "lat": "16.46",
                                      "long": "107.59", "media_url": PHOTO})
    headers = await token(client, "center")

    async def attachments() -> list[dict[str, Any]] | None:
        data = await (await client.get(f"/api/v1/reports/{code}", headers=headers)).json()
        return data["attachments"] or None
    [att] = await wait_for(attachments)
    assert att["state"] == "linked" and att["url"] == PHOTO and att["kind"] == "link"
    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    assert req["media_url"] is None  # the client's URL is never given back publicly
