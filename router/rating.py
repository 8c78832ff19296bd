"""Citizen satisfaction, kept per report (a later rating replaces the earlier one) and counted
per agency (router.stats).

Three ways in:
- **A reply on a channel the citizen can answer on.** A chat message whose whole text is one
  digit 1–5 ("4/5", "5.", "5 sao") rates the citizen's latest report when it is resolved (or
  closed); a digit followed by a comment also rates, with the comment kept, when the two are
  plainly a rating ("5, rất tốt", "4 sao - hơi chậm", "5/5 cảm ơn", "5 rất hài lòng"); "5 ổ gà
  trước nhà" stays an ordinary message. On chat channels the rated report is the citizen's
  resolved report most recently asked for a rating, even when they have made a newer one. By email the reply rates the report it answers (thread
  or ``[#code]``), not the latest one.
- **A one-time link** for citizens who cannot answer (SMS, hotline, web): ``issue_rating_token``
  when a report is resolved; the link is ``{public_base_url}/r/{code}?rate={token}``; the
  public report page's form calls ``rate_with_token``.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import InboundMessage
from router.notify import enqueue_citizen_message
from store.models import Contact, OutboxMessage, RatingToken, Report, utcnow
from store.reports import record_event

if TYPE_CHECKING:
    from router.context import RouterContext

_RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5|sao|điểm|diem|\*|⭐+)?\s*[.!]?\s*$", re.IGNORECASE)
_STARS = re.compile(r"^\s*(⭐|★){1,5}\s*$")
RATEABLE_STATUSES = ("resolved", "closed")
RATING_TOKEN_DAYS = 30
MAX_COMMENT = 500


_RATED_COMMENT = re.compile(
    r"^\s*([1-5])\s*(/\s*5|sao|điểm|diem)?\s*([.,:;!\-\u2013]\s*|\s+)(\S.{0,499})$",
    re.IGNORECASE | re.DOTALL)
# Words that make "N <comment>" a rating even without a separator (folded text).
_FEEDBACK = ("tot", "cam on", "hai long", "tuyet", "nhanh", "cham", "kem", "te qua", "chua",
             "ok", "good", "thank", "tks", "hai long", "xuat sac", "binh thuong")


def rating_of(text: str | None) -> int | None:
    """1–5 from a bare rating: "5", "4/5", "5 sao", "⭐⭐⭐⭐"."""
    text = text or ""
    stars = _STARS.match(text)
    if stars:
        return sum(1 for ch in text if ch in "⭐★")
    match = _RATING.match(text)
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


def parse_rating(text: str | None) -> tuple[int, str | None] | None:
    score = rating_of(text)
    if score is not None:
        return score, None
    return rating_with_comment(text)


async def apply_rating(ctx: RouterContext, session: AsyncSession, contact: Contact,
                       msg: InboundMessage, report: Report | None = None) -> Report | None:
    """The rated report, or None when the message is not a rating. ``report``: the report the
    message answers (an email reply in its thread); else, on chat channels, the citizen's
    resolved report most recently asked for a rating (``rating_asked_report``)."""
    if msg.kind != "message" or msg.attachments or msg.location:
        return None
    parsed = parse_rating(msg.text)
    if parsed is None:
        return None
    if report is None:
        if msg.channel not in ctx.chat_channels:
            return None
        report = await rating_asked_report(session, contact, msg.channel)
    if report is None or report.status not in RATEABLE_STATUSES:
        return None
    store_rating(session, report, *parsed, via=msg.channel)
    report.external_ids = [*(report.external_ids or []), msg.external_id]
    await enqueue_citizen_message(session, ctx, report, "rating_thanks", score=parsed[0])
    return report


async def rating_asked_report(session: AsyncSession, contact: Contact,
                              channel: str) -> Report | None:
    """On a chat channel, the report a bare rating answers: the citizen's report that is resolved
    (or closed) and was asked for a rating (a ``resolved*`` message), the most recently asked
    first — not merely their latest report, which may be a newer one still open. None when the
    citizen's newest report on the channel has a dialogue question open that was asked after
    that request (the answer is to the question)."""
    row = (await session.execute(
        select(Report, OutboxMessage.created_at)
        .join(OutboxMessage, OutboxMessage.report_id == Report.id)
        .where(Report.contact_id == contact.id, Report.status.in_(RATEABLE_STATUSES),
               OutboxMessage.purpose == "citizen", OutboxMessage.template.like("resolved%"))
        .order_by(OutboxMessage.id.desc()).limit(1))).first()
    if row is None:
        return None
    report, asked_at = row
    newest = (await session.execute(
        select(Report).where(Report.contact_id == contact.id, Report.channel == channel)
        .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()
    if newest is not None and newest.id != report.id and newest.created_at > asked_at:
        pending = ((newest.extra or {}).get("dialogue") or {})
        if pending.get("pending") and not pending.get("done"):
            return None
    return report


def store_rating(session: AsyncSession, report: Report, score: int, comment: str | None,
                 *, via: str) -> None:
    previous = report.rating_score
    report.rating_score = score
    report.rating_comment = (comment or "").strip()[:MAX_COMMENT] or None
    record_event(session, report, actor="citizen", kind="rating", public=False,
                 note=f"đánh giá {score}/5 qua {via}"
                      + (f" (trước đó {previous}/5)" if previous else ""))


# --- one-time rating links -----------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rating_url(ctx: RouterContext, code: str, token: str) -> str:
    return f"{ctx.public_base_url.rstrip('/')}/r/{code}?rate={token}"


async def issue_rating_token(session: AsyncSession, report: Report,
                             days: int = RATING_TOKEN_DAYS) -> str:
    """A new one-time token for rating ``report`` (same transaction); only its hash is stored."""
    token = secrets.token_urlsafe(12)  # 96 bits; short enough for one SMS
    now = utcnow()
    session.add(RatingToken(report_id=report.id, token_hash=_token_hash(token), created_at=now,
                            expires_at=now + timedelta(days=days)))
    return token


class RatingRefused(Exception):
    """A token rating that cannot be taken: ``status`` is the HTTP status a page should answer
    (400 bad score, 404 unknown link or another report's, 409 not resolved, 410 used or
    expired); the message is Vietnamese, fit to show."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def rating_token_report(session: AsyncSession, code: str, token: str) -> Report | None:
    """The report ``token`` may still rate when it is ``code``'s, unused and unexpired, else
    None (a page shows the rating form only then)."""
    row = (await session.execute(select(RatingToken).where(
        RatingToken.token_hash == _token_hash(token or "")))).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    report = await session.get(Report, row.report_id)
    if report is None or report.code != code or report.status not in RATEABLE_STATUSES:
        return None
    return report


