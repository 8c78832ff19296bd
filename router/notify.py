"""Citizen notifications through the outbox, on the channel the report came from."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import OutboundMessage
from router import templates
from store.models import Agency, Contact, OutboxMessage, Report

if TYPE_CHECKING:
    from hub.context import Hub


def status_url(hub: Hub, code: str | None) -> str:
    return f"{hub.settings.server.public_base_url.rstrip('/')}/r/{code}"


async def agency_name(session: AsyncSession, agency_id: str | None, hub: Hub | None = None) -> str:
    if not agency_id:
        return "Trung tâm Giám sát, điều hành đô thị thông minh"
    if hub is not None:  # agencies are configured in settings: no query on the hot path
        for agency in hub.settings.agencies:
            if agency.id == agency_id:
                return agency.name
    name = (await session.execute(select(Agency.name).where(Agency.id == agency_id))).scalar()
    return name or agency_id


async def template_fields(session: AsyncSession, hub: Hub, report: Report) -> dict[str, Any]:
    return {"code": report.code, "status_url": status_url(hub, report.code),
            "agency": await agency_name(session, report.agency_id, hub),
            "status_label": templates.STATUS_LABELS.get(report.status, report.status)}


def outbound_row(*, channel: str, address: str, report: Report | None, template: str | None,
                 message: OutboundMessage, purpose: str = "citizen",
                 fallback_of: int | None = None) -> OutboxMessage:
    return OutboxMessage(purpose=purpose, channel=channel, address=address,
                         report_id=report.id if report else None, template=template,
                         payload=dataclasses.asdict(message), state="pending",
                         fallback_of=fallback_of)


def citizen_message(template: str, channel: str, values: dict[str, Any], *,
                    reply_context: dict[str, Any] | None = None, extra_text: str = "",
                    report_code: str | None = None) -> OutboundMessage:
    """The message for ``channel`` (its ``template@channel`` variant when there is one)."""
    return OutboundMessage(
        text=templates.render_for(template, channel, **values) + extra_text,
        subject=templates.subject(template, **values), report_code=report_code,
        reply_context=dict(reply_context or {}), template=template,
        template_data={k: str(v) for k, v in values.items() if v is not None})


async def enqueue_citizen_message(session: AsyncSession, hub: Hub, report: Report, template: str,
                                  *, extra_text: str = "", **fields: Any) -> OutboxMessage | None:
    """Queue a citizen message on the origin channel. When that channel cannot reach them — no
    reply address (a withheld hotline number), or they blocked the bot / unfollowed the OA —
    it goes straight to the next contact point they gave, else to the operators' call-back
    list (router.fallback)."""
    values = await template_fields(session, hub, report)
    values.update(fields)
    unreachable = None
    if not report.reply_address:
        unreachable = f"no reply address on {report.channel}"
    elif report.contact_id is not None:
        contact = await session.get(Contact, report.contact_id)
        if contact is not None and contact.channel == report.channel and contact.state in (
                "blocked", "unfollowed"):
            unreachable = f"{report.channel}: the citizen {contact.state} us"
    if unreachable:
        from router.fallback import route_elsewhere

        return await route_elsewhere(hub, session, report, template, values, reason=unreachable)
    message = citizen_message(template, report.channel, values, extra_text=extra_text,
                              reply_context=report.reply_context, report_code=report.code)
    row = outbound_row(channel=report.channel, address=report.reply_address, report=report,
                       template=template, message=message)
    session.add(row)
    hub.outbox_wakeup.set()
    return row
