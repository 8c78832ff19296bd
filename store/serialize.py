"""Report → the contract's JSON (export, agency API) and its public, redacted form."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from store.models import Attachment, Contact, Report, ReportEvent


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


_WORD = re.compile(r"[^\W\d_]+")
MASK = "***"


def mask_name_tokens(text: str, name: str | None) -> str:
    """Every word of the citizen's name masked wherever it stands, written with or without
    diacritics ("Nguyễn Thị Lan" masks "Lan", "lan", "NGUYEN", "Thi"...). A word typed with
    diacritics must match them exactly ("lân" is not "Lan"); a bare-ASCII word matches the
    folded name word ("lan"). One- and two-letter words ("An", "Lê") are masked only when
    capitalised, as names are written, so "an ninh" and "lề đường" survive a name with them."""
    from normalizer.text import fold, nfc

    tokens = {nfc(t).lower() for t in _WORD.findall(nfc(name or ""))}
    if not tokens:
        return text
    folded = {fold(t) for t in tokens}

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        hit = lower in tokens or (word.isascii() and lower in folded)
        if hit and len(word) <= 2 and not word[:1].isupper():
            hit = False
        return MASK if hit else word

    return _WORD.sub(replace, text)


def public_text_for(text: str | None, name: str | None) -> str:
    """Free text as public pages may show it: phones, emails and every word of the citizen's
    name masked (names given as the contact's name)."""
    from normalizer.phones import mask_personal
    from normalizer.text import nfc

    if not text:
        return ""
    clean = nfc(text)
    if name and name.strip():
        clean = mask_personal(clean, names=(nfc(name),))
        clean = mask_name_tokens(clean, name)
    else:
        clean = mask_personal(clean)
    return clean


def public_text(text: str, contact: Contact | None) -> str:
    """Free text as public pages may show it: phones, emails and the citizen's name masked."""
    return public_text_for(text, contact.name if contact is not None else None)


def attachment_url(base_url: str, code: str, sha256: str) -> str:
    """Stored files are served by the token-protected agency API (photos may show people)."""
    return f"{base_url.rstrip('/')}/api/v1/reports/{code}/attachments/{sha256}"


def attachment_dict(att: Attachment, base_url: str, code: str,
                    public: bool = False) -> dict[str, Any]:
    url = None
    if not public:
        if att.sha256:
            url = attachment_url(base_url, code, att.sha256)
        elif att.state == "linked":
            url = att.source_url  # kept as a link on purpose (a host we may not fetch from)
    return {
        "kind": att.kind,
        "sha256": att.sha256,
        "size": att.size,
        "content_type": att.content_type,
        "url": url,
        "state": att.state,
    }


def report_dict(report: Report, *, contact: Contact | None, attachments: list[Attachment],
                events: list[ReportEvent], base_url: str, public: bool = False) -> dict[str, Any]:
    location = None
    if report.lat is not None or report.address or report.ward:
        location = {"lat": report.lat, "lon": report.lon,
                    "address": public_text(report.address, contact) if public and report.address else report.address,
                    "ward": report.ward}
    data: dict[str, Any] = {
        "code": report.code,
        "channel": report.channel,
        "status": report.status,
        "category": report.category,
        "category_confidence": report.category_confidence,
        "description": public_text(report.description, contact) if public else report.description,
        "location": location,
        "attachments": [attachment_dict(a, base_url, report.code or "", public) for a in attachments
                        if not public or a.state == "stored"],
        "agency": report.agency_id,
        "created_at": iso(report.created_at),
        "updated_at": iso(report.updated_at),
        "due_at": iso(report.due_at),
        "rating": ({"score": report.rating_score,
                    "comment": (public_text(report.rating_comment, contact)
                                if public and report.rating_comment else report.rating_comment)}
                   if report.rating_score is not None else None),
        "duplicate_of": report.duplicate_of,
        "events": [
            {"time": iso(e.at), "actor": e.actor,
             "kind": e.kind, "status_from": e.status_from, "status": e.status_to,
             "note": public_text(e.note, contact) if public and e.note else e.note}
            for e in events if not public or (e.public and e.kind in ("status", "reply"))
        ],
    }
    if not public:
        data["classifier_version"] = report.classifier_version
        data["external_ids"] = list(report.external_ids or [])
        data["citizen"] = {
            "channel_user_id": contact.channel_user_id if contact else None,
            "name": contact.name if contact else None,
            "phone": contact.phone if contact else None,
            "email": contact.email if contact else None,
        }
    return data
