"""A stored call row → InboundMessage (pure), and the export's category column → a contract
category."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from normalizer.schema import CATEGORIES, ContactInfo, InboundMessage, Location
from normalizer.text import fold

# Folded words operators and call-center software use for the contract categories. Longer,
# more specific phrases are tried first ("trat tu xay dung" before "trat tu").
CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    # Encroaching on sidewalks or roads to trade or park is urban order (DESIGN.md, Categories).
    "construction_order": ("trat tu xay dung", "xay dung", "xay dung trai phep", "lan chiem",
                           "trat tu do thi", "lan chiem via he", "lan chiem long duong",
                           "lan chiem le duong", "do xe", "ban hang rong", "construction"),
    "environment": ("ve sinh moi truong", "moi truong", "rac thai", "o nhiem", "environment"),
    "traffic_infrastructure": ("ha tang giao thong", "giao thong", "duong xa", "o ga",
                               "mat duong", "den tin hieu", "bien bao", "traffic"),
    "urban_infrastructure": ("ha tang do thi", "chieu sang", "den duong", "thoat nuoc",
                             "cay xanh", "via he", "do thi", "cap nuoc", "nuoc sinh hoat",
                             "cong vien", "day dien", "urban"),
    # Noise and karaoke are public order.
    "public_order": ("an ninh trat tu xa hoi", "an ninh trat tu", "trat tu xa hoi", "an ninh",
                     "trat tu cong cong", "tieng on", "on ao", "karaoke", "gay on",
                     "public order"),
    "tourism": ("chat luong dich vu du lich", "du lich", "di tich", "chat chem", "tourism"),
    "public_service": ("thu tuc hanh chinh", "hanh chinh cong", "dich vu cong", "can bo",
                       "cong chuc", "ho so", "tre hen", "public service"),
    "other": ("khac", "dien luc", "mat dien", "other"),
}


def _key(text: str | None) -> str:
    return " ".join(fold(text).replace("_", " ").replace(",", " ").replace("-", " ").split())


_ALIAS_ORDER: list[tuple[str, str]] = sorted(
    [(alias, cat) for cat, aliases in CATEGORY_ALIASES.items() for alias in aliases]
    + [(_key(label.split(" (")[0]), cat) for cat, label in CATEGORIES.items()],
    key=lambda pair: -len(pair[0]))


def map_category(raw: str | None) -> str | None:
    """A contract category for what the export wrote in its category column, or None."""
    key = _key(raw)
    if not key:
        return None
    if key.replace(" ", "_") in CATEGORIES:
        return key.replace(" ", "_")
    padded = f" {key} "
    for exact in (True, False):
        for alias, category in _ALIAS_ORDER:
            if (key == alias) if exact else (f" {alias} " in padded):
                return category
    return None


def parse_call(payload: dict[str, Any]) -> InboundMessage:
    """Pure: a stored call row (see hotline_import.make_record) → InboundMessage."""
    external_id = str(payload["id"])
    phone = payload.get("caller") or None
    when = datetime.fromisoformat(payload["time"])
    meta: dict[str, Any] = {"created_at": when, "source_file": payload.get("source"),
                            "source_row": payload.get("row")}
    if payload.get("operator"):
        meta["operator"] = payload["operator"]
    category = map_category(payload.get("category"))
    if category and category != "other":
        meta["category_hint"] = category
    elif payload.get("category"):
        meta["category_raw"] = payload["category"]
    if payload.get("silent"):
        meta["silent"] = True
    if payload.get("caller_unverified"):
        # A number that cannot exist as typed: kept for the operator to check and call back by
        # hand; no message is sent to it.
        meta["caller_unverified"] = str(payload["caller_unverified"])
    if phone is None:
        # A withheld (or unverifiable) number: the call is a report, but no one to answer.
        sender = f"{'unverified' if payload.get('caller_unverified') else 'anonymous'}:{external_id}"
        meta["reply_address"] = ""
    else:
        sender = phone
    address = payload.get("address") or None
    return InboundMessage(
        channel="hotline", external_id=external_id, sender_id=sender, kind="message",
        text=payload.get("text") or "", sent_at=when,
        location=Location(address=address) if address else None,
        contact=ContactInfo(name=payload.get("name") or None, phone=phone), meta=meta)
