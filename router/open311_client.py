"""Agencies whose own system speaks Open311 GeoReport v2: a delivery route and a status poll.

Like FixMyStreet's Open311 sender, a new report for such an agency (``[[agencies]]
open311_endpoint``, ``open311_api_key``, ``open311_jurisdiction``) is POSTed, form-encoded, to
``{endpoint}/requests.xml`` (XML is the format every GeoReport v2 server must speak). The
answer's ``service_request_id`` — or its ``token``, turned into one through
``tokens/{token}.xml``, now or on a later poll — is kept on the report
(``extra["open311_ticket"]``) and as the outbox row's provider id.

The leader polls ``requests.xml?service_request_id=a,b,…`` for the reports still open with the
agency and applies what changed to our lifecycle, as the agency acting through the API would:
``closed`` (or FixMyStreet's ``fixed``…) → resolved with the agency's ``status_notes`` as the
result; any other status, or a new note, on a forwarded report → in_progress; a new note later →
a reply. The citizen hears each on their own channel (router.lifecycle → outbox).
"""
from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import select

from normalizer.schema import CATEGORIES, DeliveryResult, OutboundMessage
from normalizer.text import fold
from router import lifecycle, templates
from router.delivery import _AgencySender, agency_settings
from router.notify import agency_name
from store.models import OutboxMessage, Report

if TYPE_CHECKING:
    from router.context import RouterContext
    from router.settings import AgencySettings

log = logging.getLogger("hub.router.open311")

OPEN311_POLL_SECONDS = 120.0
TICKET = "open311_ticket"  # report.extra key
SENDER = "agency_open311"
MAX_ANSWER_BYTES = 2 * 1024 * 1024
IDS_PER_POLL = 50
TIMEOUT = aiohttp.ClientTimeout(total=20)
# Statuses seen in the wild beside the spec's open/closed (FixMyStreet's extended set).
DONE = {"closed", "fixed", "resolved", "duplicate", "no_further_action"}
NOT_OURS = {"not_councils_responsibility", "internal_referral", "wrong_agency"}
POLLED = ("forwarded", "in_progress")


class Open311Error(Exception):
    """The agency's server answered something we cannot use (said why, without secrets)."""


