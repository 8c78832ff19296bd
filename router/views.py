"""The report as agencies see it (API, webhook body, email): the contract's JSON with citizen
contacts, and attachment URLs pointing at the token-protected agency API; and as the public
sees it (the portal): citizen-readable Vietnamese history, the result, the due date kept or not."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Report
from store.reports import full_report_dict
from store.serialize import note_is_public


async def agency_report_dict(session: AsyncSession, report: Report, base_url: str) -> dict[str, Any]:
    data = await full_report_dict(session, report, base_url)
    data["contact_points"] = (report.extra or {}).get("found_contacts") or {}
    return data


# --- the public portal's view of a report (web.portal renders it) ------------------------------

# What a citizen reads in a report's public history, per status reached (internal routing notes
# stay internal: a note is shown only where it is written for the citizen — the result, the
# reason for refusing, an agency's progress note or reply).
PUBLIC_STEPS: dict[str, str] = {
    "received": "Trung tâm đã tiếp nhận phản ánh",
    "triage": "Trung tâm đang xem xét để chuyển đến đơn vị có thẩm quyền",
    "forwarded": "Trung tâm đã chuyển phản ánh đến {agency}",
    "in_progress": "{agency} đang xử lý",
    "resolved": "{agency} đã xử lý xong",
    "closed": "Phản ánh đã kết thúc",
    "rejected": "Phản ánh không được tiếp nhận xử lý",
    "returned": "Trung tâm đang chuyển phản ánh đến đơn vị có thẩm quyền",
    "duplicate": "Phản ánh trùng với một phản ánh khác đang được xử lý",
}
PUBLIC_NOTE_LABELS = {"resolved": "Kết quả", "rejected": "Lý do", "in_progress": "Ghi chú",
                      "reply": "Phản hồi"}
REPLY_STEP = "{agency} phản hồi"
SOME_AGENCY = "đơn vị xử lý"


def _agency_of(actor: str, fallback: str | None, names: dict[str, str]) -> str:
    if actor in names:
        return names[actor]
    return fallback or SOME_AGENCY


def public_timeline(report: Any, events: list[Any], names: dict[str, str],
                    mask: Any) -> list[dict[str, Any]]:
    """Public events → [{at, status, text, note_label, note}] in Vietnamese. ``names`` maps
    agency ids to names; ``mask(text)`` masks personal data in notes."""
    current = names.get(report.agency_id or "", None)
    out = []
    for event in events:
        if event.kind == "reply":
            step, key = REPLY_STEP, "reply"
        elif event.kind == "status" and event.status_to in PUBLIC_STEPS:
            step, key = PUBLIC_STEPS[event.status_to], event.status_to
        else:
            continue
        agency = _agency_of(event.actor, current, names)
        note = None
        if event.note and note_is_public(event.kind, event.status_to, event.actor):
            note = mask(event.note)
        text = step.format(agency=agency)
        out.append({"at": event.at, "status": event.status_to, "text": text[:1].upper() + text[1:],
                    "note_label": PUBLIC_NOTE_LABELS.get(key) if note else None, "note": note})
    return out


def public_result(events: list[Any], mask: Any) -> str | None:
    """The agency's latest result note (the "resolved" step), masked."""
    for event in reversed(events):
        if event.kind == "status" and event.status_to == "resolved" and event.note:
            return mask(event.note)
    return None


def due_state(report: Any, now: Any) -> str | None:
    """"met" | "missed" | "running" | "late" (open past due) | None (no due date)."""
    if report.due_at is None:
        return None
    if report.resolved_at is not None and report.status in ("resolved", "closed"):
        return "met" if report.resolved_at <= report.due_at else "missed"
    return "late" if now > report.due_at else "running"
