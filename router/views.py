"""The report as agencies see it (API, webhook body, email): the contract's JSON with citizen
contacts, and attachment URLs pointing at the token-protected agency API."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Report
from store.reports import full_report_dict


async def agency_report_dict(session: AsyncSession, report: Report, base_url: str) -> dict[str, Any]:
    data = await full_report_dict(session, report, base_url)
    data["contact_points"] = (report.extra or {}).get("found_contacts") or {}
    return data
