"""The public portal's report form (``/report``) through the web channel's own durable intake.

The form's fields are translated to the Open311 request they mean (``category`` →
``service_code``, ``address`` → ``address_string``, ``name`` → ``first_name``), checked by the
same ``validate_request`` and committed by the same ``store_events`` under the same idempotency
key rules as ``POST /open311/v2/requests.json``: one inbox row per submission, redelivery and a
double click answered with the same token, and the inbox worker makes the report with
``parse_request``.

Photos cannot ride in the JSON inbox row, so they are written to the media store (by SHA-256,
atomic) *before* the row commits and the row lists them under ``_photos``; once the inbox
worker has made the report, ``link_form_photos`` (a periodic job) adds them as the report's
stored attachments. Nothing acknowledged is lost: files first, then the row, then the link,
each step idempotent. A resubmission (key already stored) writes no photo, and the photos of a
submission whose row is not stored (the commit failed, or found the key taken with other
content) are deleted again.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.open311.adapter import PHOTOS_KEY, validate_request
from channels.open311.upload import discard_unused, put_new
from channels.webhook import store_events
from normalizer.schema import RawEvent
from store.files import sha256_of
from store.models import Attachment, ChannelState, InboxEvent
from store.storage import MediaStore

if TYPE_CHECKING:
    from channels.open311.adapter import WebChannel

log = logging.getLogger("channels.web.form")

# Form field → Open311 field.
FORM_TO_OPEN311 = {"category": "service_code", "description": "description", "lat": "lat",
                   "long": "long", "address": "address_string", "name": "first_name",
                   "phone": "phone", "email": "email"}
CURSOR_KEY = "web:form-photos"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class FormPhoto:
    data: bytes
    content_type: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class FormOutcome:
    token: str
    stored: bool  # False: a resubmission of a stored form (same key, same content)
    code: str | None = None  # known when the report was already made
    problem: str | None = None  # why it was refused (Open311 validation, in English)
    status: int = 201


def open311_fields(form: dict[str, str]) -> dict[str, str]:
    """Pure: the portal form's fields as the Open311 request they mean (empty ones dropped)."""
    return {FORM_TO_OPEN311[k]: v.strip() for k, v in form.items()
            if k in FORM_TO_OPEN311 and isinstance(v, str) and v.strip()}


async def submit_form(adapter: WebChannel, media: MediaStore, form: dict[str, str],
                      photos: list[FormPhoto], idempotency_key: str | None) -> FormOutcome:
    """One form submission. A resubmission (its key already stored) is answered from what is
    stored, before any photo is written: the same content is the same submission (200), other
    content a 409. A new one writes its photos, then commits its row; should that commit find
    the key stored meanwhile with other content, or fail, the photos this call added are
    deleted again (a submission that stores nothing leaves no file behind)."""
    started = time.perf_counter()
    fields = open311_fields(form)
    problem: Any = validate_request(fields)
    if problem:
        status, text = problem if isinstance(problem, tuple) else (400, problem)
        adapter.ctx.count_rejected("web", "invalid")
        return FormOutcome("", False, problem=text, status=status)
    token = (idempotency_key or uuid.uuid4().hex)[:128]
    if photos:
        fields[PHOTOS_KEY] = [{"sha256": sha256_of(photo.data), "content_type": photo.content_type,  # type: ignore[assignment]
                               "size": len(photo.data), "name": photo.name} for photo in photos]
    if await adapter._known_token(token):
        return await _resubmission(adapter, token, fields)
    added: list[str] = []  # digests this call wrote (not stored before)
    try:
        for photo in photos:
            if await _put(media, photo.data):
                added.append(sha256_of(photo.data))
        fields["_token"] = token
        fields["received_at"] = datetime.now().astimezone().isoformat()
        [result] = await store_events(adapter.ctx, "web", [RawEvent(token, fields)], started)
    except BaseException:
        await _discard(adapter, media, added)
        raise
    if result.duplicate:  # the same key committed meanwhile (a double click racing itself)
        outcome = await _resubmission(adapter, token, fields)
        if outcome.status == 409:
            await _discard(adapter, media, added)
        return outcome
    return FormOutcome(token, True)


