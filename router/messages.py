"""Citizen messages as outbox rows: the fields every template gets, the text for a channel
(its ``template@channel`` variant), and the one constructor of outbox rows."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import OutboundMessage
from router import templates
from store.models import Agency, OutboxMessage, Report

if TYPE_CHECKING:
    from router.context import RouterContext


def status_url(ctx: RouterContext, code: str | None) -> str:
    return f"{ctx.public_base_url.rstrip('/')}/r/{code}"


async def agency_name(session: AsyncSession, agency_id: str | None, ctx: RouterContext | None = None) -> str:
    if not agency_id:
        return "Trung tâm Giám sát, điều hành đô thị thông minh"
    if ctx is not None:  # agencies are configured in settings: no query on the hot path
        for agency in ctx.agencies:
            if agency.id == agency_id:
                return agency.name
    name = (await session.execute(select(Agency.name).where(Agency.id == agency_id))).scalar()
    return name or agency_id


async def template_fields(session: AsyncSession, ctx: RouterContext, report: Report) -> dict[str, Any]:
    return {"code": report.code, "status_url": status_url(ctx, report.code),
            "agency": await agency_name(session, report.agency_id, ctx),
            "status_label": templates.STATUS_LABELS.get(report.status, report.status)}


def outbound_row(*, channel: str, address: str, report: Report | None, template: str | None,
                 message: OutboundMessage, purpose: str = "citizen",
                 fallback_of: int | None = None) -> OutboxMessage:
    """The one place outbox rows are made: every text is final here (channels only transmit)."""
    if purpose == "citizen":
        message = templates.for_channel(message, channel)
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
