"""Citizen satisfaction: after "resolved" the citizen is asked to answer 1–5 on their chat channel.

A message on a chat channel whose whole text is one digit 1–5 (optionally "4/5", "5.") rates the
citizen's latest report when that report is resolved (or already closed); a second digit changes
the rating. A digit followed by a comment also rates, with the comment kept, when the two are
plainly a rating ("5, rất tốt", "4 sao - hơi chậm", "5/5 cảm ơn", "5 rất hài lòng"); "5 ổ gà
trước nhà" stays an ordinary message. Pure matching, one store step.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import InboundMessage
from router import lifecycle
from store.models import Contact, Report

if TYPE_CHECKING:
    from router.context import RouterContext

_RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*$")
RATEABLE_STATUSES = ("resolved", "closed")


_RATED_COMMENT = re.compile(
    r"^\s*([1-5])\s*(/\s*5|sao|điểm|diem)?\s*([.,:;!\-\u2013]\s*|\s+)(\S.{0,499})$",
    re.IGNORECASE | re.DOTALL)
# Words that make "N <comment>" a rating even without a separator (folded text).
_FEEDBACK = ("tot", "cam on", "hai long", "tuyet", "nhanh", "cham", "kem", "te qua", "chua",
             "ok", "good", "thank", "tks", "hai long", "xuat sac", "binh thuong")


def rating_of(text: str | None) -> int | None:
    match = _RATING.match(text or "")
    return int(match.group(1)) if match else None


def rating_with_comment(text: str | None) -> tuple[int, str] | None:
    """(score, comment) for "5, rất tốt"-style answers, else None."""
    from normalizer.text import fold

    match = _RATED_COMMENT.match(text or "")
    if match is None:
        return None
    score, unit, separator, comment = match.groups()
    if not unit and not separator.strip() and not any(w in fold(comment) for w in _FEEDBACK):
        return None
    return int(score), comment.strip()


async def apply_rating(ctx: RouterContext, session: AsyncSession, contact: Contact,
                       msg: InboundMessage) -> Report | None:
    """The rated report, or None when the message is not a rating."""
    if msg.channel not in ctx.chat_channels or msg.kind != "message" or msg.attachments:
        return None
    score, comment = rating_of(msg.text), None
    if score is None:
        parsed = rating_with_comment(msg.text)
        if parsed is None:
            return None
        score, comment = parsed
    latest = (await session.execute(select(Report).where(Report.contact_id == contact.id)
                                    .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()
    if latest is None or latest.status not in RATEABLE_STATUSES:
        return None
    previous = latest.rating_score
    latest.rating_score = score
    latest.rating_comment = comment
    latest.external_ids = [*(latest.external_ids or []), msg.external_id]
    lifecycle.record(session, latest, actor="citizen", kind="rating", public=False,
                     note=f"đánh giá {score}/5" + (f" (trước đó {previous}/5)" if previous else ""))
    await lifecycle.notify_citizen(session, ctx, latest, "rating_thanks", score=score)
    return latest
