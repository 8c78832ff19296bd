"""When the origin channel cannot reach the citizen: the next contact point they gave.

Messenger outside its 24-hour window, Zalo outside 7 days, a blocked Telegram bot, a bounced
mailbox: the channel's sender gives up, the dispatcher marks the row dead and calls
``reroute_failed_message``. The chain, in order, skipping routes already tried for this message:

1. ``zns`` — Zalo ZNS to the citizen's phone (when the Zalo channel provides that sender and
   ``channels.zalo.zns_template_id`` is set);
2. ``sms`` — the SMS gateway to the phone (when the hotline channel provides it);
3. ``email`` — to an email address the citizen gave (when the email channel is on);
4. the operator call-back list (a ``Callback`` row) when a phone is known.

Phones and emails come from the citizen's contact (what the channel or form told us) and from
contacts found in the report text. Every step is a report event (not public), so the agency and
the center see how the citizen was — or was not — reached.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.phones import normalize_phone, own_emails, own_phones
from normalizer.schema import DeliveryResult, OutboundMessage
from router import templates
from router.messages import citizen_message, outbound_row
from store.callbacks import add_callback
from store.models import Contact, OutboxMessage, Report
from store.reports import record_event

if TYPE_CHECKING:
    from router.context import RouterContext

log = logging.getLogger("hub.router.fallback")

# (outbox sender, kind of address it needs), in the order they are tried.
ROUTES: tuple[tuple[str, str], ...] = (("zns", "phone"), ("sms", "phone"), ("email", "email"))
# Messages that belong to the conversation on the citizen's channel (the dialogue's questions,
# replies to a command or to what they just wrote): never sent by another route.
CONVERSATION_TEMPLATES = frozenset({
    "ask", "ask_phone", "ask_photo", "ask_place", "category_chosen", "dialogue_thanks",
    "dialogue_triage", "smalltalk_greeting", "smalltalk_thanks", "welcome", "status_usage",
    "my_codes", "status", "status_own", "status_public", "status_unknown", "cancel_finished",
    "cancel_forwarded", "cancel_none", "rating_thanks", "followup_after_result",
    "followup_to_agency"})


def own_found(report: Report) -> tuple[list[str], list[str]]:
    """The phones and emails the report's text gives as the writer's own. Reports analysed
    before these were told apart (``found_contacts`` without ``own_*``) are read again."""
    found = (report.extra or {}).get("found_contacts") or {}
    if "own_phones" in found:
        return list(found.get("own_phones") or []), list(found.get("own_emails") or [])
    if not (found.get("phones") or found.get("emails")):
        return [], []
    text = f"{report.description or ''}\n{report.address or ''}"
    return own_phones(text), own_emails(text)


async def contact_points(session: AsyncSession, report: Report) -> dict[str, list[str]]:
    """Phones (E.164) and emails the citizen gave, best first, without duplicates: their
    contact's, then those their text gives as their own (``found_contacts`` ``own_*``); never
    another person's number their report names (the house owner, a contractor's card)."""
    phones: list[str] = []
    emails: list[str] = []
    contact = await session.get(Contact, report.contact_id) if report.contact_id else None
    own_phones, own_emails = own_found(report)
    for raw in [contact.phone if contact else None, *own_phones]:
        phone = normalize_phone(raw) if raw else None
        if phone and phone not in phones:
            phones.append(phone)
    for raw in [contact.email if contact else None, *own_emails]:
        email = (raw or "").strip().lower()
        if email and "@" in email and email not in emails:
            emails.append(email)
    if report.channel == "hotline" and report.reply_address:
        phone = normalize_phone(report.reply_address)
        if phone and phone not in phones:
            phones.append(phone)
    return {"phone": phones, "email": emails}


def candidate_routes(ctx: RouterContext, points: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(channel, address) for channel, kind in ROUTES if _can_send(ctx, channel)
            for address in points[kind][:1]]


def _can_send(ctx: RouterContext, channel: str) -> bool:
    """The route has a sender that can send a fallback. ZNS sends only an approved template:
    without ``channels.zalo.zns_template_id`` every message rerouted there died at once (and
    raised a dead-letter alert pointing at ZNS), so the chain goes on to SMS, email, call-back."""
    sender = ctx.senders.get(channel)
    if sender is None:
        return False
    cfg = getattr(sender, "cfg", None)
    if channel == "zns" and cfg is not None:
        return bool(getattr(cfg, "zns_template_id", True))
    return True


def route_key(ctx: RouterContext, channel: str, address: str) -> tuple[str, str]:
    """Two route names served by one sender (the hotline's route is its SMS gateway) are one
    route: a citizen is never tried twice through the same gateway."""
    sender = ctx.senders.get(channel)
    return (getattr(sender, "name", channel) if sender is not None else channel, address)


async def reroute_failed_message(ctx: RouterContext, session: AsyncSession, row: OutboxMessage, report: Report,
                                 result: DeliveryResult) -> OutboxMessage | None:
    """Called in the dispatcher's transaction when a citizen message went dead."""
    root_id = row.fallback_of or row.id
    tried = {route_key(ctx, r.channel, r.address) for r in (await session.execute(
        select(OutboxMessage).where(or_(OutboxMessage.id == root_id,
                                        OutboxMessage.fallback_of == root_id)))).scalars()}
    tried.add(route_key(ctx, row.channel, row.address))
    payload = dict(row.payload or {})
    values: dict[str, Any] = dict(payload.get("template_data") or {})
    reason = f"{row.channel}: {result.reason or row.last_error or 'failed'}"
    return await route_elsewhere(ctx, session, report, row.template, values, reason=reason,
                                 tried=tried, root_id=root_id, text=payload.get("text", ""),
                                 from_channel=row.channel)


async def route_elsewhere(ctx: RouterContext, session: AsyncSession, report: Report, template: str | None,
                          values: dict[str, Any], *, reason: str,
                          tried: set[tuple[str, str]] | None = None, root_id: int | None = None,
                          text: str = "", from_channel: str | None = None,
                          prefix: str = "") -> OutboxMessage | None:
    """Queue the message on the next untried route, else put the citizen on the call-back list.
    A message with a template is worded again for the new route, with the ``prefix`` the
    original carried ("Phản ánh … của bạn đã được gộp vào …": a merged reporter's own code)."""
    from_channel = from_channel or report.channel
    if template in CONVERSATION_TEMPLATES:
        # A question of the dialogue or a reply to what the citizen just wrote: on another
        # route (a paid ZNS template, an SMS) it could not be answered or would mean nothing.
        record_event(session, report, actor="system", kind="notification", public=False,
                     note=f"không chuyển tin trò chuyện '{template}' sang kênh khác ({reason})")
        return None
    templated = bool(template) and not str(template).startswith("command:")
    if templated and not prefix and text:
        prefix = _prefix_of(text, template, values, from_channel)
    tried = tried or set()
    if report.reply_address:
        tried.add(route_key(ctx, report.channel, report.reply_address))
    points = await contact_points(session, report)
    for channel, address in candidate_routes(ctx, points):
        if route_key(ctx, channel, address) in tried:
            continue
        if templated:
            message = citizen_message(template, channel, values, report_code=report.code)
            message = dataclasses.replace(message, text=prefix + message.text)
        else:
            message = citizen_message_text(text, report.code)
        new = outbound_row(session, channel=channel, address=address, report=report,
                           template=template, message=message, fallback_of=root_id)
        ctx.wake_outbox()
        record_event(session, report, actor="system", kind="notification", public=False,
                         note=f"chuyển thông báo sang {channel} ({reason})")
        ctx.metrics.outbox_attempts.labels(from_channel, "fallback", f"to_{channel}").inc()
        log.info("report %s: notification rerouted from %s to %s", report.code, from_channel, channel)
        return new
    # What an operator reads out: the template's @callback variant (no "reply with a number",
    # no link), never the chat text rendered for the channel that failed.
    message_text = (prefix + citizen_message(template, "callback", values).text if templated
                    else text)
    if points["phone"] and templated and template not in ctx.routing.callback_templates:
        # Operators call back for what needs a human voice (routing.callback_templates: the
        # result, a rejection, an agency's question), not to read out a receipt.
        record_event(session, report, actor="system", kind="notification", public=False,
                     note=f"không gọi lại cho thông báo '{template}' ({reason})")
        ctx.metrics.outbox_attempts.labels(from_channel, "fallback", "not_for_callback").inc()
    elif points["phone"]:
        await add_callback(session, phone=points["phone"][0], text=message_text,
                           report_code=report.code, reason=reason)
        record_event(session, report, actor="system", kind="notification", public=False,
                         note=f"đưa vào danh sách gọi lại ({reason})")
        ctx.metrics.outbox_attempts.labels(from_channel, "fallback", "to_callback").inc()
    else:
        record_event(session, report, actor="system", kind="notification", public=False,
                         note=f"không còn cách nào liên hệ công dân ({reason})")
        ctx.metrics.outbox_attempts.labels(from_channel, "fallback", "unreachable").inc()
        # A citizen who left no way to reach them (a withheld number, an anonymous form) is
        # expected; one whose channel and every contact point failed is worth a warning.
        (log.warning if report.reply_address else log.info)(
            "report %s: citizen unreachable after %s", report.code, from_channel)
    return None


def _prefix_of(text: str, template: str, values: dict[str, Any], channel: str) -> str:
    """What a sent text carried before its template's own words (a merged reporter's prefix)."""
    written = citizen_message(template, channel, values).text
    at = text.find(written) if written else -1
    return templates.without_salutation(text[:at]) if at > 0 else ""


def citizen_message_text(text: str, code: str | None) -> OutboundMessage:
    return OutboundMessage(text=text, report_code=code)