def parse_answer(body: bytes, content_type: str = "") -> list[dict[str, Any]]:
    """A GeoReport v2 answer (XML, or JSON when the server sent JSON) as a list of dicts of
    strings: ``<service_requests><request>…`` → ``[{…}]``, ``<errors><error>…`` too."""
    text = body.decode("utf-8", "replace").lstrip("\ufeff \r\n\t")
    if "json" in content_type or text[:1] in ("[", "{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise Open311Error("answer is not JSON") from exc
        items = data if isinstance(data, list) else [data]
        return [{k: ("" if v is None else str(v)) for k, v in item.items()}
                for item in items if isinstance(item, dict)]
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise Open311Error(f"answer is not XML ({exc})") from None
    return [{child.tag: (child.text or "").strip() for child in item} for item in root]


def _errors(items: list[dict[str, Any]]) -> str:
    return "; ".join(i.get("description", "") for i in items if i.get("description"))[:300]


def _given_family(name: str | None) -> tuple[str, str]:
    """Vietnamese names are family name first: "Nguyễn Thị Lan" → ("Thị Lan", "Nguyễn")."""
    parts = (name or "").split()
    if len(parts) < 2:
        return (parts[0] if parts else ""), ""
    return " ".join(parts[1:]), parts[0]


class Open311Sender(_AgencySender):
    """``agency_open311``: the address is the agency id; endpoint and key come from settings."""

    name = SENDER

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        agency = agency_settings(self.ctx, address)
        if agency is None or not agency.open311_endpoint:
            return DeliveryResult.give_up(f"agency {address} has no open311_endpoint configured")
        report, refused = await self._report_for(message)
        if refused:
            return DeliveryResult.give_up(refused)
        if report is None or report.get("withdrawn"):
            return DeliveryResult.give_up("nothing to post: the report is gone or withdrawn")
        async with self.ctx.sessions() as session:
            extra = (await session.execute(select(Report.extra).where(
                Report.code == report["code"]))).scalar()
            ticket = (extra or {}).get(TICKET) or {}
        if ticket.get("agency") == agency.id and (ticket.get("service_request_id") or ticket.get("token")):
            # Already posted (a retry after the answer was recorded): never post twice.
            return DeliveryResult.sent(provider_id=ticket.get("service_request_id")
                                       or f"token:{ticket['token']}")
        try:
            service_code = await self._service_code(agency, report.get("category") or "other")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return DeliveryResult.retry(f"Open311 endpoint unreachable: {type(exc).__name__}")
        except Open311Error as exc:
            return DeliveryResult.retry(str(exc))
        except LookupError as exc:
            return DeliveryResult.give_up(str(exc))
        try:
            status, items = await self._call(agency, "POST", "requests.xml",
                                             form=self._form(agency, report, service_code))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return DeliveryResult.retry(f"Open311 endpoint unreachable: {type(exc).__name__}")
        except Open311Error as exc:
            # It answered, but not in a form we can read: it may hold the request already, so
            # posting again could make a second one. Dead-lettered with the reason instead.
            return DeliveryResult.give_up(f"Open311 answer to the POST unreadable: {exc}")
        if status in (408, 425, 429) or status >= 500:
            return DeliveryResult.retry(f"Open311 endpoint answered HTTP {status}")
        if status >= 300:
            return DeliveryResult.give_up(
                f"Open311 endpoint refused the request (HTTP {status}): {_errors(items)}")
        first = items[0] if items else {}
        srid, token = first.get("service_request_id") or None, first.get("token") or None
        if srid is None and token:
            srid = await self._id_from_token(agency, token)
        await _save_ticket(self.ctx, report["code"], {
            "agency": agency.id, "service_request_id": srid, "token": token,
            "service_code": service_code, "status": "open", "notes": None, "updated": None})
        if srid is None and token is None:
            return DeliveryResult.sent(provider_id="open311:blackbox")  # nothing to poll
        return DeliveryResult.sent(provider_id=srid or f"token:{token}")

    def _form(self, agency: AgencySettings, report: dict[str, Any], service_code: str) -> dict[str, str]:
        loc = report.get("location") or {}
        citizen = report.get("citizen") or {}
        given, family = _given_family(citizen.get("name"))
        # Open311 needs a location; a report placed only in its text goes with the province,
        # the description saying where.
        address = ", ".join(str(v) for v in (loc.get("address"), loc.get("ward")) if v) or (
            self.ctx.routing.province)
        description = f"{report.get('description') or ''}\n\nMã phản ánh: {report['code']}".strip()
        form = {
            "api_key": agency.open311_api_key.get_secret_value(),
            "jurisdiction_id": agency.open311_jurisdiction,
            "service_code": service_code,
            "lat": "" if loc.get("lat") is None else repr(float(loc["lat"])),
            "long": "" if loc.get("lon") is None else repr(float(loc["lon"])),
            "address_string": address,
            "description": description[:4000],
            "email": citizen.get("email") or "",
            "phone": citizen.get("phone") or "",
            "first_name": given,
            "last_name": family,
        }
        return {k: v for k, v in form.items() if v}

    async def _service_code(self, agency: AgencySettings, category: str) -> str:
        if category in agency.open311_services:
            return agency.open311_services[category]
        status, services = await self._call(agency, "GET", "services.xml")
        if status != 200:
            raise Open311Error(f"services.xml answered HTTP {status}")
        name = fold(CATEGORIES.get(category, ""))
        for service in services:
            if service.get("service_code") == category or (
                    name and fold(service.get("service_name", "")) == name):
                return str(service["service_code"])
        if len(services) == 1 and services[0].get("service_code"):
            return str(services[0]["service_code"])
        raise LookupError(f"agency {agency.id}: no Open311 service for category {category}; "
                          f"map it in open311_services")

    async def _id_from_token(self, agency: AgencySettings, token: str) -> str | None:
        try:
            status, items = await self._call(agency, "GET", f"tokens/{token}.xml")
        except (aiohttp.ClientError, TimeoutError, Open311Error):
            return None
        if status == 200 and items:
            return items[0].get("service_request_id") or None
        return None

    async def _call(self, agency: AgencySettings, method: str, path: str, *,
                    form: dict[str, str] | None = None,
                    params: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
        return await call(self.ctx, agency, method, path, form=form, params=params)


async def call(ctx: RouterContext, agency: AgencySettings, method: str, path: str, *,
               form: dict[str, str] | None = None,
               params: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    """One request to the agency's endpoint: (HTTP status, parsed items). Redirects are not
    followed (the api_key would go along)."""
    query = dict(params or {})
    if method == "GET" and agency.open311_jurisdiction:
        query.setdefault("jurisdiction_id", agency.open311_jurisdiction)
    async with ctx.http.request(method, f"{agency.open311_endpoint}/{path}", params=query or None,
                                data=form, allow_redirects=False, timeout=TIMEOUT) as resp:
        body = await resp.content.read(MAX_ANSWER_BYTES + 1)
        if len(body) > MAX_ANSWER_BYTES:
            raise Open311Error(f"{path}: answer larger than {MAX_ANSWER_BYTES} bytes")
        if resp.status >= 500 or not body.strip():
            return resp.status, []
        return resp.status, parse_answer(body, resp.headers.get("Content-Type", ""))


async def _save_ticket(ctx: RouterContext, code: str, ticket: dict[str, Any]) -> None:
    async with ctx.sessions() as session, session.begin():
        report = (await session.execute(select(Report).where(Report.code == code)
                                        .with_for_update())).scalar_one_or_none()
        if report is not None:
            report.extra = {**(report.extra or {}), TICKET: ticket}


# --- polling --------------------------------------------------------------------------------

async def poll_open311(ctx: RouterContext) -> dict[str, int]:
    """One pass over every Open311 agency (leader only). Returns counts for logs and tests."""
    counts = {"polled": 0, "changed": 0, "failed": 0}
    for agency in ctx.agencies:
        if not agency.open311_endpoint:
            continue
        try:
            await _poll_agency(ctx, agency, counts)
        except (aiohttp.ClientError, TimeoutError, Open311Error) as exc:
            counts["failed"] += 1
            log.warning("Open311 poll of agency %s failed: %s", agency.id, type(exc).__name__)
    if counts["changed"]:
        log.info("Open311 poll: %(polled)d polled, %(changed)d changed", counts)
    return counts


async def _open_tickets(ctx: RouterContext, agency: AgencySettings) -> dict[str, dict[str, Any]]:
    """code → ticket, for the agency's reports still open with it that were posted there."""
    async with ctx.sessions() as session:
        rows = (await session.execute(
            select(Report.code, Report.extra).join(OutboxMessage, OutboxMessage.report_id == Report.id)
            .where(OutboxMessage.channel == SENDER, OutboxMessage.address == agency.id,
                   OutboxMessage.state == "sent", Report.agency_id == agency.id,
                   Report.status.in_(POLLED)))).all()
    out = {}
    for code, extra in rows:
        ticket = (extra or {}).get(TICKET) or {}
        if ticket.get("agency") == agency.id and code:
            out[code] = ticket
    return out


async def _poll_agency(ctx: RouterContext, agency: AgencySettings, counts: dict[str, int]) -> None:
    tickets = await _open_tickets(ctx, agency)
    sender = Open311Sender(ctx)
    for code, ticket in tickets.items():
        if not ticket.get("service_request_id") and ticket.get("token"):
            srid = await sender._id_from_token(agency, ticket["token"])
            if srid:
                ticket = {**ticket, "service_request_id": srid}
                tickets[code] = ticket
                await _save_ticket(ctx, code, ticket)
    by_id = {t["service_request_id"]: code for code, t in tickets.items() if t.get("service_request_id")}
    ids = sorted(by_id)
    for start in range(0, len(ids), IDS_PER_POLL):
        chunk = ids[start:start + IDS_PER_POLL]
        status, items = await call(ctx, agency, "GET", "requests.xml",
                                   params={"service_request_id": ",".join(chunk)})
        if status != 200:
            raise Open311Error(f"requests.xml answered HTTP {status}")
        counts["polled"] += len(chunk)
        for item in items:
            code = by_id.get(item.get("service_request_id", ""))
            if code is not None and await apply_update(ctx, agency, code, tickets[code], item):
                counts["changed"] += 1


async def apply_update(ctx: RouterContext, agency: AgencySettings, code: str, ticket: dict[str, Any],
                       item: dict[str, Any]) -> bool:
    """Apply one polled ``request`` to the report (one transaction: status, event, citizen
    message). Returns whether anything changed."""
    status = (item.get("status") or "").strip().lower()
    notes = (item.get("status_notes") or "").strip() or None
    if (status, notes) == (ticket.get("status"), ticket.get("notes")):
        return False
    async with ctx.sessions() as session, session.begin():
        report = (await session.execute(select(Report).where(Report.code == code)
                                        .with_for_update())).scalar_one_or_none()
        if report is None or report.agency_id != agency.id:
            return False
        target, note = _target(report.status, status, notes, ticket)
        try:
            if target == "reply":
                lifecycle.record(session, report, actor=agency.id, kind="reply", note=note,
                                 public=False)
                await lifecycle.notify_citizen(session, ctx, report, "agency_reply", note=note,
                                               agency=await agency_name(session, agency.id))
            elif target is not None:
                await lifecycle.change_status(ctx, session, report, target, actor=agency.id,
                                              center=False, note=note)
        except (lifecycle.IllegalTransition, lifecycle.StatusRefused) as exc:
            log.warning("Open311 update for %s not applied: %s", code, exc)
        report.extra = {**(report.extra or {}), TICKET: {
            **ticket, "status": status, "notes": notes, "updated": item.get("updated_datetime")}}
    return True


def _target(current: str, status: str, notes: str | None,
            ticket: dict[str, Any]) -> tuple[str | None, str | None]:
    """(our new status, or "reply" for a new note only, or None; the note to go with it)."""
    if status in DONE:
        return "resolved", notes or templates.render("open311_resolved_note")
    if status in NOT_OURS:
        return "returned", notes or templates.render("open311_returned_note")
    if current == "forwarded" and (status != "open" or notes):
        return "in_progress", notes
    if notes and notes != ticket.get("notes"):
        return "reply", notes
    return None, None
