"""Everything the inbox worker learns from a report's text in one pure call.

    analyze(text, lat, lon, address) -> Analysis(category, ward, phones, emails, ...)

Category comes from the description; the place from the channel's coordinates and the
address field first, then from the description; contacts from description and address.
The caller keeps the original text: nothing here rewrites it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from normalizer.classify import classify
from normalizer.phones import extract_emails, extract_phones, own_emails, own_phones
from normalizer.places import resolve_place
from normalizer.text import nfc

# A valid mobile or landline number has at least 6 digits (the fewest in phonenumbers'
# metadata: Austria, country code 43 and 4 digits; a Vietnamese one has 9 or more), and the
# phone matcher only reads digits separated by at most 4 of its punctuation characters (dashes,
# spaces, dots, slashes, brackets, "x"). A text without such a run holds no number, and the
# matcher, the slowest step of analyze(), is not run.
_PHONE_SHAPE = re.compile(r"\d(?:[\W_xX]{0,4}\d){5}")


def _may_hold_phone(text: str) -> bool:
    return _PHONE_SHAPE.search(text) is not None


@dataclass(frozen=True, slots=True)
class Analysis:
    category: str
    category_confidence: float
    classifier_version: str
    ward: str | None  # current unit's official name, or None for the center to decide
    place_source: str | None  # "coordinates" | "text" | None
    place_matched: str | None  # the name seen in the text, as written (old names included)
    phones: tuple[str, ...]  # E.164
    emails: tuple[str, ...]
    place_confidence: float = 0.0
    # Of those, the ones the text gives as the writer's own (normalizer.phones.own_phones):
    # only these may become the citizen's contact.
    own_phones: tuple[str, ...] = ()
    own_emails: tuple[str, ...] = ()


def analyze(
    text: str | None,
    lat: float | None = None,
    lon: float | None = None,
    address: str | None = None,
    province: str = "Huế",
) -> Analysis:
    description = nfc(text or "")
    addr = nfc(address or "")
    category = classify(description)
    place = resolve_place(addr or description, lat, lon, province)
    if place.ward is None and addr and description:
        place = resolve_place(description, lat, lon, province)
    contact_text = f"{description}\n{addr}" if addr else description
    return Analysis(
        category=category.category,
        category_confidence=category.confidence,
        classifier_version=category.version,
        ward=place.ward,
        place_source=place.source,
        place_matched=place.matched,
        phones=tuple(extract_phones(contact_text)) if _may_hold_phone(contact_text) else (),
        emails=tuple(extract_emails(contact_text)) if "@" in contact_text else (),
        place_confidence=place.confidence,
        own_phones=tuple(own_phones(contact_text)) if _may_hold_phone(contact_text) else (),
        own_emails=tuple(own_emails(contact_text)) if "@" in contact_text else (),
    )
