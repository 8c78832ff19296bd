"""Seeded random requests on every Open311 path: methods, formats, query parameters and POST
forms mixing valid values with junk. Every answer must be a 2xx/4xx in the format the path asks
for — valid data, or the spec's error body — never a 5xx, never text/plain."""
from __future__ import annotations

import random
import re

from tests.open311.spec import check_json, check_xml

PATHS = ["/open311/discovery", "/open311/v2/discovery", "/open311/v2/services",
         "/open311/v2/services/{code}", "/open311/v2/requests", "/open311/v2/requests/{id}",
         "/open311/v2/tokens/{token}", "/open311/v2/{junk}", "/open311/{junk}"]
KINDS = [(r"/open311(/v2)?/discovery", "discovery"), (r"/open311/v2/services", "services"),
         (r"/open311/v2/services/[^/]+", "service_definition"),
         (r"/open311/v2/requests", "requests"), (r"/open311/v2/requests/[^/]+", "requests"),
         (r"/open311/v2/tokens/[^/]+", "token")]
JUNK = ["", " ", "x" * 300, "environment", "open", "closed", "-1", "1e309", "NaN", "null",
        "2026-01-01T00:00:00Z", "2026-13-45T99:99:99+25:00", "<x>", "' OR 1=1 --", "%00",
        "ổ gà", "\u202e", "../../etc/passwd", "PA-2026-000001", "1,2,3," * 50]
FIELDS = ["service_code", "lat", "long", "address_string", "address_id", "description",
          "media_url", "email", "phone", "first_name", "last_name", "api_key", "jurisdiction_id",
          "status", "start_date", "end_date", "service_request_id", "page_size", "attribute[x]"]


def _kind(method: str, path: str, status: int) -> str:
    if status >= 400:
        return "errors"
    if method == "POST":
        return "post"
    return next(kind for pattern, kind in KINDS if re.fullmatch(pattern, path))


async def test_random_requests_never_fail_unformatted(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False},
                                               channels={"web": {"anonymous_per_hour": 10**6}}))
    rng = random.Random(20261130)
    statuses: dict[int, int] = {}
    for _ in range(600):
        path = rng.choice(PATHS).format(code=rng.choice(["environment", "nope", "%20"]),
                                        id=rng.choice(["PA-2026-000001", "x", "ổ"]),
                                        token=rng.choice(["t1", "ổ", "a" * 129]),
                                        junk=rng.choice(["a", "v2/x", "v9/services"]))
        fmt = rng.choice(["xml", "json", "json", "xml", "yaml", ""])
        url = f"{path}.{fmt}" if fmt else path
        method = rng.choice(["GET", "GET", "POST", "POST", "PUT", "DELETE"])
        if method == "POST" and rng.random() < 0.7:
            path, fmt = "/open311/v2/requests", rng.choice(["xml", "json"])
            url = f"{path}.{fmt}"
        params = {rng.choice(FIELDS): rng.choice(JUNK) for _ in range(rng.randint(0, 4))}
        form = {}
        if rng.random() < 0.6:
            form.update(service_code="environment", lat="16.46", long="107.59", description="Rác")
        form.update({rng.choice(FIELDS): rng.choice(JUNK) for _ in range(rng.randint(0, 3))})
        resp = await client.request(method, url, params=params,
                                    data=form if method == "POST" else None)
        body = await resp.read()
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        assert resp.status < 500, (method, url, params, form, body[:300])
        kind = _kind(method, path, resp.status)
        check = check_json if resp.content_type == "application/json" else check_xml
        check(kind, body, resp.headers["Content-Type"])
    assert statuses.get(201, 0) > 10 and sum(v for k, v in statuses.items() if k >= 400) > 100, statuses
