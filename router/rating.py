"""Citizen satisfaction: after "resolved" the citizen is asked to answer 1–5 on their chat channel.

A message on a chat channel whose whole text is one digit 1–5 (optionally "4/5", "5.") rates the
citizen's latest report when that report is resolved (or already closed); a second digit changes
the rating. Anything else is an ordinary message. Pure matching, one store step.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import CHAT_CHANNELS, InboundMessage
from router import lifecycle
from store.models import Contact, Report

if TYPE_CHECKING:
    from hub.context import Hub

_RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*$")
RATEABLE_STATUSES = ("resolved", "closed")


def rating_of(text: str | None) -> int | None:
    match = _RATING.match(text or "")
    return int(match.group(1)) if match else None


async def apply_rating(hub: Hub, session: AsyncSession, contact: Contact,
                       msg: InboundMessage) -> Report | None:
    """The rated report, or None when the message is not a rating."""
    if msg.channel not in CHAT_CHANNELS or msg.kind != "message" or msg.attachments:
        return None
    score = rating_of(msg.text)
    if score is None:
        return None
    latest = (await session.execute(select(Report).where(Report.contact_id == contact.id)
                                    .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()
    if latest is None or latest.status not in RATEABLE_STATUSES:
        return None
    previous = latest.rating_score
    latest.rating_score = score
    latest.external_ids = [*(latest.external_ids or []), msg.external_id]
    lifecycle.record(session, latest, actor="citizen", kind="rating", public=False,
                     note=f"đánh giá {score}/5" + (f" (trước đó {previous}/5)" if previous else ""))
    await lifecycle.notify_citizen(session, hub, latest, "rating_thanks", score=score)
    return latest
