"""The report as agencies see it (API, webhook body, email): the contract's JSON with citizen
contacts, and attachment URLs pointing at the token-protected agency API."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Attachment, Report
from store.reports import full_report_dict


def media_path(media_dir: Path, sha256: str) -> Path:
    """Where hub.media.store_bytes put a file."""
    return media_dir / sha256[:2] / sha256[2:4] / sha256


def attachment_api_url(base_url: str, code: str, sha256: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/reports/{code}/attachments/{sha256}"


async def agency_report_dict(session: AsyncSession, report: Report, base_url: str) -> dict[str, Any]:
    data = await full_report_dict(session, report, base_url)
    rows = list((await session.execute(select(Attachment).where(
        Attachment.report_id == report.id).order_by(Attachment.id))).scalars())
    for att, row in zip(data["attachments"], rows, strict=False):
        if att.get("sha256"):
            att["url"] = attachment_api_url(base_url, report.code or "", att["sha256"])
        elif row.state == "linked":
            att["url"] = row.source_url  # kept as a link on purpose (host not allowed to fetch)
    data["contact_points"] = (report.extra or {}).get("found_contacts") or {}
    return data
