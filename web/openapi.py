"""``GET /api/openapi.json``: the OpenAPI 3 description of the agency API and the public JSON API
(``web/openapi.json``, kept by hand beside the handlers). CI runs schemathesis against a live hub
with it (.ci/run): every documented operation, generated inputs, no 5xx, documented statuses
and content types only."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web

SPEC = Path(__file__).resolve().parent / "openapi.json"


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text(encoding="utf-8"))


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(spec(), headers={"Cache-Control": "max-age=300"})


def routes() -> list[web.RouteDef]:
    return [web.get("/api/openapi.json", openapi)]