async def _resubmission(adapter: WebChannel, token: str, fields: dict[str, Any]) -> FormOutcome:
    if not await adapter._same_request(token, fields):
        adapter.ctx.count_rejected("web", "idempotency_conflict")
        return FormOutcome(token, False, problem="the form was already sent with other content",
                           status=409)
    return FormOutcome(token, False, code=await adapter._code_for_token(token), status=200)


async def _put(media: MediaStore, data: bytes) -> bool:
    return await put_new(media, data)


async def _discard(adapter: WebChannel, media: MediaStore, digests: list[str]) -> None:
    await discard_unused(adapter.ctx.sessions, media, digests)


async def code_for_token(adapter: WebChannel, token: str) -> tuple[bool, str | None]:
    """(known, code): whether the submission exists and its report's code once made."""
    code = await adapter._code_for_token(token)
    if code is not None:
        return True, code
    async with adapter.ctx.sessions() as session:
        known = (await session.execute(select(InboxEvent.id).where(
            InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar()
    return known is not None, None


def stored_photos(payload: str) -> list[dict[str, Any]]:
    """Pure: the well-formed entries of a stored row's photo list (``submit_form`` writes
    ``[{sha256, content_type, size, name}]``). Anything else — a string, a number, an entry
    without a SHA-256 — is left out and logged: one bad row must not stop the linking."""
    try:
        photos = json.loads(payload).get(PHOTOS_KEY)
    except (ValueError, AttributeError):
        photos = None
    if not isinstance(photos, list):
        log.warning("form photos: stored photo list is not a list (%s); skipped", type(photos).__name__)
        return []
    good = []
    for photo in photos:
        if not (isinstance(photo, dict) and isinstance(photo.get("sha256"), str)
                and _SHA256.fullmatch(photo["sha256"])):
            log.warning("form photos: malformed photo entry skipped")
            continue
        name, ctype, size = photo.get("name"), photo.get("content_type"), photo.get("size")
        good.append({"sha256": photo["sha256"],
                     "name": name[:255] if isinstance(name, str) else None,
                     "content_type": ctype[:100] if isinstance(ctype, str) else None,
                     "size": size if isinstance(size, int) and not isinstance(size, bool) else None})
    return good


async def _link(session: AsyncSession, report_id: int, photos: list[dict[str, Any]]) -> int:
    have = set((await session.execute(select(Attachment.sha256).where(
        Attachment.report_id == report_id))).scalars())
    added = 0
    for photo in photos:
        digest = photo["sha256"]
        if digest in have:
            continue
        session.add(Attachment(report_id=report_id, channel="web", kind="image", name=photo["name"],
                               content_type=photo["content_type"], size=photo["size"],
                               sha256=digest, state="stored"))
        have.add(digest)
        added += 1
    return added


async def link_form_photos(sessions: async_sessionmaker[AsyncSession], batch: int = 200) -> int:
    """Attach the photos of processed form submissions to their reports, in inbox order from a
    stored cursor; stops at the first submission not processed yet. Returns photos added."""
    added = 0
    async with sessions() as session, session.begin():
        cursor = await session.get(ChannelState, CURSOR_KEY)
        if cursor is None:
            cursor = ChannelState(key=CURSOR_KEY, value={"last_id": 0})
            session.add(cursor)
        last_id = int((cursor.value or {}).get("last_id", 0))
        rows = (await session.execute(
            select(InboxEvent.id, InboxEvent.state, InboxEvent.report_id, InboxEvent.payload)
            .where(InboxEvent.channel == "web", InboxEvent.id > last_id)
            .order_by(InboxEvent.id).limit(batch))).all()
        for event_id, state, report_id, payload in rows:
            if state in ("pending", "claimed"):
                break
            if state == "done" and report_id is not None and PHOTOS_KEY in payload:
                photos = stored_photos(payload)
                if photos:
                    added += await _link(session, report_id, photos)
            last_id = event_id
        cursor.value = {"last_id": last_id}
    if added:
        log.info("linked %d form photos", added)
    return added
