"""What a citizen asks of the bot rather than reports: ``/start`` (the welcome) and status
lookups ("tra cứu PA-…", "/status PA-…", a bare code, a mail carrying a code). Answered on the
same channel; never a report. A citizen sees the full status of their own reports; anyone
else's only as the public page shows it (status and link), so a guessed code reveals nothing
personal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import CATEGORIES, InboundMessage, OutboundMessage
from router import templates
from router.messages import agency_name, outbound_row, status_url
from store.models import Contact, Report, ReportEvent

if TYPE_CHECKING:
    from router.context import RouterContext

# Statuses whose latest public note the owner hears with the status (result, reason...).
_NOTE_STATUSES = ("resolved", "closed", "rejected", "returned", "duplicate")


def owns(report: Report, contact: Contact | None, msg: InboundMessage) -> bool:
    """The asker made this report: the same contact, or (email) the address it answers to."""
    if contact is not None and report.contact_id == contact.id:
        return True
    return bool(report.reply_address) and report.reply_address == msg.meta.get(
        "reply_address", msg.sender_id)


async def status_text(session: AsyncSession, ctx: RouterContext, code: str, *,
                      contact: Contact | None, msg: InboundMessage) -> tuple[str, str]:
    """(template name, text) answering a lookup of ``code``."""
    report = (await session.execute(select(Report).where(Report.code == code))).scalar_one_or_none()
    if report is None:
        return "status_unknown", templates.render("status_unknown", code=code)
    label = templates.status_label(report.status, report.extra)
    url = status_url(ctx, report.duplicate_of if report.status == "duplicate" else report.code)
    if not owns(report, contact, msg):
        return "status_public", templates.render("status_public", code=report.code,
                                                 status_label=label, status_url=url)
    agency_line = ""
    if report.agency_id:
        agency_line = templates.render("status_own_agency",
                                       agency=await agency_name(session, report.agency_id, ctx))
    note_line = ""
    if report.status in _NOTE_STATUSES:
        note = (await session.execute(select(ReportEvent.note).where(
            ReportEvent.report_id == report.id, ReportEvent.public.is_(True),
            ReportEvent.kind.in_(("status", "reply")), ReportEvent.note.is_not(None))
            .order_by(ReportEvent.id.desc()).limit(1))).scalar()
        if note:
            note_line = templates.render("status_own_note", note=note)
    updated = report.updated_at.astimezone(_vietnam()).strftime("%d/%m/%Y %H:%M")
    return "status_own", templates.render("status_own", code=report.code, status_label=label,
                                          agency_line=agency_line, note_line=note_line,
                                          updated=updated, status_url=url)


def _vietnam():  # noqa: ANN202
    from datetime import timedelta, timezone

    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Ho_Chi_Minh")
    except Exception:  # no tz database: Vietnam has no DST
        return timezone(timedelta(hours=7))


async def answer_lookup(session: AsyncSession, ctx: RouterContext, msg: InboundMessage, code: str,
                        contact: Contact | None = None) -> None:
    template, text = await status_text(session, ctx, code, contact=contact, msg=msg)
    # Only the owner's answer carries the code as the report's (a mail's [#code] subject and
    # "reply to add to it" hint): anyone else cannot add to a report that is not theirs.
    _reply(session, msg, template, text, code if template == "status_own" else None,
           subject_code=code)


async def answer_command(session: AsyncSession, ctx: RouterContext, msg: InboundMessage,
                         contact: Contact | None = None) -> None:
    command = msg.meta.get("command", "")
    if command == "status":
        if not msg.report_code:
            # "/status" alone: how to use it, and the citizen's own codes.
            template, mine = await my_codes_text(session, contact)
            _reply(session, msg, "status_usage",
                   f"{templates.render_for('status_usage', msg.channel)}\n{mine}", None)
            return
        await answer_lookup(session, ctx, msg, msg.report_code, contact)
        return
    if command == "group":
        await _point_group_to_private_chat(session, msg)
        return
    if command == "category" and msg.meta.get("category_hint") in CATEGORIES:
        label = CATEGORIES[msg.meta["category_hint"]].split(" (")[0]
        _reply(session, msg, "category_chosen",
               templates.render("category_chosen", category=label), None)
        return
    _reply(session, msg, f"command:{command}", templates.render_for("welcome", msg.channel), None)


# A group chat hears where to report at most this often (its members may talk all day).
GROUP_POINTER_HOURS = 6


async def _point_group_to_private_chat(session: AsyncSession, msg: InboundMessage) -> None:
    """A message in a group chat the bot is in: the group is told, once in GROUP_POINTER_HOURS,
    to report in a private chat with the bot (where no one else reads their phone or place)."""
    from datetime import timedelta

    from store.models import OutboxMessage, utcnow

    address = msg.meta.get("reply_address", msg.sender_id)
    recent = (await session.execute(select(OutboxMessage.id).where(
        OutboxMessage.channel == msg.channel, OutboxMessage.address == address,
        OutboxMessage.template == "command:group_private",
        OutboxMessage.created_at > utcnow() - timedelta(hours=GROUP_POINTER_HOURS)).limit(1))).scalar()
    if recent is None:
        _reply(session, msg, "group_private", templates.render("group_private"), None)


MY_CODES_SHOWN = 5
# A withdrawal naming no code applies to the citizen's latest report on that channel, if its
# last message is this recent.
CANCEL_RECENT_HOURS = 6
CANCEL_NOTE = "Công dân rút lại phản ánh."


async def cancel_report(session: AsyncSession, ctx: RouterContext, msg: InboundMessage,
                        code: str | None, contact: Contact | None) -> Report | None:
    """A citizen withdraws a report ("hủy phản ánh PA-…", normalizer.dialogue.cancel_request):
    the one named (theirs) or, naming none, their latest still open on this channel. Not yet
    with an agency (received, in triage, returned): it is closed as ``rejected`` with the
    citizen's reason, off every queue. Already with an agency: the agency gets the request as
    the citizen's message and decides; the citizen is told so. Finished: nothing to do. Returns
    the report acted on."""
    from datetime import timedelta

    from normalizer.schema import OPEN_STATUSES
    from router import lifecycle
    from router.delivery import tell_agency_of_followup
    from store.models import utcnow

    report = None
    if code:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one_or_none()
        if report is not None and not owns(report, contact, msg):
            report = None
    elif contact is not None:
        since = (msg.sent_at or utcnow()) - timedelta(hours=CANCEL_RECENT_HOURS)
        report = (await session.execute(select(Report).where(
            Report.contact_id == contact.id, Report.channel == msg.channel,
            Report.status.in_(OPEN_STATUSES), Report.last_message_at >= since)
            .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()
    if report is None:
        _reply(session, msg, "cancel_none", templates.render("cancel_none"), None)
        return None
    text = msg.text.strip()
    if report.status in ("received", "triage", "returned") and report.agency_id is None:
        lifecycle.set_status(session, report, "rejected", actor="citizen", note=CANCEL_NOTE)
        report.extra = {**(report.extra or {}), "withdrawn": True}
        report.due_at = report.reminded_at = report.escalated_at = None
        lifecycle.record(session, report, actor="citizen", kind="message", note=text, public=False)
        await lifecycle.notify_citizen(session, ctx, report, "cancelled")
        return report
    if report.status in OPEN_STATUSES and report.agency_id:
        report.updated_at = utcnow()
        lifecycle.record(session, report, actor="citizen", kind="message", note=text, public=False)
        if not await tell_agency_of_followup(ctx, session, report, text):
            # its first delivery is still to go: it carries the request with the report's text
            report.description = f"{report.description}\n{text}".strip()
        await lifecycle.notify_citizen(session, ctx, report, "cancel_forwarded")
        return report
    _reply(session, msg, "cancel_finished", templates.render(
        "cancel_finished", code=report.code,
        status_label=templates.status_label(report.status, report.extra)), report.code)
    return report


async def my_codes_text(session: AsyncSession, contact: Contact | None) -> tuple[str, str]:
    """(template name, text): the citizen's own most recent reports with their status."""
    reports: list[Report] = []
    if contact is not None:
        reports = list((await session.execute(
            select(Report).where(Report.contact_id == contact.id, Report.code.is_not(None))
            .order_by(Report.id.desc()).limit(MY_CODES_SHOWN))).scalars())
    if not reports:
        return "my_codes_none", templates.render("my_codes_none")
    lines = "\n".join(templates.render(
        "my_codes_line", code=r.code, status_label=templates.status_label(r.status, r.extra),
        date=r.created_at.astimezone(_vietnam()).strftime("%d/%m/%Y")) for r in reports)
    return "my_codes", templates.render("my_codes", lines=lines, example=reports[0].code)


async def answer_small_talk(session: AsyncSession, ctx: RouterContext, msg: InboundMessage,
                            kind: str, contact: Contact | None = None) -> None:
    """A greeting, thanks, or "what is my code?" (normalizer.dialogue.small_talk): a short
    answer, never a report."""
    if kind == "my_codes":
        template, text = await my_codes_text(session, contact)
    else:
        template = f"smalltalk_{kind}"
        text = templates.render(template)
    _reply(session, msg, template, text, None)


def _reply(session: AsyncSession, msg: InboundMessage, template: str, text: str,
           code: str | None, subject_code: str | None = None) -> None:
    subject = templates.subject(template, code=code or subject_code or "")
    outbound_row(session, channel=msg.channel, address=msg.meta.get("reply_address", msg.sender_id),
                 report=None, template=template if template.startswith("command:")
                 else f"command:{template}",
                 message=OutboundMessage(text=text, subject=subject, report_code=code,
                                         reply_context=msg.reply_context))
