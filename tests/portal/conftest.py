"""Portal fixtures: the whole hub on a loopback test server (workers, jobs and all), reports
seeded through the store like the intake and the router leave them, and helpers that run the
portal's periodic steps (search text, calendar, form photos) at once instead of waiting."""
from __future__ import annotations

import io
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.keys import HUB_KEY
from store.models import Attachment, Contact, Report, ReportEvent, utcnow
from web.context import WEB_CONTEXT

_codes = itertools.count(500)
AGENCY_NAMES = {"moi-truong": "Công ty Môi trường đô thị Huế", "so-xay-dung": "Sở Xây dựng"}


async def run_portal_jobs(client: Any) -> None:
    from channels.open311.form import link_form_photos
    from web.portal import index_search, sync_calendar

    ctx = client.app[WEB_CONTEXT]
    await link_form_photos(ctx.sessions)
    await index_search(ctx)
    await sync_calendar(ctx)


async def seed_report(client: Any, *, status: str = "forwarded", agency: str | None = "moi-truong",
                      category: str = "environment", description: str = "Rác thải ùn ứ ở kiệt 12",
                      ward: str | None = "Phường Phú Xuân", address: str | None = None,
                      lat: float | None = 16.46371234, lon: float | None = 107.59091234,
                      name: str | None = None, phone: str | None = None, email: str | None = None,
                      created: datetime | None = None, forwarded: bool = True,
                      resolved_after: timedelta | None = None, due_after: timedelta | None = timedelta(days=5),
                      rating: int | None = None, rating_comment: str | None = None,
                      notes: dict[str, str] | None = None, photos: list[bytes] | None = None) -> str:
    """A report as the hub leaves it: contact, status events (notes per status), photos in the
    media store. Returns its code."""
    from store.files import store_bytes

    hub = client.app[HUB_KEY]
    code = f"PA-2026-{next(_codes):06d}"
    created = created or utcnow() - timedelta(hours=3)
    notes = notes or {}
    async with hub.sessions() as session, session.begin():
        contact = None
        if name or phone or email:
            contact = Contact(channel="web", channel_user_id=f"web:{code}", name=name, phone=phone, email=email)
            session.add(contact)
            await session.flush()
        report = Report(code=code, channel="web", status=status, category=category, description=description,
                        ward=ward, address=address, lat=lat, lon=lon, agency_id=agency,
                        contact_id=contact.id if contact else None, created_at=created, updated_at=created,
                        last_message_at=created)
        chain = ["received"]
        if forwarded:
            report.forwarded_at = created + timedelta(minutes=5)
            report.due_at = report.forwarded_at + due_after if due_after else None
            chain.append("forwarded")
            if status in ("in_progress", "resolved", "closed"):
                chain.append("in_progress")
            if status in ("resolved", "closed"):
                chain.append("resolved")
                report.resolved_at = report.forwarded_at + (resolved_after or timedelta(days=1))
            if status == "closed":
                chain.append("closed")
            if status in ("rejected", "returned", "triage"):
                chain.append(status)
        elif status != "received":
            chain.append(status)
        report.rating_score, report.rating_comment = rating, rating_comment
        session.add(report)
        await session.flush()
        at = created
        session.add(ReportEvent(report_id=report.id, at=at, actor="system", kind="status", status_to="received"))
        for previous, step in itertools.pairwise(chain):
            at = at + timedelta(minutes=5)
            session.add(ReportEvent(report_id=report.id, at=at, actor=agency if step in (
                "in_progress", "resolved") and agency else "system", kind="status", status_from=previous,
                status_to=step, note=notes.get(step, "đúng lĩnh vực và địa bàn" if step == "forwarded" else None)))
        if "reply" in notes:
            session.add(ReportEvent(report_id=report.id, at=at + timedelta(minutes=1), actor=agency or "center",
                                    kind="reply", note=notes["reply"], public=True))
        for data in photos or []:
            digest, _ = store_bytes(hub.media_dir, data)
            session.add(Attachment(report_id=report.id, channel="web", kind="image", content_type="image/jpeg",
                                   size=len(data), sha256=digest, state="stored"))
    return code


def jpeg(width: int = 640, height: int = 480, gps: tuple[float, float] | None = None,
         colour: tuple[int, int, int] = (90, 140, 60)) -> bytes:
    """A JPEG photo (Pillow), with an EXIF GPS block when ``gps`` is given."""
    from PIL import Image

    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 40):  # some texture
        for y in range(0, height, 40):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    if gps is None:
        image.save(out, "JPEG")
    else:
        exif = Image.Exif()
        lat, lon = gps

        def dms(value: float) -> tuple[float, float, float]:
            d = int(value)
            m = int((value - d) * 60)
            s = round(((value - d) * 60 - m) * 60, 4)
            return (float(d), float(m), s)
        exif[0x010F] = "PhoneMaker"  # Make: any EXIF must be gone from public copies
        exif.get_ifd(0x8825).update({1: "N" if lat >= 0 else "S", 2: dms(abs(lat)),
                                     3: "E" if lon >= 0 else "W", 4: dms(abs(lon))})
        image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
async def portal(settings_factory: Callable[..., Any], hub_client: Callable[..., Awaitable[Any]]) -> Any:
    """The hub (SQLite) with the portal mounted; the stats cache off so every read is fresh."""
    return await hub_client(settings_factory(portal={"stats_cache_seconds": 0, "form_per_hour": 1000}))


@pytest.fixture
async def portal_db(settings_factory: Callable[..., Any], hub_client: Callable[..., Awaitable[Any]],
                    db_url: str) -> Any:
    """The same on SQLite and, when HUB_TEST_PG_URL is set, PostgreSQL."""
    return await hub_client(settings_factory(db_url, portal={"stats_cache_seconds": 0}))
