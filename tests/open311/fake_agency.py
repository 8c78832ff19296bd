"""An agency's own Open311 GeoReport v2 server, written for the tests from the spec (not from
our server code): XML only, as the spec's minimum; an api_key and a jurisdiction it checks;
``realtime`` (answers the id) or ``batch`` (answers a token that becomes an id when the test
says so); requests whose status and notes the test changes, read back with
``GET requests.xml?service_request_id=a,b``."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.test_utils import TestServer

API_KEY = "agency-open311-key"
JURISDICTION = "xaydung.hue.gov.vn"
SERVICES = [("ROAD-01", "Hư hỏng mặt đường"), ("LIGHT-02", "Đèn chiếu sáng hỏng")]


def _xml(root: str, items: list[dict[str, Any]], item: str) -> web.Response:
    body = "".join(
        f"<{item}>" + "".join(f"<{k}>{escape('' if v is None else str(v))}</{k}>" for k, v in i.items())
        + f"</{item}>" for i in items)
    return web.Response(text=f'<?xml version="1.0" encoding="utf-8"?>\n<{root}>{body}</{root}>',
                        content_type="text/xml", charset="utf-8")


def _error(status: int, description: str) -> web.Response:
    resp = _xml("errors", [{"code": status, "description": description}], "error")
    resp.set_status(status)
    return resp


@dataclass
class FakeAgencyOpen311:
    mode: str = "realtime"  # or "batch"
    services: list[tuple[str, str]] = field(default_factory=lambda: list(SERVICES))
    posts: list[dict[str, str]] = field(default_factory=list)
    gets: list[dict[str, str]] = field(default_factory=list)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str | None] = field(default_factory=dict)
    fail_next: list[tuple[int, str]] = field(default_factory=list)  # (status, description)
    server: TestServer | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(80001))

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/crm/open311/v2"))

    async def start(self) -> FakeAgencyOpen311:
        app = web.Application()
        app.router.add_get("/crm/open311/v2/services.xml", self._services)
        app.router.add_post("/crm/open311/v2/requests.xml", self._post)
        app.router.add_get("/crm/open311/v2/requests.xml", self._list)
        app.router.add_get("/crm/open311/v2/tokens/{token}.xml", self._token)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    # what the agency's staff do
    def update(self, srid: str, status: str, notes: str | None = None) -> None:
        self.requests[srid].update(status=status, status_notes=notes,
                                   updated_datetime="2026-12-01T09:30:00+07:00")

    def issue_ids(self) -> None:
        """The batch system processed its queue: every token now has an id."""
        for token, srid in self.tokens.items():
            if srid is None:
                self.tokens[token] = self._create(self.posts[int(token.split("-")[1])])

    def _create(self, form: dict[str, str]) -> str:
        srid = str(next(self._ids))
        self.requests[srid] = {
            "service_request_id": srid, "status": "open", "status_notes": None,
            "service_name": dict(self.services).get(form["service_code"]),
            "service_code": form["service_code"], "description": form.get("description"),
            "requested_datetime": "2026-11-30T21:00:00+07:00",
            "updated_datetime": "2026-11-30T21:00:00+07:00",
            "address": form.get("address_string"), "lat": form.get("lat"), "long": form.get("long")}
        return srid

    # the API
    async def _services(self, request: web.Request) -> web.Response:
        return _xml("services", [{"service_code": c, "service_name": n, "metadata": "false",
                                  "type": self.mode} for c, n in self.services], "service")

    async def _post(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if self.fail_next:
            return _error(*self.fail_next.pop(0))
        if form.get("api_key") != API_KEY:
            return _error(403, "Invalid api_key received -- can't proceed with create_request.")
        if form.get("jurisdiction_id") != JURISDICTION:
            return _error(404, "jurisdiction_id not found")
        if form.get("service_code") not in dict(self.services):
            return _error(404, f"service_code {form.get('service_code')} not found")
        if not (form.get("lat") and form.get("long")) and not form.get("address_string"):
            return _error(400, "location required")
        self.posts.append(form)
        if self.mode == "batch":
            token = f"tok-{len(self.posts) - 1}"
            self.tokens[token] = None
            return _xml("service_requests", [{"token": token}], "request")
        return _xml("service_requests", [{"service_request_id": self._create(form),
                                          "service_notice": "Sẽ kiểm tra trong 48 giờ"}], "request")

    async def _token(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in self.tokens:
            return _error(404, "token not found")
        return _xml("service_requests", [{"service_request_id": self.tokens[token] or "",
                                          "token": token}], "request")

    async def _list(self, request: web.Request) -> web.Response:
        self.gets.append(dict(request.query))
        ids = [i for i in request.query.get("service_request_id", "").split(",") if i]
        return _xml("service_requests", [self.requests[i] for i in ids if i in self.requests],
                    "request")
