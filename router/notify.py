"""Citizen notifications through the outbox, on the channel the report came from."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import OutboundMessage
from router import templates
from router.fallback import route_elsewhere
from router.messages import (  # noqa: F401 (the public face of citizen messaging)
    agency_name,
    citizen_message,
    outbound_row,
    status_url,
    template_fields,
)
from store.models import Contact, OutboxMessage, Report

if TYPE_CHECKING:
    from router.context import RouterContext


async def enqueue_citizen_message(session: AsyncSession, ctx: RouterContext, report: Report, template: str,
                                  *, extra_text: str = "", **fields: Any) -> OutboxMessage | None:
    """Queue a citizen message on the origin channel. When that channel cannot reach them — no
    reply address (a withheld hotline number), or they blocked the bot / unfollowed the OA —
    it goes straight to the next contact point they gave, else to the operators' call-back
    list (router.fallback)."""
    values = await template_fields(session, ctx, report)
    values.update(fields)
    unreachable = None
    if not report.reply_address:
        unreachable = f"no reply address on {report.channel}"
    elif report.contact_id is not None:
        contact = await session.get(Contact, report.contact_id)
        if contact is not None and contact.channel == report.channel and contact.state in (
                "blocked", "unfollowed"):
            unreachable = f"{report.channel}: the citizen {contact.state} us"
    elif report.channel not in ctx.senders:
        unreachable = f"{report.channel}: no route to send on"
    if unreachable:
        return await route_elsewhere(ctx, session, report, template, values, reason=unreachable)
    message = citizen_message(template, report.channel, values, extra_text=extra_text,
                              reply_context=report.reply_context, report_code=report.code)
    row = outbound_row(channel=report.channel, address=report.reply_address, report=report,
                       template=template, message=message)
    session.add(row)
    ctx.wake_outbox()
    return row


# Template name of a channel's "share your phone" card (Zalo's request-user-info); the channel's
# sender formats a row with this template as its card.
REQUEST_PHONE = "request_user_info"


async def request_phone(session: AsyncSession, ctx: RouterContext, report: Report,
                        address: str | None = None) -> OutboxMessage | None:
    """Ask the citizen for their phone with the channel's own card (same transaction). Their
    answer arrives as a contact event and fills the contact's name, phone and address.
    Anonymous chats cannot receive it."""
    address = address or report.reply_address
    if not address or address.startswith("anonymous:"):
        return None
    code = report.code or ""
    title = templates.render("zalo_request_info_title")
    subtitle = templates.render("zalo_request_info_subtitle" if code else
                                "zalo_request_info_subtitle_nocode", code=code)
    message = OutboundMessage(text=subtitle, report_code=code or None, template=REQUEST_PHONE,
                              template_data={"title": title, "subtitle": subtitle})
    row = outbound_row(channel=report.channel, address=address, report=report,
                       template=REQUEST_PHONE, message=message)
    session.add(row)
    ctx.wake_outbox()
    return row