async def rate_with_token(ctx: RouterContext, session: AsyncSession, code: str, token: str,
                          score: int, comment: str | None = None) -> Report:
    """Rate report ``code`` with a one-time ``token`` (the public page's form). Marks the token
    used and stores the rating (replacing an earlier one) in the caller's transaction; raises
    RatingRefused. Call inside ``session.begin()``."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise RatingRefused("Điểm đánh giá phải từ 1 đến 5.", 400)
    query = select(RatingToken).where(RatingToken.token_hash == _token_hash(token or ""))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    report = await session.get(Report, row.report_id) if row is not None else None
    if row is None or report is None or report.code != code:
        raise RatingRefused("Liên kết đánh giá không hợp lệ.", 404)
    if row.used_at is not None:
        raise RatingRefused("Liên kết đánh giá này đã được dùng.", 410)
    if row.expires_at <= utcnow():
        raise RatingRefused("Liên kết đánh giá đã hết hạn.", 410)
    if report.status not in RATEABLE_STATUSES:
        raise RatingRefused("Phản ánh chưa được xử lý xong nên chưa thể đánh giá.", 409)
    row.used_at = utcnow()
    store_rating(session, report, score, comment, via="liên kết đánh giá")
    report.updated_at = utcnow()
    return report


async def rate_posted(ctx: RouterContext, code: str, form: Mapping[str, object]) -> None:
    """A posted rating form (``token``, ``score`` 1–5, an optional ``comment``) applied to
    report ``code`` in a transaction of its own; raises ``RatingRefused`` as
    ``rate_with_token`` does (a score not chosen included)."""
    try:
        score = int(str(form.get("score", "")))
    except ValueError:
        score = 0
    comment = str(form.get("comment", "")).strip()[:500] or None
    async with ctx.sessions() as session, session.begin():
        await rate_with_token(ctx, session, code, str(form.get("token", ""))[:64], score, comment)
