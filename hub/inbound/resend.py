"""Messages the citizen's conversation window kept from them go out when they write again.

Messenger takes automatic messages only within 24 hours of the citizen's last message (an
agency's reply, tagged HUMAN_AGENT, within 7 days), Zalo OA within its interaction window. A
result or an agency's question refused for that reason, with no other route that delivered it
(an SMS, a mail), used to be lost for good: the citizen who wrote again days later ("xử lý chưa
ạ?") never read it. Now their next message of any kind reopens the window and those messages
are queued again, oldest first, ahead of whatever answers the new message.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from channels.messenger.send import OUTSIDE_WINDOW
from channels.zalo.api import CS_ERRORS
from store.models import OutboxMessage, Report, utcnow
from store.queue import taken_over
from store.reports import record_event

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.context import Hub
    from normalizer.schema import InboundMessage

log = logging.getLogger("hub.inbox")

# Substrings of a dead row's last_error that mean "only the window was closed".
WINDOW_REASONS: dict[str, tuple[str, ...]] = {
    "messenger": (OUTSIDE_WINDOW,),
    "zalo": (CS_ERRORS.other_route[-230], CS_ERRORS.other_route[-232]),
}
# How old such a message may be and still be worth sending (a result, a question).
RESEND_WITHIN = timedelta(days=14)


async def resend_after_window(hub: Hub, session: AsyncSession, msg: InboundMessage) -> int:
    """Queue again, in this transaction, the messages ``routing.callback_templates`` names (a
    result, a rejection, an agency's question) that died on ``msg``'s channel and address only
    because the window was closed, and that no other route took over (a fallback sent or still
    trying, a call-back entry). Returns how many."""
    reasons = WINDOW_REASONS.get(msg.channel)
    if not reasons or not msg.sender_id or not msg.meta.get("window_reopened"):
        return 0  # the citizen wrote within the day: no window closed on them since
    now = utcnow()
    rows = (await session.execute(
        select(OutboxMessage).where(
            OutboxMessage.state == "dead", OutboxMessage.channel == msg.channel,
            OutboxMessage.address == msg.sender_id, OutboxMessage.purpose == "citizen",
            OutboxMessage.template.in_(hub.settings.routing.callback_templates),
            OutboxMessage.created_at >= now - RESEND_WITHIN,
            ~taken_over())
        .order_by(OutboxMessage.id))).scalars().all()
    rows = [row for row in rows if any(r in (row.last_error or "") for r in reasons)]
    for row in rows:
        row.state, row.attempts, row.next_attempt_at = "pending", 0, now
        row.last_error, row.claimed_by = None, None
        report = await session.get(Report, row.report_id) if row.report_id else None
        if report is not None:
            record_event(session, report, actor="system", kind="notification", public=False,
                         note=f"gửi lại qua {msg.channel} khi công dân nhắn tin trở lại "
                              f"({row.template})")
    if rows:
        hub.wake_outbox()
        log.info("%s: %d messages held by the closed window queued again", msg.channel, len(rows))
    return len(rows)

