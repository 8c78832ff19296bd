"""Under /api/ (JSON in, JSON out) an unknown path or a wrong method answers JSON — it was
aiohttp's plain text "404: Not Found" / "405: Method Not Allowed" — with the Allow header on a
405. A handler's own 404 (a report not found) keeps its body; pages keep the portal's."""
from __future__ import annotations

from tests.router.helpers import ENV_FORM, post_report, token


async def test_unknown_paths_and_methods_under_api_answer_json(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    code = await post_report(client, ENV_FORM)
    auth = await token(client, "moi-truong")

    for path in ("/api/v1/nope", "/api/v1/reports", f"/api/v1/reports/{code}/nope", "/api/nope",
                 "/api/public/nope"):
        resp = await client.get(path, headers=auth)
        assert resp.status == 404 and resp.content_type == "application/json", path
        assert (await resp.json()) == {"error": "no such endpoint"}

    for method, path, allow in (("GET", f"/api/v1/reports/{code}/status", "POST"),
                                ("DELETE", f"/api/v1/reports/{code}", "GET,HEAD"),
                                ("PUT", "/api/v1/queue", "GET,HEAD"),
                                ("POST", f"/api/public/reports/{code}", "GET,HEAD")):
        resp = await client.request(method, path, headers=auth)
        assert resp.status == 405 and resp.content_type == "application/json", (method, path)
        body = await resp.json()
        assert set(resp.headers["Allow"].split(",")) == set(allow.split(","))
        assert body["allowed"] == sorted(allow.split(",")) and method in body["error"]

    # A handler's own 404 keeps its body (the same for another agency's report: no probing).
    resp = await client.get("/api/v1/reports/PA-2000-999999", headers=auth)
    assert resp.status == 404 and await resp.json() == {"error": "report not found"}
    # Pages people open keep the portal's error page.
    resp = await client.get("/no-such-page")
    assert resp.status == 404 and resp.content_type == "text/html"
