"""Citizen messages as outbox rows: the fields every template gets, the text for a channel
(its ``template@channel`` variant), and the one constructor of outbox rows."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import OutboundMessage
from router import templates
from store.ids import add_row
from store.models import Agency, OutboxMessage, Report

if TYPE_CHECKING:
    from router.context import RouterContext


def status_url(ctx: RouterContext, code: str | None) -> str:
    return f"{ctx.public_base_url.rstrip('/')}/r/{code}"


CENTER_NAME = "Trung tâm Giám sát, điều hành đô thị thông minh"


async def agency_name(session: AsyncSession, agency_id: str | None, ctx: RouterContext | None = None) -> str:
    if not agency_id:
        return CENTER_NAME
    if ctx is not None:  # agencies are configured in settings: no query on the hot path
        for agency in ctx.agencies:
            if agency.id == agency_id:
                return agency.name
    name = (await session.execute(select(Agency.name).where(Agency.id == agency_id))).scalar()
    return name or agency_id


async def template_fields(session: AsyncSession, ctx: RouterContext, report: Report) -> dict[str, Any]:
    return {"code": report.code, "status_url": status_url(ctx, report.code),
            "agency": await agency_name(session, report.agency_id, ctx),
            "status_label": templates.status_label(report.status, report.extra)}


_MESSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(OutboundMessage))


def message_payload(message: OutboundMessage) -> dict[str, Any]:
    """dataclasses.asdict for a message of plain values (JSON-like: dicts, lists, scalars), at
    a fraction of its cost on the inbox worker's hot path (one or more per report)."""
    return {name: _plain_copy(getattr(message, name)) for name in _MESSAGE_FIELDS}


def _plain_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(v) for v in value]
    return value


def outbound_row(session: AsyncSession, *, channel: str, address: str, report: Report | None,
                 template: str | None, message: OutboundMessage, purpose: str = "citizen",
                 fallback_of: int | None = None) -> OutboxMessage:
    """The one place outbox rows are made, and added to the transaction (``store.ids.add_row``):
    every text is final here (channels only transmit)."""
    if purpose == "citizen":
        message = templates.for_channel(message, channel)
    return add_row(session, OutboxMessage, purpose=purpose, channel=channel, address=address,
                   report_id=report.id if report else None, template=template,
                   payload=message_payload(message), state="pending", fallback_of=fallback_of)


# Messages a person wrote (an agency's reply), not the system: Messenger may deliver them with
# the HUMAN_AGENT tag up to 7 days after the citizen's last message (docs/channels/messenger.md).
HUMAN_TEMPLATES = frozenset({"agency_reply"})


def citizen_message(template: str, channel: str, values: dict[str, Any], *,
                    reply_context: dict[str, Any] | None = None, extra_text: str = "",
                    report_code: str | None = None) -> OutboundMessage:
    """The message for ``channel`` (its ``template@channel`` variant when there is one). A
    one-time rating link (``rate_url``) is worded for the channel it goes out on, so a message
    moved to SMS by the fallback chain carries the link the SMS variant needs."""
    values = dict(values)
    if values.get("status_url"):  # the short form SMS use ("phananh.hue.gov.vn/r/PA-…")
        values["status_link"] = str(values["status_url"]).split("://", 1)[-1]
    if values.get("rate_url"):
        values["rate_link"] = templates.render_for("rate_link", channel, rate_url=values["rate_url"])
    else:
        values.pop("rate_link", None)
    return OutboundMessage(
        text=templates.render_for(template, channel, **values) + extra_text,
        subject=templates.subject(template, **values), report_code=report_code,
        reply_context=dict(reply_context or {}), template=template,
        template_data={k: str(v) for k, v in values.items() if v is not None},
        automatic=template not in HUMAN_TEMPLATES)


# The intake dialogue's questions (normalizer.dialogue slots) and the buttons offered with them.
QUESTION_TEMPLATES = {"place": "ask_place", "photo": "ask_photo", "phone": "ask_phone"}
_QUESTION_BUTTONS = {"place": ("location",), "photo": (), "phone": ("phone",)}


def question(slot: str, channel: str) -> tuple[str, list[dict[str, str]]]:
    """The question for ``slot`` worded for ``channel``, and its buttons: the slot's native
    affordance (share location / phone) then "Bỏ qua" and "Xong". Senders render the kinds they
    have and drop the rest; the text never relies on a button."""
    text = templates.render_for(QUESTION_TEMPLATES[slot], channel)
    buttons = [{"kind": kind, "title": templates.render(f"button_{kind}"), "payload": kind}
               for kind in _QUESTION_BUTTONS[slot]]
    for word in ("skip", "done"):
        title = templates.render(f"button_{word}")
        buttons.append({"kind": "text", "title": title, "payload": title.lower()})
    return text, buttons
