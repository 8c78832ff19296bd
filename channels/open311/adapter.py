"""Web portal / mobile app channel: Open311 GeoReport v2 (JSON format).

POST requests.json is form-encoded as the spec says. The report is created by the inbox worker,
so the answer carries a ``token``; GET tokens/{token}.json turns it into the
``service_request_id`` once processed. A client may send ``Idempotency-Key`` (header) or
``client_token`` (field) so a retried POST never makes a second report.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import and_, select

from channels.base import ChannelAdapter, constant_time_equal
from channels.open311.settings import Open311Settings
from channels.webhook import refuse, store_events
from normalizer.schema import (
    CATEGORIES,
    OPEN_STATUSES,
    AttachmentRef,
    ContactInfo,
    DeliveryResult,
    InboundMessage,
    Location,
    OutboundMessage,
    RawEvent,
)
from store.models import InboxEvent, Report
from store.params import query_int

PREFIX = "/open311/v2"
MAX_DESCRIPTION = 4000
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


ACCEPTED_NOTICE = "Đã tiếp nhận, mã phản ánh sẽ có trong giây lát"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def open311_error(status: int, description: str) -> web.Response:
    return web.json_response([{"code": status, "description": description}], status=status)


def _float(form: Any, key: str) -> float | None:
    raw = (form.get(key) or "").strip()
    if not raw:
        return None
    return float(raw)


class WebChannel(ChannelAdapter):
    name = "web"
    settings_model = Open311Settings

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PREFIX}/services.json", self.services),
            web.get(f"{PREFIX}/services/{{code}}.json", self.service_definition),
            web.post(f"{PREFIX}/requests.json", self.post_request),
            web.get(f"{PREFIX}/requests.json", self.list_requests),
            web.get(f"{PREFIX}/requests/{{code}}.json", self.get_request),
            web.get(f"{PREFIX}/tokens/{{token}}.json", self.get_token),
        ]


    # --- intake ------------------------------------------------------------------------------
    async def services(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"service_code": code, "service_name": name, "description": name, "metadata": False,
             "type": "realtime", "keywords": SERVICE_KEYWORDS.get(code, ""), "group": "phan-anh"}
            for code, name in CATEGORIES.items()])

    async def service_definition(self, request: web.Request) -> web.Response:
        if request.match_info["code"] not in CATEGORIES:
            return open311_error(404, "service_code not found")
        return web.json_response({"service_code": request.match_info["code"], "attributes": []})

    async def post_request(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        ctx = self.ctx
        if request.content_length and request.content_length > ctx.max_body_bytes:
            return open311_error(413, "request body too large")
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            ctx.count_rejected("web", "content_type")
            return open311_error(400, "POST requests.json must be form-encoded")
        try:
            form = await request.post()
        except ValueError:  # a broken multipart body
            return open311_error(400, "the form body could not be read")
        api_key = self.cfg.api_key.get_secret_value()
        if api_key and not constant_time_equal(str(form.get("api_key", "")), api_key):
            refuse(ctx, "web", 403, "bad api_key")
            return open311_error(403, "api_key is missing or invalid")
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        problem = validate_request(fields)
        if problem:
            ctx.count_rejected("web", "invalid")
            return open311_error(400, problem)
        client_token = (request.headers.get("Idempotency-Key") or fields.pop("client_token", "")
                        or uuid.uuid4().hex)[:128]
        fields.pop("api_key", None)
        fields["_token"] = client_token
        fields["received_at"] = datetime.now().astimezone().isoformat()
        [result] = await store_events(ctx, "web", [RawEvent(client_token, fields)], started)
        if result.duplicate:
            if not await self._same_request(client_token, fields):
                ctx.count_rejected("web", "idempotency_conflict")
                return open311_error(409, "Idempotency-Key already used for a different request")
            code = await self._code_for_token(client_token)
            if code:
                return web.json_response([{"service_request_id": code}], status=200)
        return web.json_response([{"token": client_token, "service_notice": ACCEPTED_NOTICE}],
                                 status=201 if result.stored else 200, dumps=_dumps)

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

    async def _code_for_token(self, token: str) -> str | None:
        async with self.ctx.sessions() as session:
            return (await session.execute(
                select(Report.code).join(InboxEvent, InboxEvent.report_id == Report.id)
                .where(InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar()

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        return [parse_request(payload)]

    # --- reading -----------------------------------------------------------------------------
    async def get_token(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        code = await self._code_for_token(token)
        if code is None:
            async with self.ctx.sessions() as session:
                known = (await session.execute(select(InboxEvent.id).where(
                    InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar()
            if known is None:
                return open311_error(404, "token not found")
        return web.json_response([{"service_request_id": code, "token": token}])

    async def get_request(self, request: web.Request) -> web.Response:
        async with self.ctx.sessions() as session:
            report = (await session.execute(
                select(Report).where(Report.code == request.match_info["code"]))).scalar_one_or_none()
            if report is None:
                return open311_error(404, "service_request_id not found")
            return web.json_response([await self._public_request(session, report)])

    async def list_requests(self, request: web.Request) -> web.Response:
        q = request.query
        conds = []
        if q.get("service_request_id"):
            conds.append(Report.code.in_([c.strip() for c in q["service_request_id"].split(",")]))
        if q.get("service_code"):
            conds.append(Report.category.in_(q["service_code"].split(",")))
        if q.get("status"):
            wanted = set(q["status"].split(","))
            if wanted - {"open", "closed"}:
                return open311_error(400, "status must be open or closed")
            if wanted == {"open"}:
                conds.append(Report.status.in_(OPEN_STATUSES))
            elif wanted == {"closed"}:
                conds.append(Report.status.not_in(OPEN_STATUSES))
        try:
            for key, op in (("start_date", "ge"), ("end_date", "le")):
                if q.get(key):
                    when = datetime.fromisoformat(q[key])
                    if when.tzinfo is None:
                        raise ValueError(key)
                    conds.append(Report.created_at >= when if op == "ge" else Report.created_at <= when)
            limit = query_int(q.get("limit"), 1000, 1, 1000)
        except ValueError:
            return open311_error(400, "start_date/end_date must be ISO 8601 with a time zone; "
                                      "limit an integer")
        query = select(Report).where(Report.code.is_not(None))
        if conds:
            query = query.where(and_(*conds))
        query = query.order_by(Report.created_at.desc()).limit(limit)
        async with self.ctx.sessions() as session:
            reports = (await session.execute(query)).scalars().all()
            return web.json_response([await self._public_request(session, r) for r in reports])

    async def _public_request(self, session: Any, report: Report) -> dict[str, Any]:
        from store.models import Contact
        from store.serialize import iso, public_text

        contact = await session.get(Contact, report.contact_id) if report.contact_id else None
        return {
            "service_request_id": report.code,
            "status": "open" if report.status in OPEN_STATUSES else "closed",
            "status_notes": report.status,
            "service_name": CATEGORIES.get(report.category or "other"),
            "service_code": report.category,
            "description": public_text(report.description or "", contact),
            "agency_responsible": report.agency_id,
            "service_notice": None,
            "requested_datetime": iso(report.created_at),
            "updated_datetime": iso(report.updated_at),
            "expected_datetime": iso(report.due_at),
            "address": public_text(report.address, contact) if report.address else report.ward,
            "lat": report.lat,
            "long": report.lon,
            "media_url": None,
        }

    # --- sending -----------------------------------------------------------------------------
    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        """The portal and app read updates from the report's status page: posting there is the
        delivery (like FixMyStreet's null sender, a real and selectable sender)."""
        return DeliveryResult.sent(provider_id=f"status-page:{message.report_code or ''}")


def validate_request(fields: dict[str, str]) -> str | None:
    service = fields.get("service_code", "").strip()
    if not service:
        return "service_code is required"
    if service not in CATEGORIES:
        return f"service_code {service!r} not found"
    has_latlon = fields.get("lat", "").strip() and fields.get("long", "").strip()
    if not (has_latlon or fields.get("address_string", "").strip() or fields.get("address_id", "").strip()):
        return "a location is required: lat and long, address_string or address_id"
    try:
        lat, lon = _float(fields, "lat"), _float(fields, "long")
    except ValueError:
        return "lat and long must be numbers"
    if lat is not None and not -90 <= lat <= 90 or lon is not None and not -180 <= lon <= 180:
        return "lat/long out of range"
    if not fields.get("description", "").strip() and not fields.get("media_url", "").strip():
        return "description or media_url is required"
    if len(fields.get("description", "")) > MAX_DESCRIPTION:
        return f"description longer than {MAX_DESCRIPTION} characters"
    phone = fields.get("phone", "").strip()
    if phone:
        from normalizer.phones import normalize_phone

        if normalize_phone(phone) is None:
            return "phone is not a valid Vietnamese phone number"
    email = fields.get("email", "").strip()
    if email and ("@" not in email or " " in email or len(email) > 320):
        return "email is not valid"
    return None


def parse_request(fields: dict[str, Any]) -> InboundMessage:
    """Pure: a stored Open311 form → InboundMessage."""
    from normalizer.phones import normalize_phone
    from normalizer.text import nfc

    phone = normalize_phone(fields["phone"]) if fields.get("phone") else None
    email = (fields.get("email") or "").strip().lower() or None
    name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p) or None
    # Nothing on the web channel proves who the citizen is: a request names only itself, so a
    # stranger posting someone's email cannot rewrite that person's stored name and phone.
    sender = f"web:{fields.get('_token', '')}"
    lat, lon = _float(fields, "lat"), _float(fields, "long")
    address = nfc(fields.get("address_string") or "").strip() or None
    location = Location(lat=lat, lon=lon, address=address) if (lat is not None or address) else None
    attachments = [AttachmentRef(kind="image", url=fields["media_url"])] if fields.get("media_url") else []
    service = fields.get("service_code")
    meta: dict[str, Any] = {"service_code": service}
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
