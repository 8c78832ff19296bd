"""The operators' call-back list: citizens to phone because no message route reaches them (a
withheld or SMS-less number, every fallback tried). The router adds entries; the hotline
operators work the list in the console and through ``GET /api/v1/callbacks``."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Callback, Report, ReportEvent, utcnow
from store.serialize import iso
from store.txn import held_scoped, peek_scoped

# Messages folded into one open call-back (store/callbacks.add_callback), in arrival order.
CALLBACK_TEXT_SEPARATOR = "\n\n"
# The entries this transaction put a message on (callbacks_in_transaction).
CALLBACKS_TOUCHED = "callbacks_touched"


def callbacks_in_transaction(session: AsyncSession) -> list[Callback]:
    """The call-back entries a message went onto in the current transaction (new, or an open one
    it joined), in order: what a caller tells when the message it asked for went to the
    operators instead of a channel (the agency API's reply)."""
    return list(held_scoped(session, CALLBACKS_TOUCHED) or ())


async def add_callback(session: AsyncSession, *, phone: str | None, text: str,
                       report_code: str | None, reason: str) -> Callback:
    """Add an entry, or fold the message into the open one for the same phone and report: one
    call tells the citizen everything still waiting (the result, then an agency's question),
    and a send retried after a crash adds nothing (its text is already there). The entry keeps
    its first reason: every later message failed for the same citizen on the same report."""
    report_id = None
    if report_code:
        report_id = (await session.execute(
            select(Report.id).where(Report.code == report_code))).scalar()
    existing = (await session.execute(
        select(Callback).where(Callback.phone == phone, Callback.report_id == report_id,
                               Callback.done_at.is_(None))
        .order_by(Callback.id).limit(1).with_for_update())).scalar_one_or_none()
    if existing is not None:
        if text and text not in existing.text.split(CALLBACK_TEXT_SEPARATOR):
            existing.text = CALLBACK_TEXT_SEPARATOR.join(p for p in (existing.text, text) if p)
            await session.flush()
        peek_scoped(session, CALLBACKS_TOUCHED, list).append(existing)
        return existing
    entry = Callback(report_id=report_id, phone=phone, text=text, reason=reason[:500],
                     created_at=utcnow())
    session.add(entry)
    await session.flush()
    peek_scoped(session, CALLBACKS_TOUCHED, list).append(entry)
    return entry


def callback_json(entry: Callback, code: str | None) -> dict[str, Any]:
    return {"id": entry.id, "report_code": code, "phone": entry.phone, "text": entry.text,
            "reason": entry.reason, "created_at": iso(entry.created_at),
            "done_at": iso(entry.done_at), "done_by": entry.done_by, "outcome": entry.outcome}


async def list_callbacks(session: AsyncSession, *, state: str = "open", limit: int = 100,
                         offset: int = 0, agency_id: str | None = None) -> list[dict[str, Any]]:
    """Call-back entries, oldest first. state: open | done | all. ``agency_id`` (not "center")
    limits the list to that agency's reports."""
    if state not in ("open", "done", "all"):
        raise ValueError("state must be open, done or all")
    query = select(Callback, Report.code).outerjoin(Report, Report.id == Callback.report_id)
    if state == "open":
        query = query.where(Callback.done_at.is_(None))
    elif state == "done":
        query = query.where(Callback.done_at.is_not(None))
    if agency_id and agency_id != "center":
        query = query.where(Report.agency_id == agency_id)
    query = query.order_by(Callback.id).limit(max(1, min(limit, 1000))).offset(max(0, offset))
    return [callback_json(entry, code) for entry, code in await session.execute(query)]


async def mark_callback_done(session: AsyncSession, callback_id: int, *, done_by: str,
                             outcome: str | None = None) -> dict[str, Any] | None:
    """Mark an entry done (idempotent: a second call keeps the first time and operator). Adds a
    note to the report's history. None when there is no such entry."""
    entry, _ = await mark_callback_done_once(session, callback_id, done_by=done_by, outcome=outcome)
    return entry


async def mark_callback_done_once(session: AsyncSession, callback_id: int, *, done_by: str,
                                  outcome: str | None = None) -> tuple[dict[str, Any] | None, bool]:
    """``mark_callback_done``, and whether this call was the one that marked it (what else the
    call records — the caller's rating — is recorded once too)."""
    entry = await session.get(Callback, callback_id)
    if entry is None:
        return None, False
    report = await session.get(Report, entry.report_id) if entry.report_id else None
    now, text_ = utcnow(), (outcome or "").strip()[:2000] or None
    # One statement decides who marks it done: two operators (or a double click) at once, on
    # PostgreSQL as on SQLite, make one note; the loser sees the winner's entry.
    marked = (await session.execute(
        update(Callback).where(Callback.id == callback_id, Callback.done_at.is_(None))
        .values(done_at=now, done_by=done_by[:64], outcome=text_)
        .execution_options(synchronize_session=False))).rowcount == 1
    await session.refresh(entry)
    if marked and report is not None:
        session.add(ReportEvent(report_id=report.id, at=now, actor=done_by[:64], kind="note",
                                public=False, note=f"đã gọi lại công dân: {entry.outcome or 'hoàn thành'}"))
    return callback_json(entry, report.code if report else None), marked
