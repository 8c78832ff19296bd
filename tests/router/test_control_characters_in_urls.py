"""A NUL (or another control character) in a URL's path or query is a 400 in the format of the
surface asked — Open311's list of errors, the portal's error page, JSON for the APIs — on both
databases. On PostgreSQL it reached the database (a text parameter cannot hold NUL: asyncpg's
"invalid byte sequence for encoding UTF8: 0x00") and answered a plain-text 500."""
from __future__ import annotations

import pytest
from yarl import URL

from tests.router.helpers import ENV_FORM, post_report, token


async def _get(client, raw: str, **kwargs):
    return await client.get(URL(raw, encoded=True), **kwargs)  # %00 sent as it is written


OPEN311 = ["/open311/v2/requests/{code}%00.json", "/open311/v2/tokens/a%00b.json",
           "/open311/v2/requests.json?service_request_id=PA%00",
           "/open311/v2/requests.json?service_code=a%00",
           "/open311/v2/requests.json?service_code=environment&status=open%01"]


@pytest.mark.parametrize("path", OPEN311)
async def test_open311_answers_its_list_of_errors(settings_factory, hub_client, db_url, path):
    client = await hub_client(settings_factory(db_url))
    code = await post_report(client, ENV_FORM)
    resp = await _get(client, path.format(code=code))
    assert resp.status == 400, await resp.text()
    [error] = await resp.json()
    assert error["code"] == 400 and "control character" in error["description"]


async def test_each_surface_answers_400_in_its_format(settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    code = await post_report(client, ENV_FORM)
    auth = await token(client, "moi-truong")

    resp = await _get(client, f"/open311/v2/requests/{code}%00.xml")
    assert resp.status == 400 and "<errors>" in await resp.text()

    resp = await _get(client, f"/r/{code}%00")
    assert resp.status == 400 and resp.content_type == "text/html"
    assert "Đường dẫn không hợp lệ" in await resp.text()
    assert resp.headers["X-Frame-Options"] == "DENY"  # the security headers still set
    resp = await _get(client, "/reports?ward=Thu%E1%BA%ADn%00")
    assert resp.status == 400 and resp.content_type == "text/html"

    center = await token(client, "center")
    for path, headers in (("/api/public/reports/PA%00", None),
                          (f"/api/v1/reports/{code}%00", auth),
                          (f"/api/v1/reports/{code}%0A", auth),
                          ("/api/v1/queue?status=forwarded%00", auth),
                          ("/api/v1/queue?agency=moi-truong%00", center),
                          ("/api/public/reports.json?ward=a%00", None)):
        resp = await _get(client, path, headers=headers)
        assert resp.status == 400, (path, resp.status, await resp.text())
        assert "control character" in (await resp.json())["error"], path

    # The free-text search keeps its own handling (control characters are spaces: tests/portal/
    # test_list.py); tab and newline pass anywhere in a query; the pages still answer.
    for path in ("/reports?q=r%C3%A1c%00", "/api/public/reports.json?q=a%00",
                 "/reports?q=r%C3%A1c%0Ath%E1%BA%A3i%09x", "/reports?page=1%09"):
        assert (await _get(client, path)).status == 200, path
    assert (await _get(client, f"/r/{code}")).status == 200
    assert (await _get(client, f"/api/v1/reports/{code}", headers=auth)).status == 200
    resp = await _get(client, f"/open311/v2/requests/{code}.json")
    assert resp.status == 200 and (await resp.json())[0]["service_request_id"] == code
