"""The intake dialogue on a report: the state machine (normalizer.dialogue) fed with what the
report has, its questions sent through the router, and the report routed when the dialogue is
done or the assembly window ends (``close_expired_dialogues``, a leader job), whichever is first.

Only channels where the citizen can answer run it (``ChannelAdapter.dialogue``). On chat
channels the report waits in ``received`` while the dialogue runs; a mail is routed at once and
its questions go as short replies.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer import dialogue
from normalizer.dialogue import Dialogue, Step
from normalizer.schema import InboundMessage
from router import lifecycle, notify
from router.assign import route_new_report
from router.fallback import own_found
from store.models import Attachment, Contact, Report, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")

KEY = "dialogue"
PHOTO_KINDS = ("image", "video")


def state_of(report: Report) -> Dialogue | None:
    return Dialogue.from_dict((report.extra or {}).get(KEY))


def save(report: Report, state: Dialogue) -> None:
    report.extra = {**(report.extra or {}), KEY: state.to_dict()}


def dialogue_done(report: Report) -> bool:
    state = state_of(report)
    return state is None or state.done


def converses(hub: Hub, msg: InboundMessage) -> bool:
    adapter = hub.channels.get(msg.channel)
    return adapter is not None and adapter.dialogue and not msg.meta.get("silent")


async def have(session: AsyncSession, report: Report, contact: Contact | None,
               msg: InboundMessage | None = None) -> frozenset[str]:
    """What the report has of the dialogue's slots."""
    slots: set[str] = set()
    if report.ward or report.lat is not None or report.address:
        slots.add("place")
    if msg is not None and any(a.kind in PHOTO_KINDS for a in msg.attachments):
        slots.add("photo")
    elif report.id is not None:
        await session.flush()
        found = (await session.execute(select(Attachment.id).where(
            Attachment.report_id == report.id, Attachment.kind.in_(PHOTO_KINDS)).limit(1))).scalar()
        if found is not None:
            slots.add("photo")
    if (contact is not None and contact.phone) or own_found(report)[0]:
        slots.add("phone")
    return frozenset(slots)


async def begin(hub: Hub, session: AsyncSession, report: Report, contact: Contact,
                msg: InboundMessage) -> Step:
    """The report was just made from the citizen's first message."""
    step = dialogue.start(await have(session, report, contact, msg))
    save(report, step.state)
    return step


async def ask(hub: Hub, session: AsyncSession, report: Report, slot: str | None,
              lead_template: str | None = None) -> None:
    """Send the acknowledgement (``lead_template``) with the question under it, or the question
    alone; a channel with a phone card (Zalo's request-user-info) sends it after the text."""
    if lead_template is not None:
        await lifecycle.notify_citizen(session, hub, report, lead_template, ask=slot)
    elif slot is not None:
        await notify.ask_citizen(session, hub, report, slot)
    adapter = hub.channels.get(report.channel)
    if slot == "phone" and adapter is not None and adapter.phone_request:
        await notify.request_phone(session, hub, report)


async def advance(hub: Hub, session: AsyncSession, report: Report, contact: Contact | None,
                  msg: InboundMessage) -> Step | None:
    """A later message (or shared contact) of the citizen on a report whose dialogue runs."""
    state = state_of(report)
    if state is None or state.done:
        return None
    intent = dialogue.intent_of(msg.text) if not (msg.attachments or msg.location) else "content"
    step = dialogue.advance(state, await have(session, report, contact, msg), intent)
    save(report, step.state)
    if step.ask:
        await ask(hub, session, report, step.ask)
    if step.finished:
        await finish(hub, session, report, by_citizen=True)
    return step


async def finish(hub: Hub, session: AsyncSession, report: Report, *, by_citizen: bool) -> None:
    """The dialogue ended: a report still waiting is routed now and the citizen told where it
    went; one already routed (email) just thanks a citizen who answered."""
    if report.status == "received" and report.agency_id is None:
        agency = await route_new_report(hub, session, report)
        await lifecycle.notify_citizen(session, hub, report,
                                       "forwarded" if agency else "dialogue_triage")
    elif by_citizen:
        await lifecycle.notify_citizen(session, hub, report, "dialogue_thanks")


async def close_dialogue(hub: Hub, session: AsyncSession, report: Report) -> bool:
    """The assembly window ended while the report's dialogue still ran: close it and route the
    report. False when there was none running."""
    state = state_of(report)
    if state is None or state.done:
        return False
    save(report, dialogue.close(state).state)
    lifecycle.record(session, report, actor="system", kind="note", public=False,
                     note="hết thời gian bổ sung thông tin; chuyển xử lý")
    await finish(hub, session, report, by_citizen=False)
    return True


async def close_expired_dialogues(hub: Hub, batch: int = 100) -> int:
    """Leader job: reports whose assembly window ended while their dialogue still ran are
    routed now. Returns how many."""
    cutoff = utcnow() - timedelta(minutes=hub.assembly_window_minutes)
    async with hub.sessions() as session, session.begin():
        query = (select(Report).where(Report.status == "received",
                                      Report.channel.in_(hub.chat_channels),
                                      Report.last_message_at < cutoff)
                 .order_by(Report.id).limit(batch))
        if hub.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        closed = 0
        for report in (await session.execute(query)).scalars().all():
            closed += await close_dialogue(hub, session, report)
    if closed:
        log.info("assembly window ended for %d reports with a running dialogue: routed", closed)
    return closed


def install(hub: Hub) -> None:
    """The window job, checked a few times per window (at least every 15 s)."""
    every = max(0.5, min(15.0, hub.assembly_window_minutes * 60 / 4))

    async def job() -> None:
        await close_expired_dialogues(hub)
    hub.add_job("dialogue-window", every, job, leader_only=True)
