"""A file the media worker could not keep (refused: too large, a host not the channel's own, a
type not taken; or failed after its retries) is told to the citizen, who otherwise believes the
center has their photo.

One message per report per batch: the notice waits until none of the report's downloads is
still under way (two refused photos of one message → one message), and names every file of the
report refused or failed since the last notice. Files refused at intake (a mail's inline file
over the limit) are told there (``assembly._tell_too_large``); stickers are not evidence and are
never told. Only citizens of a channel where they can answer (``ChannelAdapter.dialogue``) are
told: the notice asks them to send the file again.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from router import lifecycle, templates
from store.models import Attachment, Report

if TYPE_CHECKING:
    from hub.context import Hub

# report.extra key: ids of the attachments already told to the citizen.
TOLD_KEY = "attachments_told"
IN_FLIGHT = ("pending", "fetching")
TOLD_STATES = ("refused", "failed")
NOT_TOLD_KINDS = ("sticker", "link")
# A report the citizen withdrew or the center closed: no "send it again".
CLOSED_STATUSES = ("closed", "rejected")
# Telegram's Bot API serves no file over 20 MB ("getFile refused: file is too big").
TELEGRAM_BOT_LIMIT = 20 * 1024 * 1024
_EXCEEDS = re.compile(r"exceeds (\d+)")


async def tell_if_batch_done(hub: Hub, session: AsyncSession, report_id: int) -> None:
    """Called in the transaction that wrote an attachment's final state (stored, refused,
    failed): when it was the report's last download under way, the files refused or failed
    that were not told yet are told in one message (same transaction)."""
    query = select(Report).where(Report.id == report_id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()  # two workers finishing one batch tell it once
    report = (await session.execute(query)).scalar_one_or_none()
    adapter = hub.channels.get(report.channel) if report is not None else None
    if report is None or adapter is None or not adapter.dialogue or (
            report.status in CLOSED_STATUSES):
        return
    rows = (await session.execute(select(
        Attachment.id, Attachment.kind, Attachment.state, Attachment.error, Attachment.attempts)
        .where(Attachment.report_id == report_id).order_by(Attachment.id))).all()
    if any(row.state in IN_FLIGHT for row in rows):
        return  # the last download of the batch tells it
    told = set((report.extra or {}).get(TOLD_KEY) or ())
    lost = [row for row in rows if row.state in TOLD_STATES and row.attempts > 0
            and row.kind not in NOT_TOLD_KINDS and row.id not in told]
    if not lost:
        return
    report.extra = {**(report.extra or {}), TOLD_KEY: sorted(told | {row.id for row in lost})}
    fields = notice_fields([(row.kind, row.state, row.error) for row in lost],
                           hub.max_attachment_bytes)
    await lifecycle.notify_citizen(session, hub, report, "attachment_refused", **fields)
    lifecycle.record(session, report, actor="system", kind="notification", public=False,
                     note=f"báo công dân không nhận được {fields['files']}: {fields['reasons']}")


def notice_fields(lost: list[tuple[str, str, str | None]], limit_bytes: int) -> dict[str, str]:
    """``files`` ("2 ảnh", "ảnh và video"), ``reasons`` ("ảnh lớn hơn 25 MB") and ``resend``
    (what to send again) for the files lost: (kind, state, error) each."""
    counts: dict[str, int] = {}
    reasons: list[str] = []
    smaller: list[int] = []
    for kind, state, error in lost:
        word = kind_word(kind)
        counts[word] = counts.get(word, 0) + 1
        reason, limit = _reason(word, state, error or "", limit_bytes)
        if limit is not None:
            smaller.append(limit)
        if reason not in reasons:
            reasons.append(reason)
    words = list(counts)
    resend = " và ".join(words)
    if smaller:
        resend = templates.render("attachment_resend_smaller", kinds=resend,
                                  limit=megabytes(min(smaller)))
    return {"files": " và ".join(f"{n} {w}" if n > 1 else w for w, n in counts.items()),
            "reasons": "; ".join(reasons), "resend": resend}


def kind_word(kind: str) -> str:
    return templates.render(f"attachment_kind_{kind}") if (
        f"attachment_kind_{kind}" in templates.TEMPLATES) else templates.render("attachment_kind_file")


def _reason(word: str, state: str, error: str, limit_bytes: int) -> tuple[str, int | None]:
    """Why, in plain words, and the size limit when the file was too large."""
    if state == "failed":
        return templates.render("attachment_reason_failed", kind=word), None
    found = _EXCEEDS.search(error)
    if found or "too big" in error:
        limit = int(found.group(1)) if found else min(limit_bytes, TELEGRAM_BOT_LIMIT)
        return templates.render("attachment_reason_too_large", kind=word,
                                limit=megabytes(limit)), limit
    if "expired or gone" in error:
        return templates.render("attachment_reason_expired", kind=word), None
    if "type" in error:
        return templates.render("attachment_reason_type", kind=word), None
    if "host" in error or "redirect" in error or "endpoint" in error:
        return templates.render("attachment_reason_host", kind=word), None
    return templates.render("attachment_reason_other", kind=word), None


def megabytes(size: int) -> str:
    """A size as a Vietnamese reader writes it: 26214400 → "25 MB", 1572864 → "1,5 MB"."""
    mb = round(size / (1024 * 1024), 1)
    return f"{mb:g}".replace(".", ",") + " MB"
