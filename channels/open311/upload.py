"""The body of POST requests, and a photo uploaded with it.

GeoReport v2 gives a photo by its URL (``media_url``), but mobile clients (uReport, Open311
Mobile) send it as a multipart ``media`` file part. A multipart body is read here with a
streaming cap (``server.max_body_bytes`` for the text fields plus the channel's
``max_media_bytes`` for the file: aiohttp's own ``post()`` stops at the first) and parsed by the
standard library's MIME parser, as the portal's form is (aiohttp's part reader calls its
deprecated ``unread_data`` mid-read, docs/portal.md). The photo is checked like the portal's
(``store.photos.check_photo``: sniffed from its bytes) and written to the media store before the
inbox row commits, listed under the row's ``_photos`` like the portal form's photos, so the same
job (``form.link_form_photos``) attaches it to the report once made.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.files import sha256_of
from store.forms import multipart_parts
from store.models import Attachment, InboxEvent
from store.storage import MediaStore

log = logging.getLogger("channels.web.upload")

# The file part a client may send (one); any other file part is refused.
MEDIA_FIELD = "media"
# Multipart boundaries and part headers on top of the text fields and the file.
OVERHEAD = 64 * 1024


class BodyProblem(ValueError):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart body."""

    filename: str | None
    data: bytes


async def read_capped(request: web.Request, cap: int) -> bytes:
    """The raw body, a 413 past ``cap`` bytes (read as it streams, never all at once first)."""
    if request.content_length is not None and request.content_length > cap:
        raise BodyProblem(413, "request body too large")
    data = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        data += chunk
        if len(data) > cap:
            raise BodyProblem(413, "request body too large")
    return bytes(data)


def parse_multipart(content_type: str, body: bytes) -> MultiDict[str | Upload]:
    """Pure: the parts of a multipart/form-data body (``store.forms.multipart_parts``), a text
    field as ``str`` (UTF-8 unless the part names its charset) and a part with a file name as an
    ``Upload``."""
    try:
        out: MultiDict[str | Upload] = MultiDict()
        for part in multipart_parts(content_type, body):
            if part.filename is not None:
                out.add(part.name, Upload(part.filename, part.data))
            else:
                out.add(part.name, part.data.decode(part.charset or "utf-8", errors="replace"))
    except (ValueError, LookupError):
        raise BodyProblem(400, "the form body could not be read") from None
    return out


async def put_new(media: MediaStore, data: bytes) -> bool:
    """Store ``data``; True when it was not stored before (this call added it)."""
    existed = await media.has(sha256_of(data))
    await media.put(data)
    return not existed


async def discard_unused(sessions: async_sessionmaker[AsyncSession], media: MediaStore,
                         digests: list[str]) -> None:
    """Delete the photos a submission that stored nothing added, unless something names them
    by now (an attachment, or an inbox row: another submission of the same picture)."""
    for digest in digests:
        try:
            async with sessions() as session:
                named = (await session.execute(select(Attachment.id).where(
                    Attachment.sha256 == digest).limit(1))).scalar() is not None
                named = named or (await session.execute(select(InboxEvent.id).where(
                    InboxEvent.channel == "web", InboxEvent.payload.contains(digest)).limit(1))).scalar() is not None
            if not named:
                await media.delete(digest)
        except Exception:
            log.exception("could not delete unused uploaded photo %s", digest)
