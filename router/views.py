"""The report as agencies see it (API, webhook body, email): the contract's JSON with citizen
contacts, and attachment URLs pointing at the token-protected agency API; and as the public
sees it (the portal): citizen-readable Vietnamese history, the result, the due date kept or not."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from router.messages import CENTER_NAME
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


# The note router.assign.reroute writes on a forward from one agency to another
# ("chuyển moi-truong → qldt-thuan-hoa"): events store no agency, so this note is where a
# past forward's agency is read from.
REROUTE_NOTE = re.compile(r"chuyển (\S+) → (\S+)")


# Statuses that take a report off its agency (router.lifecycle.change_status).
BACK_WITH_THE_CENTER = ("returned", "triage", "rejected", "duplicate")


def _reroute_ends(note: str | None, names: dict[str, str]) -> tuple[str | None, str | None]:
    """(from, to) agency ids of a re-route note written by our own code; None where the note
    is not one or names an agency no longer configured."""
    match = REROUTE_NOTE.fullmatch((note or "").strip())
    if match is None:
        return None, None
    before, after = match.groups()
    return (before if before in names else None), (after if after in names else None)


def _forward_targets(events: list[Any], names: dict[str, str], current_id: str | None,
                     staff: dict[str, str] | None = None) -> dict[int, str | None]:
    """Index of each "forwarded" status event → the agency id the report went to then: its own
    re-route note ("… → to"); else the next forward's note ("from → …": the agency changes only
    by forwarding, and a report taken back from its agency has none, so that re-route writes no
    note); else, for the last forward, the report's agency now; else an agency acting on the
    report before the next forward (an agency's token acts as its id, its officers in the
    console as their login: ``staff`` maps those to the agency); else None (the caller falls
    back to the agency now)."""
    staff = staff or {}
    forwards = [i for i, e in enumerate(events) if e.kind == "status" and e.status_to == "forwarded"]
    targets: dict[int, str | None] = {}
    for n, i in enumerate(forwards):
        end = forwards[n + 1] if n + 1 < len(forwards) else len(events)
        target = _reroute_ends(events[i].note, names)[1]
        if target is None and end < len(events):
            target = _reroute_ends(events[end].note, names)[0]
        if target is None and end == len(events) and current_id in names:
            target = current_id
        if target is None:
            acting = (staff.get(e.actor, e.actor) for e in events[i + 1:end])
            target = next((by for by in acting if by in names), None)
        targets[i] = target
    return targets


def public_timeline(report: Any, events: list[Any], names: dict[str, str],
                    mask: Any, staff: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Public events → [{at, status, text, note_label, note}] in Vietnamese. ``names`` maps
    agency ids to names; ``mask(text)`` masks personal data in notes. A "forwarded" step names
    the agency the report went to then, a step by an agency that agency, any other step the
    agency the report was with then (the report's agency now where that is not known)."""
    current = names.get(report.agency_id or "", None)
    targets = _forward_targets(events, names, report.agency_id, staff)
    at_the_time: str | None = None  # the agency of the latest forward so far, when known
    out = []
    for index, event in enumerate(events):
        if index in targets:
            at_the_time = targets[index]
        elif event.kind == "status" and event.status_to in BACK_WITH_THE_CENTER:
            at_the_time = None
        if event.kind == "reply":
            step, key = REPLY_STEP, "reply"
        elif event.kind == "status" and event.status_to in PUBLIC_STEPS:
            step, key = PUBLIC_STEPS[event.status_to], event.status_to
        else:
            continue
        by = (staff or {}).get(event.actor, event.actor)  # a staff login → whom they work for
        agency_id = by if index not in targets and by in names else at_the_time
        agency = names.get(agency_id or "") or current or SOME_AGENCY
        if event.kind == "reply" and by == "center":  # as the citizen's message says
            agency = CENTER_NAME
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
