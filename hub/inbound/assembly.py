"""A citizen message → a new report, or more of the report still being assembled (chat channels,
within the assembly window), or of the report it names (email thread, code)."""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.analysis import message_key
from hub.inbound import conversation
from normalizer import dialogue
from normalizer.schema import OPEN_STATUSES, InboundMessage
from router import commands, lifecycle, notify, templates
from router.assign import analyze_report, route_new_report
from router.delivery import tell_agency_of_followup
from router.fallback import own_found
from router.rating import apply_rating
from store.ids import new_object, next_id
from store.models import Attachment, Contact, OutboxMessage, Report, utcnow
from store.reports import note_download_pending

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


async def find_named_report(session: AsyncSession, contact: Contact,
                            msg: InboundMessage) -> Report | None:
    """The report this message names and the citizen owns: an explicit code (email Subject,
    a reply to our message) or an email thread (In-Reply-To/References = outbox.provider_id)."""
    if msg.report_code:
        report = (await session.execute(
            select(Report).where(Report.code == msg.report_code))).scalar_one_or_none()
        if report is not None and await _owned(session, report, contact, msg):
            return report
    thread_ids = list(msg.meta.get("in_reply_to_ids") or [])
    if msg.meta.get("reply_to_mid"):
        # A swipe-reply (Messenger) to one of our messages names that message's id.
        thread_ids.append(str(msg.meta["reply_to_mid"]))
    report = await report_in_thread(session, msg.channel, thread_ids)
    if report is not None and await _owned(session, report, contact, msg):
        return report
    return None


