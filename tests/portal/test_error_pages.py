"""aiohttp's plain-English "404: Not Found" and "405: Method Not Allowed" are the portal's
Vietnamese error page on the pages people open (status kept, Allow kept); the APIs, Open311,
webhooks and health paths keep their own error bodies."""
from __future__ import annotations

from typing import Any

import pytest

from tests.portal.conftest import seed_report

PAGES_404 = ["/reports/", "/agencies/", "/r/", "/favicon.ico", "/nonexistent",
             "/r/{code}/photos/zzz.jpg", "/r/{code}/photos/" + "0" * 64 + ".jpg"]
PAGES_405 = [("GET", "/r/{code}/rate"), ("PUT", "/report"), ("DELETE", "/reports")]


def _vietnamese_page(text: str) -> None:
    assert "Not Found" not in text and "Method Not Allowed" not in text, text[:200]
    assert "<!doctype html>" in text.lower() and 'lang="vi"' in text, text[:200]
    assert "Về trang chủ" in text  # the portal layout's error page


@pytest.mark.parametrize("path", PAGES_404)
async def test_unknown_pages_are_a_vietnamese_404(portal: Any, path: str) -> None:
    code = await seed_report(portal)
    resp = await portal.get(path.format(code=code))
    assert resp.status == 404
    assert resp.content_type == "text/html"
    text = await resp.text()
    _vietnamese_page(text)
    assert "Không tìm thấy" in text
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("method", "path"), PAGES_405)
async def test_a_wrong_method_on_a_page_is_a_vietnamese_405(portal: Any, method: str, path: str) -> None:
    code = await seed_report(portal)
    resp = await portal.request(method, path.format(code=code))
    assert resp.status == 405
    assert resp.headers.get("Allow"), resp.headers
    text = await resp.text()
    _vietnamese_page(text)
    assert "Không thực hiện được yêu cầu" in text


async def test_a_known_report_page_and_the_unknown_report_page_are_unchanged(portal: Any) -> None:
    code = await seed_report(portal)
    assert (await portal.get(f"/r/{code}")).status == 200
    resp = await portal.get("/r/PA-2026-999999")
    assert resp.status == 404 and "Không tìm thấy phản ánh" in await resp.text()


async def test_machine_paths_keep_their_error_bodies(portal: Any) -> None:
    # Open311: the spec's error format, in the format the path asks for
    resp = await portal.get("/open311/v2/nothing.json")
    assert resp.status == 404 and resp.content_type == "application/json"
    assert (await resp.json())[0]["code"] == 404
    resp = await portal.put("/open311/v2/requests.xml")
    assert resp.status == 405 and resp.content_type == "text/xml"
    # the public JSON API's own 404 body
    resp = await portal.get("/api/public/reports/PA-2026-999999")
    assert resp.status == 404 and await resp.json() == {"error": "not found"}
    # the agency API and the other machine paths: no HTML page put in their place
    for method, path in (("GET", "/api/v1/nothing"), ("GET", "/api/nothing"), ("PUT", "/api/v1/queue"),
                         ("GET", "/webhooks/nothing"), ("GET", "/healthz/x"), ("PUT", "/healthz"),
                         ("GET", "/oauth/nothing")):
        resp = await portal.request(method, path)
        assert resp.status in (401, 404, 405), (method, path, resp.status)
        assert resp.content_type != "text/html" or "Về trang chủ" not in await resp.text(), (method, path)
    # a public JSON path with a wrong method is not turned into a page either
    resp = await portal.post("/api/public/reports.json", data=b"{}")
    assert resp.status == 405 and "Về trang chủ" not in await resp.text()
