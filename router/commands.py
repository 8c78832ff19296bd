"""Bot commands a citizen sends (``/start``, ``/status PA-…``): answered on the same chat, no
report made."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import InboundMessage, OutboundMessage
from router import templates
from router.messages import outbound_row
from store.models import Report


async def answer_command(session: AsyncSession, msg: InboundMessage) -> None:
    command = msg.meta.get("command", "")
    if command == "status" and msg.report_code:
        report = (await session.execute(
            select(Report).where(Report.code == msg.report_code))).scalar_one_or_none()
        if report is None:
            text = templates.render("status_unknown", code=msg.report_code)
        else:
            text = templates.render(
                "status", code=report.code,
                status_label=templates.STATUS_LABELS.get(report.status, report.status),
                updated=report.updated_at.strftime("%d/%m/%Y %H:%M"))
    elif command == "status":
        text = templates.render("status_unknown", code="(trống)")
    else:
        text = templates.render("welcome")
    session.add(outbound_row(channel=msg.channel, address=msg.meta.get("reply_address", msg.sender_id),
                             report=None, template=f"command:{command}",
                             message=OutboundMessage(text=text, reply_context=msg.reply_context)))