async def report_in_thread(session: AsyncSession, channel: str, ids: list[str]) -> Report | None:
    """The report of the latest of our messages on ``channel`` these provider ids name (a mail's
    In-Reply-To/References, a swipe-reply's mid)."""
    if not ids:
        return None
    return (await session.execute(
        select(Report).join(OutboxMessage, OutboxMessage.report_id == Report.id)
        .where(OutboxMessage.channel == channel, OutboxMessage.provider_id.in_(ids[:50]))
        .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()


async def find_open_report(hub: Hub, session: AsyncSession, contact: Contact,
                           msg: InboundMessage) -> Report | None:
    """Which existing report this message belongs to: an explicit code of this citizen's, or —
    on chat channels — their report still being assembled within the window."""
    named = await find_named_report(session, contact, msg)
    if named is not None:
        return named
    if msg.channel not in hub.chat_channels:
        return None
    window = timedelta(minutes=hub.assembly_window_minutes)
    since = (msg.sent_at or utcnow()) - window
    return (await session.execute(
        select(Report).where(Report.contact_id == contact.id, Report.channel == msg.channel,
                             Report.status.in_(OPEN_STATUSES),
                             Report.last_message_at >= since)
        .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()


# How long after the citizen's last message an answer to the dialogue's last question still
# joins the report once the assembly window has ended (docs/dialogue.md).
LATE_ANSWER_HOURS = 6
LATE_KEY = "late_answer"


def fits_question(slot: str, msg: InboundMessage) -> bool:
    """Whether a message reads as the answer to the dialogue's ``slot`` question: a location or
    an address for the place, a photo for the photo, a shared or typed phone for the phone."""
    if slot == "place":
        return msg.location is not None or (
            not msg.attachments and dialogue.looks_like_place(msg.text))
    if slot == "photo":
        return any(a.kind in conversation.PHOTO_KINDS for a in msg.attachments)
    if slot == "phone":
        from normalizer.phones import extract_phones

        # a contact card may be anyone's (the landlord, a contractor): not the citizen's phone
        return bool((msg.contact is not None and msg.contact.phone) or (
            not msg.meta.get("business_card") and extract_phones(msg.text)))
    return False


async def _latest_report(session: AsyncSession, contact: Contact, channel: str) -> Report | None:
    return (await session.execute(
        select(Report).where(Report.contact_id == contact.id, Report.channel == channel)
        .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()


async def find_late_answer(hub: Hub, session: AsyncSession, contact: Contact,
                           msg: InboundMessage) -> tuple[Report, str] | None:
    """(report, slot) when the message answers, after the assembly window ended (a mail: in a
    new mail rather than a reply), the last question the dialogue asked on the citizen's latest
    report on this channel: that question
    was neither answered nor skipped, the report's last message is under LATE_ANSWER_HOURS old,
    no late answer joined it yet, and the message fits the question."""
    report = await _latest_report(session, contact, msg.channel)
    if report is None or report.status not in OPEN_STATUSES or (report.extra or {}).get(LATE_KEY):
        return None
    state = conversation.state_of(report)
    if state is None or not state.asked:
        return None
    slot = state.asked[-1]
    if slot in state.skipped:
        return None
    if not state.done and msg.channel in hub.chat_channels and report.last_message_at >= (
            msg.sent_at or utcnow()) - timedelta(minutes=hub.assembly_window_minutes):
        return None  # still within the window (find_open_report's); a mail has none
    if (msg.sent_at or utcnow()) - report.last_message_at >= timedelta(hours=LATE_ANSWER_HOURS):
        return None
    if slot in await conversation.have(session, report, contact):
        return None  # answered
    if not fits_question(slot, msg) or _another_problem(report, msg.text):
        return None
    return report, slot


# After the hub told a chat citizen something they may well answer — an agency's question, the
# result (which they may dispute) — their next messages within this time are about that report.
FOLLOWUP_HOURS = 48
FOLLOWUP_TEMPLATES = frozenset({"agency_reply", "resolved", "rating_thanks"})


async def find_followup(hub: Hub, session: AsyncSession, contact: Contact,
                        msg: InboundMessage) -> Report | None:
    """The chat citizen's latest report on this channel when the last thing the hub sent them
    about it was an agency's question or the result (or what followed it), under
    FOLLOWUP_HOURS ago, and the message does not name a problem of another category: "Dạ rác vẫn
    còn nguyên" answering "Anh/chị gửi thêm ảnh giúp?" used to become a new report the agency
    never saw, and so did "vẫn còn gạch vụn chưa dọn" after the result."""
    if msg.channel not in hub.chat_channels:
        return None
    report = await _latest_report(session, contact, msg.channel)
    if report is None or report.agency_id is None or report.status not in (
            "forwarded", "in_progress", "resolved"):
        return None
    last = (await session.execute(
        select(OutboxMessage.template, OutboxMessage.created_at, OutboxMessage.sent_at,
               OutboxMessage.state)
        .where(OutboxMessage.report_id == report.id, OutboxMessage.purpose == "citizen",
               OutboxMessage.channel == msg.channel)
        .order_by(OutboxMessage.id.desc()).limit(1))).first()
    if last is None or last.template not in FOLLOWUP_TEMPLATES:
        return None
    said_at = last.sent_at or last.created_at  # a message sent again later counts from then
    recent = (msg.sent_at or utcnow()) - said_at < timedelta(hours=FOLLOWUP_HOURS)
    if not recent and last.state not in ("pending", "retry", "sending", "paused"):  # going out now
        return None
    if report.status == "resolved" and not dialogue.disputes_result(msg.text):
        return None  # after a result only a word against it is about it ("xử lý chưa?" is not)
    if _another_place(hub, report, msg.text):
        return None
    if _another_problem(report, msg.text) and report.status != "resolved":
        return None  # a problem of another kind (after a result: "vẫn còn gạch vụn" disputes it)
    return report


_NUMBERED_PLACE = re.compile(r"\b(kiet|hem|ngo|ngach|so|k)\s*(\d+[a-z]?(?:/\d+)*)\b")


def _another_place(hub: Hub, report: Report, text: str) -> bool:
    """The text places itself elsewhere than the report: another ward, or a lane or house
    number ("kiệt 7") the report never named (it was about "kiệt 5")."""
    from normalizer.places import resolve_place
    from normalizer.text import fold

    if not dialogue.looks_like_place(text):
        return False
    numbered = {m[2] for m in _NUMBERED_PLACE.finditer(fold(text).lower())}
    if numbered:
        known = {m[2] for m in _NUMBERED_PLACE.finditer(
            fold(f"{report.description or ''} {report.address or ''}").lower())}
        if not numbered & known:
            return True
    if not report.ward:
        return False
    found = resolve_place(text, province=hub.routing.province)
    return bool(found.ward) and found.ward != report.ward


async def _ward_from_address(hub: Hub, session: AsyncSession, report: Report) -> None:
    """An address given in answer to "where?" names the ward when it can ("20 Bến Nghé, phường
    Thuận Hóa"): a report routed before it came (a mail's) gets its ward, for the public map
    and the statistics, and — routed by the rules, not yet taken up — moves to the agency the
    rules choose for that ward when it is another (a ward's urban-order team rather than the
    province's department); one still with the center is routed with it."""
    from normalizer.places import resolve_place
    from router.assign import agency_rules, reroute
    from router.rules import choose_agency
    from store.models import ReportEvent

    if report.ward is not None or not report.address:
        return
    found = resolve_place(report.address, province=hub.routing.province)
    if not found.ward:
        return
    report.ward = found.ward
    report.extra = {**(report.extra or {}), "place": {
        "matched": found.matched, "confidence": found.confidence}}
    if report.status != "forwarded" or not report.agency_id:
        return
    decision = choose_agency(report.category, report.category_confidence, report.ward,
                             agency_rules(hub), hub.routing.triage_threshold)
    if decision.agency_id in (None, report.agency_id):
        return
    by = (await session.execute(select(ReportEvent.actor).where(
        ReportEvent.report_id == report.id, ReportEvent.kind == "status",
        ReportEvent.status_to == "forwarded").order_by(ReportEvent.id.desc()).limit(1))).scalar()
    if by == "system":  # the center's own choice stands
        await reroute(hub, session, report, agency_id=decision.agency_id, category=None,
                      actor="system")


# Who handles the report, as a citizen names them in an answer ("tôi sẽ chỉ chỗ cho cán bộ",
# "đã có nhân viên đến"): not a problem of public service, and not part of another phrase
# ("chỗ cho cán" folds to "cho can", the lexicon's dog bite).
_HANDLERS = re.compile(r"\b(?:can bo|cong chuc|nhan vien|ubnd|uy ban nhan dan|doan kiem tra|"
                       r"don vi|co quan chuc nang)\b")


def _another_problem(report: Report, text: str) -> bool:
    """The text names a problem of another category than the report's ("Đèn đường kiệt 9 hỏng"
    after a report about rubbish): a new report that happens to name a place, not the answer."""
    from normalizer.classify import lexicon_hits, words

    said = _HANDLERS.sub(" ", " ".join(words(text or ""))).split()
    hits = {category for category, _ in lexicon_hits(said)}
    return bool(hits) and report.category not in hits


async def apply_late_answer(hub: Hub, session: AsyncSession, contact: Contact,
                            msg: InboundMessage, report: Report, slot: str) -> None:
    """Add a late answer to its report like any supplement (once), and thank the citizen as the
    dialogue does."""
    # The window ended but the job that closes it has not run yet: close it first (the report
    # is routed and the citizen told, as they would have been a moment earlier).
    await conversation.close_dialogue(hub, session, report)
    report.extra = {**(report.extra or {}), LATE_KEY: slot}
    text = msg.text.strip()
    if slot == "place" and msg.location is None and text:
        report.address = text[:500]
        report.place_source = "citizen"
        await _ward_from_address(hub, session, report)
    elif slot == "phone" and text:
        _remember_contacts(report, text)
    await extend_report(hub, session, report, msg, contact)
    await lifecycle.notify_citizen(session, hub, report, "dialogue_thanks")


async def _own_report(session: AsyncSession, contact: Contact, msg: InboundMessage,
                      code: str) -> Report | None:
    report = (await session.execute(select(Report).where(Report.code == code))).scalar_one_or_none()
    return report if report is not None and await _owned(session, report, contact, msg) else None


async def _owned(session: AsyncSession, report: Report, contact: Contact,
                 msg: InboundMessage) -> bool:
    if report.contact_id == contact.id or _same_person(report, msg):
        return True
    # A web or hotline citizen answering, from the address they gave, the mail we sent them.
    email = (msg.contact.email or "").strip().lower() if msg.contact is not None else ""
    if not email or report.channel == msg.channel or report.contact_id is None:
        return False
    owner = await session.get(Contact, report.contact_id)
    return owner is not None and (owner.email or "").strip().lower() == email


def _same_person(report: Report, msg: InboundMessage) -> bool:
    # An email reply from the same address on another thread still belongs to the citizen.
    return bool(report.reply_address) and report.reply_address == msg.sender_id


async def apply_citizen_message(hub: Hub, session: AsyncSession, contact: Contact,
                                msg: InboundMessage) -> Report | None:
    """A status lookup is answered (never a report); a rating rates; anything else makes a new
    report or adds to the one it belongs to (and moves its intake dialogue on)."""
    if msg.channel == "email":
        agency = _agency_writing(hub, msg.sender_id)
        if agency is not None:
            return await keep_agency_mail(hub, session, agency, msg)
    plain = not (msg.attachments or msg.location)
    talks = conversation.converses(hub, msg)
    code = dialogue.lookup_code(msg.text) if plain and talks else None
    if code is not None:
        await commands.answer_lookup(session, hub, msg, code, contact)
        return None
    withdrawn = dialogue.cancel_request(msg.text) if plain and talks else None
    if withdrawn is not None:
        return await commands.cancel_report(session, hub, msg, withdrawn or msg.report_code, contact)
    named = await find_named_report(session, contact, msg)
    rated = await apply_rating(hub, session, contact, msg, report=named)
    if rated is not None:
        return rated
    if plain and talks and named is None and msg.channel in hub.chat_channels:
        # A greeting, thanks or "what is my code?" is answered, even inside the assembly
        # window: it is said to the bot, not part of any report.
        chat = dialogue.small_talk(msg.text)
        if chat is not None:
            await commands.answer_small_talk(session, hub, msg, chat, contact)
            return None
    report = named or await find_open_report(hub, session, contact, msg)
    if report is None and talks:
        late = await find_late_answer(hub, session, contact, msg)
        if late is not None:
            await apply_late_answer(hub, session, contact, msg, *late)
            return late[0]
    if report is None and plain and talks and msg.channel in hub.chat_channels and \
            dialogue.says_nothing(msg.text):
        # "👍", "ok", "xong" or "bỏ qua" with nothing open (a dialogue already closed, a result
        # already sent): not a report. A citizen who never reported is told how to.
        known = (await session.execute(select(Report.id).where(
            Report.contact_id == contact.id).limit(1))).scalar() is not None
        if not known:
            await commands.answer_small_talk(session, hub, msg, "greeting", contact)
        log.info("inbox: %s message %s reports nothing and no report is open: no report",
                 msg.channel, msg.external_id)
        return None
    if report is None and talks and msg.channel not in hub.chat_channels:
        # A mail carrying a code that is not an addition to the sender's own report: a lookup.
        code = msg.report_code or (dialogue.lookup_code(msg.text, loose=True) if plain else None)
        if code is not None:
            own = await _own_report(session, contact, msg, code)
            if own is not None and dialogue.lookup_code(msg.text) is None:
                # A new mail about their own report that says more than "what is its status?"
                # ("Về phản ánh PA-… của tôi: đèn vẫn chưa sáng…") adds to it.
                await extend_report(hub, session, own, msg, contact)
                return own
            await commands.answer_lookup(session, hub, msg, code, contact)
            return None
    if report is None and talks:
        followed = await find_followup(hub, session, contact, msg)
        if followed is not None:
            asked = followed.status != "resolved"
            await extend_report(hub, session, followed, msg, contact)
            if asked:  # an answer to the agency's question: the citizen hears it arrived
                await lifecycle.notify_citizen(session, hub, followed, "followup_to_agency")
            return followed
    if report is not None:
        asked = await _agency_asked_last(session, report, msg.channel)
        await extend_report(hub, session, report, msg, contact)
        if asked and report.status in ("forwarded", "in_progress") and msg.text.strip() and \
                not dialogue.says_nothing(msg.text):
            # The answer to the agency's question came while the chat was still being put
            # together: the citizen hears it arrived, as after the window (once: the thanks is
            # now the last thing said).
            await lifecycle.notify_citizen(session, hub, report, "followup_to_agency")
        return report
    return await create_report(hub, session, contact, msg)


async def _agency_asked_last(session: AsyncSession, report: Report, channel: str) -> bool:
    """The last thing the hub said to the citizen on this channel about the report is an
    agency's question or reply."""
    if report.id is None or report.agency_id is None:
        return False
    last = (await session.execute(
        select(OutboxMessage.template).where(
            OutboxMessage.report_id == report.id, OutboxMessage.purpose == "citizen",
            OutboxMessage.channel == channel)
        .order_by(OutboxMessage.id.desc()).limit(1))).scalar()
    return last == "agency_reply"


def _agency_writing(hub: Hub, address: str | None) -> str | None:
    """The agency whose mail address (its delivery route) this mail comes from, if any."""
    address = (address or "").strip().lower()
    if not address:
        return None
    return next((a.id for a in hub.agencies
                 if address in {e.strip().lower() for e in a.email.split(",") if e.strip()}), None)


async def keep_agency_mail(hub: Hub, session: AsyncSession, agency: str,
                           msg: InboundMessage) -> Report | None:
    """A mail from an agency's address — most often a reply to the report we sent it — is kept
    on that report's staff timeline for the center (never sent to the citizen, never answered:
    an answer would start a loop with the agency's mailbox). Staff update status and results
    in the console or the API, as the agency mail's footer says. A mail naming no report of
    this agency's is logged and dropped."""
    report = None
    if msg.report_code:
        report = (await session.execute(
            select(Report).where(Report.code == msg.report_code))).scalar_one_or_none()
    if report is None:
        # the agency's mail answers ours: agency mail goes out on the "agency_email" route
        report = await report_in_thread(session, "agency_email",
                                        list(msg.meta.get("in_reply_to_ids") or []))
    if report is None or report.agency_id != agency:
        log.info("inbox: mail %s from agency %s names none of its reports: kept in the inbox only",
                 msg.external_id, agency)
        return None
    # Its files stay in the inbox's raw mail: a report's attachments are the citizen's (and
    # public once forwarded), an agency's are not.
    files = f" (kèm {len(msg.attachments)} tệp, xem thư gốc)" if msg.attachments else ""
    lifecycle.record(session, report, actor=agency, kind="note", public=False,
                     note=f"Thư của đơn vị{files}: {msg.text.strip()}"[:4000])
    return report


async def create_report(hub: Hub, session: AsyncSession, contact: Contact,
                        msg: InboundMessage) -> Report:
    now = utcnow()
    created = msg.meta.get("created_at") or now
    # The id (so the code) without a flush: the batch's reports are written together at commit.
    report_id = await next_id(session, Report)
    report = new_object(
        Report, id=report_id, code=f"PA-{created.year}-{report_id:06d}", channel=msg.channel,
        status="received", description=msg.text.strip(), contact_id=contact.id,
        reply_address=msg.meta.get("reply_address", msg.sender_id),
        reply_context=msg.reply_context, external_ids=[msg.external_id],
        created_at=created, updated_at=now, last_message_at=msg.sent_at or now,
        extra={k: v for k, v in msg.meta.items() if k in ("service_code", "operator", "category_hint",
                                                           "caller_unverified", "open311")})
    if msg.location:
        report.lat, report.lon = msg.location.lat, msg.location.lon
        report.address, report.ward = msg.location.address, msg.location.ward
    _remember_message_key(report, msg)
    session.add(report)
    lifecycle.record(session, report, actor="citizen", kind="status", status_to="received",
                     note=f"tiếp nhận qua {msg.channel}")
    too_large = await add_attachments(hub, session, report, msg)
    hint = msg.meta.get("category_hint")
    if hint:  # the operator's or the button's category holds when more text comes
        report.extra = {**(report.extra or {}), "category_hint": hint}
    analyze_report(hub, report, hint, precomputed=hub.analysis.take(
        message_key(msg.text, msg.location, hub.routing.province)))
    hub.metrics.report_created(msg.channel)
    if conversation.converses(hub, msg):
        # Ask for what is missing; a chat report is routed when the dialogue ends (or its
        # window does), a mail at once.
        step = await conversation.begin(hub, session, report, contact, msg)
        agency = None
        if step.finished or msg.channel not in hub.chat_channels:
            agency = await route_new_report(hub, session, report)
        await conversation.ask(hub, session, report, step.ask,
                               lead_template="ack_forwarded" if agency else "ack")
        await _tell_too_large(hub, session, report, too_large, msg)
        return report
    agency = await route_new_report(hub, session, report)
    if not msg.meta.get("silent"):
        # No "send us the address" here: a caller, a web or app citizen cannot answer the
        # acknowledgement (chat and mail ask in the dialogue above).
        await lifecycle.notify_citizen(session, hub, report, "ack_forwarded" if agency else "ack")
        adapter = hub.channels.get(msg.channel)
        if adapter is not None and adapter.phone_request and not contact.phone:
            # Officers often need to call back: a channel that can ask for the phone does.
            await notify.request_phone(session, hub, report)
        await _tell_too_large(hub, session, report, too_large, msg)
    return report


async def extend_report(hub: Hub, session: AsyncSession, report: Report, msg: InboundMessage,
                        contact: Contact | None = None) -> None:
    now = utcnow()
    text = msg.text.strip()
    state = conversation.state_of(report)
    # a finished report asks nothing more (its dialogue may never have been closed: a mail's)
    running = state is not None and not state.done and report.status in OPEN_STATUSES
    plain = not (msg.attachments or msg.location)
    if state is not None and plain and dialogue.intent_of(text) != "content":
        # "bỏ qua" / "xong" answer the bot; they are not part of the report (also a moment
        # after the dialogue ended: a late tap on its button)
        text = ""
    elif running and plain and state.pending == "place" and text and not (
            report.ward or report.lat is not None or report.address) and dialogue.looks_like_place(text):
        report.address = text[:500]  # the answer to "where is it?"
        report.place_source = "citizen"
        await _ward_from_address(hub, session, report)
    elif running and plain and state.pending == "phone" and text and contact is not None \
            and not contact.phone and not msg.meta.get("business_card"):
        # "sdt em 0935.111.222 nha" answering "your phone?": the citizen's own number, for the
        # console, the export and their next reports (as a shared contact card would be)
        from normalizer.phones import extract_phones

        contact.phone = next(iter(extract_phones(text)), None)
    if text and not dialogue.has_words(text):
        text = ""  # "🙏🙏", "..." : nothing an agency can read (still on the timeline)
    if text:
        report.description = f"{report.description}\n{text}".strip()
    if msg.location and report.lat is None and msg.location.lat is not None:
        # A pin places the report even after an address text (which may not have been one).
        report.lat, report.lon = msg.location.lat, msg.location.lon
        report.address = report.address or msg.location.address
        report.ward = report.ward or msg.location.ward
    elif msg.location and report.lat is None and not report.address:
        report.address, report.ward = msg.location.address, msg.location.ward
    report.external_ids = [*(report.external_ids or []), msg.external_id]
    _remember_message_key(report, msg)
    report.last_message_at = max(report.last_message_at, msg.sent_at or now)
    report.updated_at = now
    too_large = await add_attachments(hub, session, report, msg)
    lifecycle.record(session, report, actor="citizen", kind="message",
                     note=text or msg.text.strip() or _what_came(msg),
                     public=False)
    if still_with_center(report):
        await reanalyse(hub, session, report, msg)
    elif report.agency_id and report.status in ("forwarded", "in_progress") and (
            text or msg.attachments):
        _remember_contacts(report, text)
        # photos alone: the agency hears that they came (its mail or webhook carries no file)
        await tell_agency_of_followup(hub, session, report, text or (
            f"Công dân gửi thêm {len(msg.attachments)} tệp ảnh/video; xem trên trang phản ánh."))
    elif report.agency_id and report.status == "resolved" and text and not (
            dialogue.says_nothing(text) or dialogue.small_talk(text)):
        # "Ổ gà vẫn còn nguyên, chưa ai vá": the citizen disputes the result. The agency hears
        # it (after its first delivery, as any follow-up) and the citizen is told it went there.
        await tell_agency_of_followup(hub, session, report, text)
        await lifecycle.notify_citizen(session, hub, report, "followup_after_result")
    if running and conversation.converses(hub, msg):
        await conversation.advance(hub, session, report, contact, msg)
    await _tell_too_large(hub, session, report, too_large, msg)


def still_with_center(report: Report) -> bool:
    return report.status in ("received", "triage") and report.agency_id is None


async def reanalyse(hub: Hub, session: AsyncSession, report: Report, msg: InboundMessage) -> None:
    """A report still with the center whose text changed (added to, or edited) is analysed
    again, the category a button or an operator gave kept; out of triage when it now routes (a
    report whose dialogue still runs waits for it to end)."""
    analyze_report(hub, report, msg.meta.get("category_hint")
                   or (report.extra or {}).get("category_hint"))
    if report.status == "triage":
        await route_new_report(hub, session, report, from_triage=True)


def _what_came(msg: InboundMessage) -> str:
    """A timeline note for a message without text: its files, its place on the map."""
    said = []
    if msg.attachments:
        said.append(f"bổ sung {len(msg.attachments)} tệp đính kèm")
    if msg.location is not None:
        where = f" ({msg.location.address})" if msg.location.address else ""
        said.append(f"gửi vị trí trên bản đồ{where}")
    return "; ".join(said) or "gửi tin không có nội dung"


async def _tell_too_large(hub: Hub, session: AsyncSession, report: Report, names: list[str],
                          msg: InboundMessage) -> None:
    """Files that came with the message (a mail's) but were over the size limit, or a mail so
    large that only its beginning was fetched: the citizen is told, else they believe the agency
    has their video (email walkthrough: the photos cut off a 4.5 MB mail were never mentioned)."""
    truncated = msg.meta.get("mail_truncated")
    if isinstance(truncated, dict):
        files = [str(n) for n in truncated.get("files") or [] if n]
        await lifecycle.notify_citizen(
            session, hub, report, "mail_truncated",
            limit_mb=megabytes(int(truncated.get("limit_bytes") or 0)),
            files=templates.render("mail_truncated_files", names=", ".join(files[:5])) if files
            else "")
        # a file that did arrive whole but is over the attachment limit is a second reason
        names = [n for n in names if n not in files]
    if names:
        await lifecycle.notify_citizen(
            session, hub, report, "attachment_too_large", names=", ".join(names[:5]),
            limit_mb=megabytes(hub.max_attachment_bytes))


def megabytes(size: int) -> str:
    """A size limit as a Vietnamese reader writes it: 26214400 → "25", 1572864 → "1,5"."""
    mb = round(size / (1024 * 1024), 1)
    return f"{mb:g}".replace(".", ",")


def _remember_contacts(report: Report, text: str) -> None:
    """Phones and emails in text added after routing join the report's contact points, as the
    analysis does for the first text; the writer's own ones (``own_phones``) apart."""
    from normalizer.phones import extract_emails, extract_phones, own_emails, own_phones

    phones, emails = extract_phones(text), extract_emails(text)
    if not (phones or emails):
        return
    found = dict((report.extra or {}).get("found_contacts") or {})
    if "own_phones" not in found:
        # A report analysed before own numbers were told apart: its own ones are read from its
        # text first, or writing the key would stop ``own_found`` from ever reading them.
        found["own_phones"], found["own_emails"] = own_found(report)
    for key, new in (("phones", phones), ("emails", emails), ("own_phones", own_phones(text)),
                     ("own_emails", own_emails(text))):
        found[key] = list(dict.fromkeys([*(found.get(key) or []), *new]))
    report.extra = {**(report.extra or {}), "found_contacts": found}


def _remember_message_key(report: Report, msg: InboundMessage) -> None:
    """Channels whose edits name the provider's message id rather than our intake key (Telegram:
    message_id vs update_id) pass it as meta["message_key"]: kept with its text on the report."""
    key = msg.meta.get("message_key")
    if key:
        texts = dict((report.extra or {}).get("message_texts") or {})
        report.extra = {**(report.extra or {}), "message_texts": {**texts, key: msg.text.strip()}}


async def add_attachments(hub: Hub, session: AsyncSession, report: Report,
                          msg: InboundMessage) -> list[str]:
    """The message's files on the report: stored now when they came inline, fetched later by
    the media worker otherwise. Returns the names of inline files refused as too large."""
    cap = hub.max_attachment_bytes
    too_large: list[str] = []
    for ref in msg.attachments:
        att = Attachment(report_id=report.id, channel=msg.channel, kind=ref.kind,
                         source_url=ref.url, name=ref.name, content_type=ref.content_type,
                         size=ref.size, state="pending")
        if ref.data is not None:
            if len(ref.data) > cap:
                att.state, att.error = "refused", f"file exceeds {cap} bytes"
                too_large.append(ref.name or ref.kind)
            else:
                att.sha256 = await hub.media.put(ref.data, session=session)
                att.size, att.state = len(ref.data), "stored"
        elif not ref.url:
            att.state, att.error = "refused", "no URL and no data"
        elif ref.kind == "link":
            att.state = "linked"
        session.add(att)
        if att.state == "pending":
            note_download_pending(session, report.id)
            hub.media_wakeup.set()
    return too_large
