"""Web portal / mobile app channel: Open311 GeoReport v2, in XML and JSON.

Every endpoint answers ``.xml`` (the spec's required format) and ``.json`` with the same data;
every error on an Open311 path, a wrong method or an unknown path included, is the spec's
error body in the format the path asks for. Service discovery is at ``/open311/discovery.*``
(and under ``/open311/v2/``).

POST requests is form-encoded as the spec says. The report is made by the inbox worker after
the request is durably stored, so our services are ``batch``: the answer carries a ``token``,
and GET tokens/{token} turns it into the ``service_request_id`` once processed. A client may
send ``Idempotency-Key`` (header) or ``client_token`` (field) so a retried POST never makes a
second report; a retry after processing is answered with the ``service_request_id``.
A photo comes as ``media_url`` or, as mobile clients send it, as a multipart ``media`` file part
(``upload``: checked like the portal form's photos, stored before the row, attached by the same job).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy
from sqlalchemy import select

from channels.base import ChannelAdapter, ChannelContext, constant_time_equal
from channels.media import host_allowed
from channels.open311.render import FORMATS, MIME, error, format_of, respond
from channels.open311.requests import (
    QueryError,
    address_from_id,
    asked_ids,
    find_requests,
    pending_request,
    public_requests,
    request_filters,
)
from channels.open311.settings import Open311Settings
from channels.open311.upload import (
    MEDIA_FIELD,
    OVERHEAD,
    BodyProblem,
    Upload,
    discard_unused,
    parse_multipart,
    put_new,
    read_capped,
)
from channels.webhook import refuse, store_events
from normalizer.schema import (
    CATEGORIES,
    DESCRIPTION_MAX,
    FIELD_MAX,
    AttachmentRef,
    ContactInfo,
    DeliveryResult,
    InboundMessage,
    Location,
    OutboundMessage,
    RawEvent,
)
from store.files import sha256_of
from store.models import InboxEvent, Report, utcnow
from store.photos import CheckedPhoto, PhotoRefused, check_photo
from store.public_reports import pending_report, pending_statuses, public_conditions
from store.ratelimit import RateLimiter, client_address

log = logging.getLogger("hub.channels.open311")

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
SERVICE_GROUP = "Phản ánh hiện trường"
SERVICE_KEYWORDS: dict[str, str] = {
    "construction_order": "xây dựng, lấn chiếm, không phép",
    "environment": "rác, nước thải, ô nhiễm, vệ sinh",
    "traffic_infrastructure": "ổ gà, mặt đường, cầu, biển báo, đèn tín hiệu",
    "urban_infrastructure": "đèn chiếu sáng, thoát nước, cây xanh, vỉa hè",
    "public_order": "an ninh, gây rối, trật tự",
    "tourism": "du lịch, chặt chém, đeo bám",
    "public_service": "thủ tục, cán bộ, chậm trễ, phiền hà",
    "other": "khác",
}
# Fields of a POST the report keeps (extra.open311). Answers give back address_id and zipcode
# only as plain references and media_url only as our own public photo (requests.py).
ECHOED = ("address_id", "zipcode", "media_url")
# Stored fields the hub writes itself (besides every "_"-prefixed one): never taken from a client.
INTERNAL = ("received_at",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The inbox row's list of stored photos (the portal form's too; form.link_form_photos attaches them).
PHOTOS_KEY = "_photos"
FORM_KEY: web.RequestKey[MultiDictProxy[Any]] = web.RequestKey("open311.form", MultiDictProxy)  # the form, read once
ACCEPTED_TYPES = "JPEG, PNG or WebP"
ACCEPTED_NOTICE = "Đã tiếp nhận, mã phản ánh sẽ có trong giây lát"
# An Idempotency-Key header or client_token field: a UUID or the like, never free text (it is
# stored and given back as the token).
MAX_TOKEN = 128
# tokens/{token} looks up only keys this long (after an app's "name:"): ours are 32 hex digits,
# a UUID 36; shorter ones are guessable.
MIN_LOOKUP = 8
TOKEN_RE = re.compile(rf"[\x21-\x7e]{{1,{MAX_TOKEN}}}")

Handler = Callable[[web.Request, str], Awaitable[web.Response]]
# Every Open311 path (format stripped) and the methods it answers: anything else on /open311
# is a 404 or 405 in the spec's error format.
_PATHS = [
    (re.compile(r"/open311(/v2)?/discovery"), ("GET", "HEAD")),
    (re.compile(r"/open311/v2/services"), ("GET", "HEAD")),
    (re.compile(r"/open311/v2/services/[^/]+"), ("GET", "HEAD")),
    (re.compile(r"/open311/v2/requests"), ("GET", "HEAD", "POST")),
    (re.compile(r"/open311/v2/requests/[^/]+"), ("GET", "HEAD")),
    (re.compile(r"/open311/v2/tokens/[^/]+"), ("GET", "HEAD")),
]


# Open311 is a public API for third-party apps: any origin may call it from a browser, without
# credentials (no cookies are read here; POST's gate is the api_key). A preflight (OPTIONS) of a
# known path is a 204 naming its methods and these request headers.
CORS_HEADERS = "Content-Type, Idempotency-Key"


def with_cors(response: web.Response) -> web.Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def _float(form: Any, key: str) -> float | None:
    raw = (form.get(key) or "").strip()
    if not raw:
        return None
    return float(raw)


class WebChannel(ChannelAdapter):
    name = "web"
    settings_model = Open311Settings

    def __init__(self, ctx: ChannelContext, cfg: Any) -> None:
        super().__init__(ctx, cfg)
        # POSTs without an api_key (none configured), per client address; see post_request.
        self.limiter = RateLimiter(cfg.anonymous_per_hour)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.cfg.timezone)

    def routes(self) -> list[web.RouteDef]:
        fmt = "{fmt:xml|json}"
        return [
            web.get(f"/open311/discovery.{fmt}", self._wrap(self.discovery)),
            web.get(f"{PREFIX}/discovery.{fmt}", self._wrap(self.discovery)),
            web.get(f"{PREFIX}/services.{fmt}", self._wrap(self.services)),
            web.get(f"{PREFIX}/services/{{code}}.{fmt}", self._wrap(self.service_definition)),
            web.post(f"{PREFIX}/requests.{fmt}", self._wrap(self.post_request)),
            web.get(f"{PREFIX}/requests.{fmt}", self._wrap(self.list_requests)),
            web.get(f"{PREFIX}/requests/{{code}}.{fmt}", self._wrap(self.get_request)),
            web.get(f"{PREFIX}/tokens/{{token}}.{fmt}", self._wrap(self.get_token)),
            web.route("*", "/open311{tail:(/.*)?}", self.unknown),
        ]

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The format from the path, the jurisdiction check, no unformatted 500, and CORS."""
        async def run(request: web.Request) -> web.Response:
            return with_cors(await checked(request))

        async def checked(request: web.Request) -> web.Response:
            fmt = request.match_info.get("fmt", "json")
            jurisdiction = self.cfg.jurisdiction_id
            asked = (request.query.get("jurisdiction_id") or "").strip()
            if request.method == "POST" and not asked and request.content_type in FORM_TYPES:
                try:
                    asked = str((await self._read_form(request)).get("jurisdiction_id") or "").strip()
                except BodyProblem as exc:
                    return error(fmt, exc.status, str(exc))
            if jurisdiction and asked and asked != jurisdiction:
                return error(fmt, 404, f"jurisdiction_id {asked!r} not found")
            try:
                return await handler(request, fmt)
            except web.HTTPException as exc:
                if exc.status == 413:
                    return error(fmt, 413, "request body too large")
                return error(fmt, exc.status, exc.reason)
            except Exception:
                log.exception("Open311 %s %s failed", request.method, request.path)
                return error(fmt, 500, "internal error; the request was not processed")
        return run

    async def unknown(self, request: web.Request) -> web.Response:
        return with_cors(self._unknown(request))

    def _unknown(self, request: web.Request) -> web.Response:
        """A CORS preflight of a known path, else the spec's 404 or 405."""
        fmt = format_of(request.path)
        if request.path.endswith("/") and request.path.rstrip("/") not in ("", "/open311"):
            return error(fmt, 404, f"no such Open311 resource; no trailing slash: "
                                   f"{request.path.rstrip('/')}")
        bare = re.sub(r"\.[A-Za-z0-9]+$", "", request.path.rstrip("/"))
        suffix = request.path.rstrip("/")[len(bare):]
        for pattern, methods in _PATHS:
            if pattern.fullmatch(bare):
                if suffix and suffix[1:] not in FORMATS:
                    return error(fmt, 404, f"format {suffix[1:]!r} not supported; use xml or json")
                if not suffix:
                    return error(fmt, 404, "add the format to the path: .xml or .json")
                if request.method == "OPTIONS":
                    return web.Response(status=204, headers={
                        "Access-Control-Allow-Methods": ", ".join((*methods, "OPTIONS")),
                        "Access-Control-Allow-Headers": CORS_HEADERS,
                        "Access-Control-Max-Age": "86400",
                        "Allow": ", ".join((*methods, "OPTIONS"))})
                return error(fmt, 405, f"method {request.method} not allowed; use "
                             f"{', '.join(m for m in methods if m != 'HEAD')}",
                             headers={"Allow": ", ".join(methods)})
        return error(fmt, 404, "no such Open311 resource; see /open311/discovery.xml")

    # --- discovery and services -----------------------------------------------------------
    async def discovery(self, request: web.Request, fmt: str) -> web.Response:
        cfg = self.cfg
        base = self.ctx.public_base_url.rstrip("/")
        return respond(fmt, "discovery", {
            "changeset": cfg.changeset,
            "contact": cfg.contact,
            "key_service": cfg.key_service,
            "endpoints": [{
                "specification": SPECIFICATION,
                "url": f"{base}{PREFIX}",
                "changeset": cfg.changeset,
                "type": cfg.endpoint_type,
                "formats": [MIME["xml"], MIME["json"]],
            }],
        })

    async def services(self, request: web.Request, fmt: str) -> web.Response:
        return respond(fmt, "services", [
            {"service_code": code, "service_name": name, "description": name, "metadata": False,
             "type": "batch", "keywords": SERVICE_KEYWORDS.get(code, ""), "group": SERVICE_GROUP}
            for code, name in CATEGORIES.items()])

    async def service_definition(self, request: web.Request, fmt: str) -> web.Response:
        code = request.match_info["code"]
        if code not in CATEGORIES:
            return error(fmt, 404, f"service_code {code!r} not found")
        return respond(fmt, "service_definition", {"service_code": code, "attributes": []})

    # --- intake ------------------------------------------------------------------------------
    async def post_request(self, request: web.Request, fmt: str) -> web.Response:
        started = time.perf_counter()
        ctx = self.ctx
        if request.content_length and request.content_length > self._body_cap(request):
            return error(fmt, 413, self._too_large(request))
        if request.content_type not in FORM_TYPES:
            ctx.count_rejected("web", "content_type")
            return error(fmt, 400, "POST requests must be form-encoded "
                                   "(application/x-www-form-urlencoded)")
        try:
            form = await self._read_form(request)
        except BodyProblem as exc:
            return error(fmt, exc.status, str(exc))
        given_key = str(form.get("api_key") or request.query.get("api_key") or "")
        keyed, app = self._client_app(given_key)
        if keyed and app is None:
            refuse(ctx, "web", 403, "bad api_key")
            return error(fmt, 403, "api_key is missing or invalid")
        try:
            photo = self._uploaded_photo(form)
        except BodyProblem as exc:
            ctx.count_rejected("web", "invalid")
            return error(fmt, exc.status, str(exc))
        # Fields starting with "_" are the hub's own (the portal form's stored photo list,
        # the token): a client never sets them. received_at is ours too (set below).
        fields: dict[str, Any] = {k: str(v) for k, v in form.items()
                                  if isinstance(v, str) and not k.startswith("_") and k not in INTERNAL}
        if photo is not None and photo[0].gps and not (fields.get("lat", "").strip()
                                                       or fields.get("long", "").strip()):
            # no position given: the photo's own (as the portal form does; public copies drop EXIF)
            fields["lat"], fields["long"] = str(photo[0].gps[0]), str(photo[0].gps[1])
        problem = validate_request(fields)
        if problem:
            status, description = problem
            ctx.count_rejected("web", "invalid")
            return error(fmt, status, description)
        given_token = (request.headers.get("Idempotency-Key") or fields.pop("client_token", "")).strip()
        if given_token and not TOKEN_RE.fullmatch(given_token):
            ctx.count_rejected("web", "invalid")
            return error(fmt, 400, f"Idempotency-Key/client_token must be 1 to {MAX_TOKEN} "
                                   "printable ASCII characters without spaces")
        # A partner app's keys are its own (another app sending the same key makes its own
        # report); anonymous clients and the one api_key's holders share one namespace.
        client_token = (f"{app}:{given_token}" if app else given_token) if given_token else uuid.uuid4().hex
        fields.pop("api_key", None)
        fields.pop("jurisdiction_id", None)
        # No api_key configured: anyone may POST, so well-formed requests are limited per
        # client. A retry with an idempotency key already stored is let through and not
        # counted (it makes nothing new; the answer is its token or code, or a 409).
        client = None if keyed else client_address(request)
        if client is not None:
            wait = self.limiter.allow(client)
            if wait is not None:
                if not (given_token and await self._known_token(client_token)):
                    ctx.count_rejected("web", "rate_limit")
                    return error(fmt, 429, "too many requests from this client; try again later",
                                 headers={"Retry-After": str(int(wait) + 1)})
                client = None  # a replay past the limit: nothing was counted
        added: list[str] = []  # the photo, when this call wrote it (not stored before)
        if photo is not None:
            checked, filename = photo
            fields[PHOTOS_KEY] = [{"sha256": sha256_of(checked.data), "content_type": checked.content_type,
                                   "size": len(checked.data), "name": filename}]
        fields["_token"] = client_token
        fields["received_at"] = datetime.now().astimezone().isoformat()
        try:
            # the file first, then the row that names it (a retry of a stored key writes none)
            if photo is not None and not (given_token and await self._known_token(client_token)):
                if await put_new(ctx.media, photo[0].data):
                    added.append(sha256_of(photo[0].data))
            [result] = await store_events(ctx, "web", [RawEvent(client_token, fields)], started)
        except BaseException:
            await discard_unused(ctx.sessions, ctx.media, added)
            raise
        if result.duplicate and client is not None:
            self.limiter.refund(client)
        if result.duplicate:
            if not await self._same_request(client_token, fields):
                await discard_unused(ctx.sessions, ctx.media, added)
                ctx.count_rejected("web", "idempotency_conflict")
                return error(fmt, 409, "Idempotency-Key already used for a different request")
            code = await self._code_for_token(client_token)
            if code:
                return respond(fmt, "service_requests",
                               [{"service_request_id": code, "service_notice": None}])
        return respond(fmt, "service_requests",
                       [{"token": client_token, "service_notice": ACCEPTED_NOTICE}],
                       status=201 if result.stored else 200)

    def _body_cap(self, request: web.Request) -> int:
        """A multipart body may carry a photo (``max_media_bytes``) besides the text fields."""
        if request.content_type == "multipart/form-data":
            return self.ctx.max_body_bytes + self.cfg.max_media_bytes + OVERHEAD
        return self.ctx.max_body_bytes

    def _too_large(self, request: web.Request) -> str:
        if request.content_type == "multipart/form-data":
            return (f"request body too large (the media file may be at most "
                    f"{self.cfg.max_media_bytes} bytes)")
        return "request body too large"

    async def _read_form(self, request: web.Request) -> MultiDictProxy[Any]:
        """The POSTed form, read once (the jurisdiction check and the handler both use it); a
        body that cannot be read is a BodyProblem (400, 413 when too large)."""
        cached = request.get(FORM_KEY)
        if cached is not None:
            return cached
        if request.content_type == "multipart/form-data":
            try:
                body = await read_capped(request, self._body_cap(request))
            except BodyProblem as exc:
                if exc.status == 413:
                    raise BodyProblem(413, self._too_large(request)) from None
                raise
            except (ValueError, HttpProcessingError):  # a cut-off body
                raise BodyProblem(400, "the form body could not be read") from None
            form: MultiDictProxy[Any] = MultiDictProxy(
                parse_multipart(request.headers.get("Content-Type", ""), body))
        else:
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge:
                raise BodyProblem(413, "request body too large") from None
            except (ValueError, HttpProcessingError):  # a broken or cut-off body
                raise BodyProblem(400, "the form body could not be read") from None
        request[FORM_KEY] = form
        return form

    def _uploaded_photo(self, form: MultiDictProxy[Any]) -> tuple[CheckedPhoto, str | None] | None:
        """The ``media`` file part checked as the portal checks a photo (its bytes sniffed, not
        its name; ``max_media_bytes``), or None; BodyProblem for any other file part, a second
        one, one too large (413) or one that is not a JPEG, PNG or WebP image."""
        files = [(k, v) for k, v in form.items() if not isinstance(v, str)]
        if not files:
            return None
        for key, _ in files:
            if key != MEDIA_FIELD:
                raise BodyProblem(400, f"file part {key!r} not accepted: send the photo as the "
                                       f"file part {MEDIA_FIELD!r}, or its http(s) URL as media_url")
        if len(files) > 1:
            raise BodyProblem(400, f"one {MEDIA_FIELD!r} file per request")
        upload: Upload = files[0][1]
        if not upload.data and not upload.filename:
            return None  # an empty file input
        limit = self.cfg.max_media_bytes
        if len(upload.data) > limit:
            raise BodyProblem(413, f"media file larger than {limit} bytes")
        try:
            checked = check_photo(upload.data, limit)
        except PhotoRefused:
            raise BodyProblem(400, f"media must be a {ACCEPTED_TYPES} image (checked from the "
                                   "file's content, not its name); nothing was stored") from None
        return checked, (upload.filename or "")[:200] or None

    def _client_app(self, given: str) -> tuple[bool, str | None]:
        """(keys configured?, the client's app): "" for the one api_key, a name from
        api_keys, None when no configured key matches (or none is configured)."""
        main = self.cfg.api_key.get_secret_value()
        keyed = bool(main or self.cfg.api_keys)
        app = None
        if main and constant_time_equal(given, main):
            app = ""
        for name, key in self.cfg.api_keys.items():
            if constant_time_equal(given, key.get_secret_value()):
                app = name
        return keyed, app

    async def _same_request(self, token: str, fields: dict[str, str]) -> bool:
        """A retried request, or another request reusing the key? (Keys are the client's.)"""
        async with self.ctx.sessions() as session:
            stored = (await session.execute(select(InboxEvent.payload).where(
                InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar()
        if stored is None:
            return True
        volatile = ("received_at", "_token")
        before = {k: v for k, v in json.loads(stored).items() if k not in volatile}
        return before == {k: v for k, v in fields.items() if k not in volatile}

    async def _known_token(self, token: str) -> bool:
        async with self.ctx.sessions() as session:
            return (await session.execute(select(InboxEvent.id).where(
                InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar() is not None

    async def _code_for_token(self, token: str) -> str | None:
        async with self.ctx.sessions() as session:
            return (await session.execute(
                select(Report.code).join(InboxEvent, InboxEvent.report_id == Report.id)
                .where(InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar()

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        """A media_url outside ``media_hosts`` is never fetched (no server-side request
        forgery) but kept as a link: the center and the agency still see what the client sent
        (a photo-only request would otherwise reach them empty)."""
        message = parse_request(payload)
        allowed = self.allowed_media_hosts
        message.attachments = [
            ref if ref.kind != "image" or not ref.url or host_allowed(ref.url, allowed)
            else dataclasses.replace(ref, kind="link") for ref in message.attachments]
        return [message]

    # --- reading -----------------------------------------------------------------------------
    async def get_token(self, request: web.Request, fmt: str) -> web.Response:
        token = request.match_info["token"]
        if len(token.rsplit(":", 1)[-1]) < MIN_LOOKUP:
            # a short key ("1") is guessable: looking it up would show other clients' codes
            return error(fmt, 404, f"token not found (keys under {MIN_LOOKUP} characters are not "
                                   "looked up; retry the POST with the same key for its id)")
        code = await self._code_for_token(token)
        if code is None and not await self._known_token(token):
            return error(fmt, 404, "token not found")
        return respond(fmt, "service_requests", [{"service_request_id": code, "token": token}])

    async def get_request(self, request: web.Request, fmt: str) -> web.Response:
        """A public report in full (masked, rounded); one still in triage as its code and
        status only (the client that sent it may follow it); a hidden or missing one is 404."""
        code = request.match_info["code"]
        async with self.ctx.sessions() as session:
            report = (await session.execute(select(Report).where(
                Report.code == code, *public_conditions()))).scalar_one_or_none()
            if report is None:
                pending = await pending_report(session, code)
                if pending is None or pending.hidden:
                    return error(fmt, 404, "service_request_id not found")
                return respond(fmt, "service_requests", [pending_request(pending)])
            return respond(fmt, "service_requests", await public_requests(
                session, [report], self.zone, self.ctx.public_coordinate_decimals,
                self.ctx.public_base_url))

    async def list_requests(self, request: web.Request, fmt: str) -> web.Response:
        try:
            conds, limit, offset = request_filters(request.query, utcnow())
        except QueryError as exc:
            return error(fmt, 400, str(exc))
        async with self.ctx.sessions() as session:
            reports = await find_requests(session, conds, limit, offset)
            found = await public_requests(session, reports, self.zone,
                                          self.ctx.public_coordinate_decimals,
                                          self.ctx.public_base_url)
            # asked by id (a client following what it sent): those still in triage by status
            public = {r.code for r in reports}
            pending = await pending_statuses(
                session, [c for c in asked_ids(request.query) if c not in public])
            for code in pending:
                one = await pending_report(session, code)
                if one is not None and not one.hidden:
                    found.append(pending_request(one))
            return respond(fmt, "service_requests", found)

    # --- sending -----------------------------------------------------------------------------
    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        """The portal and app read updates from the report's status page and from GET
        requests (status_notes): posting there is the delivery (like FixMyStreet's null
        sender, a real and selectable sender)."""
        return DeliveryResult.sent(provider_id=f"status-page:{message.report_code or ''}")


def validate_request(fields: dict[str, str]) -> tuple[int, str] | None:
    """(HTTP status, description) of the first problem, or None. An unknown service_code is a
    404 (the spec's "service_code was not found"); everything else a 400."""
    service = fields.get("service_code", "").strip()
    if not service:
        return 400, "service_code is required"
    if service not in CATEGORIES:
        return 404, f"service_code {service!r} not found"
    has_lat, has_lon = bool(fields.get("lat", "").strip()), bool(fields.get("long", "").strip())
    if has_lat != has_lon:  # half a position would be stored half-filled
        return 400, "lat and long must be given together"
    has_latlon = has_lat and has_lon
    if not (has_latlon or fields.get("address_string", "").strip() or fields.get("address_id", "").strip()):
        return 400, "a location is required: lat and long, address_string or address_id"
    try:
        lat, lon = _float(fields, "lat"), _float(fields, "long")
    except ValueError:
        return 400, "lat and long must be numbers"
    if lat is not None and not -90 <= lat <= 90 or lon is not None and not -180 <= lon <= 180:
        return 400, "lat/long out of range"
    if not fields.get("description", "").strip() and not fields.get("media_url", "").strip():
        return 400, "description or media_url is required"
    if len(fields.get("description", "")) > DESCRIPTION_MAX:
        return 400, f"description longer than {DESCRIPTION_MAX} characters"
    name = " ".join(fields.get(k, "").strip() for k in ("last_name", "first_name")).strip()
    for label, value, limit in (("address_string", fields.get("address_string", "").strip(), "address"),
                                ("last_name and first_name", name, "name")):
        if len(value) > FIELD_MAX[limit]:
            return 400, f"{label} longer than {FIELD_MAX[limit]} characters"
    media = fields.get("media_url", "").strip()
    if media and not re.match(r"https?://[^\s/]+", media):
        return 400, "media_url must be an http(s) URL"
    from normalizer.phones import is_email, normalize_phone

    phone = fields.get("phone", "").strip()
    if phone and normalize_phone(phone) is None:
        return 400, "phone is not a valid Vietnamese phone number"
    email = fields.get("email", "").strip()
    if email and not is_email(email):
        return 400, "email is not valid"
    return None


def parse_request(fields: dict[str, Any]) -> InboundMessage:
    """Pure: a stored Open311 form → InboundMessage."""
    from normalizer.phones import normalize_phone
    from normalizer.text import nfc

    phone = normalize_phone(fields["phone"]) if fields.get("phone") else None
    email = (fields.get("email") or "").strip().lower() or None
    # Vietnamese order, family name first: last_name "Nguyễn", first_name "Văn A" → "Nguyễn Văn
    # A" (router.open311_client._given_family splits it back the same way for an agency).
    name = " ".join(p.strip() for p in (fields.get("last_name"), fields.get("first_name"))
                    if p and p.strip()) or None
    # Nothing on the web channel proves who the citizen is: a request names only itself, so a
    # stranger posting someone's email cannot rewrite that person's stored name and phone.
    sender = f"web:{fields.get('_token', '')}"
    lat, lon = _float(fields, "lat"), _float(fields, "long")
    address = nfc(fields.get("address_string") or "").strip() or None
    address_id = nfc(str(fields.get("address_id") or "")).strip()
    if address is None and address_id:
        address = address_from_id(address_id)  # the agency sees the place it was given
    location = Location(lat=lat, lon=lon, address=address) if (lat is not None or address) else None
    media_url = (fields.get("media_url") or "").strip()
    attachments = [AttachmentRef(kind="image", url=media_url)] if media_url else []
    # validate_request checked the stripped code: the report gets the same one (" environment "
    # is the environment service, not triage's "other").
    service = str(fields.get("service_code") or "").strip() or None
    meta: dict[str, Any] = {"service_code": service}
    echoed = {k: str(fields[k]).strip()[:500] for k in ECHOED if str(fields.get(k) or "").strip()}
    if echoed:
        meta["open311"] = echoed  # given back in GET requests (the report keeps it)
    if service and service != "other":
        meta["category_hint"] = service
    created = fields.get("received_at")
    if created:
        meta["created_at"] = datetime.fromisoformat(created)
    return InboundMessage(
        channel="web", external_id=str(fields.get("_token", "")), sender_id=sender, kind="message",
        text=nfc(fields.get("description") or ""), sent_at=meta.get("created_at"),
        attachments=attachments, location=location,
        contact=ContactInfo(name=name, phone=phone, email=email), meta=meta)
