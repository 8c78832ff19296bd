"""Citizen notifications through the outbox, on the channel the report came from."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import OutboundMessage
from router import templates
from router.fallback import contact_points, route_elsewhere
from router.messages import (  # noqa: F401 (the public face of citizen messaging)
    QUESTION_TEMPLATES,
    agency_name,
    citizen_message,
    outbound_row,
    question,
    status_url,
    template_fields,
)
from store.models import Contact, OutboxMessage, Report
from store.reports import record_event

if TYPE_CHECKING:
    from router.context import RouterContext


# Status news a merged duplicate's reporter also hears ("me too"), by template; a resolved
# report asks only its own reporter for a rating.
SUBSCRIBER_TEMPLATES = {"forwarded": "forwarded", "rerouted": "rerouted",
                        "in_progress": "in_progress", "resolved": "resolved_merged",
                        "rejected": "rejected", "agency_reply": "agency_reply", "closed": "closed"}
# Not mirrored by email to citizens of channels they cannot answer on: questions and answers of
# a conversation they are not in.
_NOT_MIRRORED = frozenset({"dialogue_thanks", "dialogue_triage"})


async def enqueue_citizen_message(session: AsyncSession, ctx: RouterContext, report: Report, template: str,
                                  *, extra_text: str = "", ask: str | None = None,
                                  **fields: Any) -> OutboxMessage | None:
    """Queue a citizen message on the origin channel. When that channel cannot reach them — no
    reply address (a withheld hotline number), or they blocked the bot / unfollowed the OA —
    it goes straight to the next contact point they gave, else to the operators' call-back
    list (router.fallback). ``ask`` adds one question of the intake dialogue (with its buttons)
    under the text. A citizen on a channel they cannot answer on (web, hotline) who gave an
    email hears it by email too; reporters whose duplicates were merged into this report hear
    its status news on their own channel."""
    values = await template_fields(session, ctx, report)
    values.update(fields)
    row = await _deliver(session, ctx, report, template, values, extra_text=extra_text, ask=ask)
    if template in SUBSCRIBER_TEMPLATES and report.code:
        await _tell_merged_reporters(session, ctx, report, SUBSCRIBER_TEMPLATES[template], values)
    return row


async def _deliver(session: AsyncSession, ctx: RouterContext, report: Report, template: str | None,
                   values: dict[str, Any], *, extra_text: str = "", ask: str | None = None,
                   prefix: str = "") -> OutboxMessage | None:
    unreachable = None
    if not report.reply_address:
        unreachable = f"{report.channel}: không có địa chỉ để trả lời"
    elif report.channel not in ctx.senders:
        unreachable = f"{report.channel}: không gửi tin đi được trên kênh này"
    elif report.contact_id is not None:
        contact = await session.get(Contact, report.contact_id)
        if contact is not None and contact.channel == report.channel and contact.state in (
                "blocked", "unfollowed"):
            unreachable = f"{report.channel}: " + (
                "người dân đã chặn tin của Trung tâm" if contact.state == "blocked"
                else "người dân đã bỏ theo dõi")
    if unreachable:
        if template is None:
            return None  # a question only makes sense where the citizen can answer
        return await route_elsewhere(ctx, session, report, template, values, reason=unreachable,
                                     prefix=prefix)
    if template is not None:
        message = citizen_message(template, report.channel, values, extra_text=extra_text,
                                  reply_context=report.reply_context, report_code=report.code)
    else:
        message = OutboundMessage(text="", reply_context=dict(report.reply_context or {}),
                                  report_code=report.code,
                                  subject=templates.subject("ask", code=report.code))
    if ask:
        text, buttons = question(ask, report.channel)
        message = dataclasses.replace(
            message, text=f"{message.text}\n\n{text}" if message.text else text, ask=ask,
            quick_replies=buttons, template=message.template or QUESTION_TEMPLATES[ask])
    if prefix:
        message = dataclasses.replace(message, text=prefix + message.text)
    row = outbound_row(session, channel=report.channel, address=report.reply_address, report=report,
                       template=template or QUESTION_TEMPLATES.get(ask or "", None), message=message)
    ctx.wake_outbox()
    if template is not None and template not in _NOT_MIRRORED:
        await _mirror_by_email(session, ctx, report, template, values, prefix)
    return row


async def _mirror_by_email(session: AsyncSession, ctx: RouterContext, report: Report,
                           template: str, values: dict[str, Any], prefix: str) -> None:
    """A citizen who cannot answer on their channel (the web portal's status page, an SMS) and
    gave an email hears it there too: they can answer that mail (a rating, more details)."""
    if report.channel in ctx.dialogue_channels or "email" not in ctx.senders:
        return
    emails = (await contact_points(session, report))["email"]
    if not emails:
        return
    message = citizen_message(template, "email", values, report_code=report.code)
    if prefix:
        message = dataclasses.replace(message, text=prefix + message.text)
    outbound_row(session, channel="email", address=emails[0], report=report, template=template,
                 message=message)
    record_event(session, report, actor="system", kind="notification", public=False,
                 note=f"gửi kèm qua email ({template})")


async def _tell_merged_reporters(session: AsyncSession, ctx: RouterContext, report: Report,
                                 template: str, values: dict[str, Any]) -> None:
    """ "Me too": every report merged into this one as a duplicate is subscribed to it."""
    merged = (await session.execute(select(Report).where(
        Report.duplicate_of == report.code, Report.status == "duplicate",
        Report.id != report.id).order_by(Report.id).limit(500))).scalars().all()
    for dup in merged:
        prefix = templates.render("merged_prefix", own_code=dup.code, code=report.code)
        subscriber_values = {k: v for k, v in values.items() if k not in ("rate_url", "rate_link")}
        await _deliver(session, ctx, dup, template, subscriber_values, prefix=prefix)


async def ask_citizen(session: AsyncSession, ctx: RouterContext, report: Report,
                      slot: str) -> OutboxMessage | None:
    """One question of the intake dialogue, on its own (after the acknowledgement)."""
    return await _deliver(session, ctx, report, None, {}, ask=slot)


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
    row = outbound_row(session, channel=report.channel, address=address, report=report,
                       template=REQUEST_PHONE, message=message)
    ctx.wake_outbox()
    return row
