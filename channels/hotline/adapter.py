"""Hotline channel: calls logged by operators and call-center exports, and status updates to
citizens who only gave a phone number.

Intake: ``python main.py import-hotline FILE...`` and the drop folder (``channels.hotline.importer``)
store one inbox row per call (external id = the call id, else a hash of time + caller + text);
``parse`` turns a stored row into an InboundMessage (pure). Sending: the "hotline" sender texts
the citizen through the SMS gateway when one is configured, else through Zalo ZNS when the Zalo
channel offers it ("zns" in hub.senders), else puts the message on the operators' call-back
list. "sms" (gateway only) and "callback" (list only) are senders of their own for the router's
fallback chain. ``list_callbacks``/``mark_callback_done`` serve ``GET /api/v1/callbacks``.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelAdapter
from channels.hotline.sms import SmsSender
from normalizer.schema import (
    CATEGORIES,
    ContactInfo,
    DeliveryResult,
    InboundMessage,
    Location,
    OutboundMessage,
)
from normalizer.text import fold
from store.models import Callback, Report, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.channels.hotline")

# Folded words operators and call-center software use for the contract categories. Longer,
# more specific phrases are tried first ("trat tu xay dung" before "trat tu").
CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "construction_order": ("trat tu xay dung", "xay dung", "xay dung trai phep", "lan chiem",
                           "construction"),
    "environment": ("ve sinh moi truong", "moi truong", "rac thai", "o nhiem", "environment"),
    "traffic_infrastructure": ("ha tang giao thong", "giao thong", "duong xa", "traffic"),
    "urban_infrastructure": ("ha tang do thi", "chieu sang", "den duong", "thoat nuoc",
                             "cay xanh", "via he", "do thi", "urban"),
    "public_order": ("an ninh trat tu xa hoi", "an ninh trat tu", "trat tu xa hoi", "an ninh",
                     "trat tu cong cong", "public order"),
    "tourism": ("chat luong dich vu du lich", "du lich", "tourism"),
    "public_service": ("thu tuc hanh chinh", "hanh chinh cong", "dich vu cong", "can bo",
                       "cong chuc", "public service"),
    "other": ("khac", "other"),
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
    if phone is None:
        # A withheld number: the call is a report, but there is no one to answer.
        sender = f"anonymous:{external_id}"
        meta["reply_address"] = ""
    else:
        sender = phone
    address = payload.get("address") or None
    return InboundMessage(
        channel="hotline", external_id=external_id, sender_id=sender, kind="message",
        text=payload.get("text") or "", sent_at=when,
        location=Location(address=address) if address else None,
        contact=ContactInfo(name=payload.get("name") or None, phone=phone), meta=meta)


class HotlineChannel(ChannelAdapter):
    name = "hotline"

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self.cfg = hub.settings.channels.hotline
        self.sms = SmsSender(hub)
        self.callbacks = CallbackSender(hub)

    @classmethod
    def from_settings(cls, hub: Hub) -> HotlineChannel:
        from channels.hotline.importer import local_zone

        local_zone(hub.settings.channels.hotline.timezone)  # fails fast on an unknown zone
        return cls(hub)

    def senders(self) -> dict[str, ChannelAdapter]:
        out: dict[str, ChannelAdapter] = {self.name: self, "callback": self.callbacks}
        if self.sms.configured:
            out["sms"] = self.sms
        return out

    def parse(self, payload: dict[str, Any]) -> list[InboundMessage]:
        try:
            return [parse_call(payload)]
        except (KeyError, TypeError, ValueError):
            # Rows are written by our own importer; a damaged one is logged, not retried.
            return [InboundMessage(channel="hotline", external_id=str(payload.get("id", "")),
                                   sender_id="", kind="ignore",
                                   meta={"reason": "malformed stored call"})]

    async def start(self) -> None:
        if self.cfg.drop_dir:
            from channels.hotline.importer import DropFolder

            folder = DropFolder(self.hub)
            folder.prepare()
            self.hub.add_job("hotline-drop-folder", self.cfg.drop_poll_seconds, folder.scan,
                             leader_only=True)

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        """SMS gateway, else Zalo ZNS, else the call-back list. A refusal by the first route
        (bad number, no ZNS template) goes to the call-back list: the citizen did call us."""
        route = None
        if self.sms.configured:
            route = self.sms
        elif self.hub.senders.get("zns") is not None:
            route = self.hub.senders["zns"]
        if route is None:
            return await self.callbacks.add(address, message, "không có cổng SMS/ZNS")
        result = await route.send(address, message)
        if result.status != "give_up":
            return result
        return await self.callbacks.add(address, message, f"{getattr(route, 'name', 'zns')}: {result.reason}")


class CallbackSender(ChannelAdapter):
    """The "callback" sender: the message goes onto the operators' call-back list."""

    name = "callback"

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        return await self.add(address, message, "gọi lại theo yêu cầu chuyển tiếp")

    async def add(self, address: str, message: OutboundMessage, reason: str) -> DeliveryResult:
        async with self.hub.sessions() as session, session.begin():
            entry = await add_callback(session, phone=address, text=message.text,
                                       report_code=message.report_code, reason=reason)
        return DeliveryResult.sent(provider_id=f"callback:{entry.id}")


# --- the call-back list ------------------------------------------------------------------------
async def add_callback(session: AsyncSession, *, phone: str | None, text: str,
                       report_code: str | None, reason: str) -> Callback:
    """Add an entry, or return the open one with the same phone, report and text (a send retried
    after a crash must not ask operators to call twice)."""
    report_id = None
    if report_code:
        report_id = (await session.execute(
            select(Report.id).where(Report.code == report_code))).scalar()
    existing = (await session.execute(
        select(Callback).where(Callback.phone == phone, Callback.report_id == report_id,
                               Callback.text == text, Callback.done_at.is_(None))
        .limit(1))).scalar_one_or_none()
    if existing is not None:
        return existing
    entry = Callback(report_id=report_id, phone=phone, text=text, reason=reason[:500],
                     created_at=utcnow())
    session.add(entry)
    await session.flush()
    return entry


def callback_json(entry: Callback, code: str | None) -> dict[str, Any]:
    from store.serialize import iso

    return {"id": entry.id, "report_code": code, "phone": entry.phone, "text": entry.text,
            "reason": entry.reason, "created_at": iso(entry.created_at),
            "done_at": iso(entry.done_at), "done_by": entry.done_by, "outcome": entry.outcome}


async def list_callbacks(session: AsyncSession, *, state: str = "open", limit: int = 100,
                         offset: int = 0, agency_id: str | None = None) -> list[dict[str, Any]]:
    """Call-back entries, oldest first. state: open | done | all. ``agency_id`` (not "center")
    limits the list to that agency's reports."""
    if state not in ("open", "done", "all"):
        raise ValueError("state must be open, done or all")
    query = select(Callback, Report.code).outerjoin(Report, Report.id == Callback.report_id)
    if state == "open":
        query = query.where(Callback.done_at.is_(None))
    elif state == "done":
        query = query.where(Callback.done_at.is_not(None))
    if agency_id and agency_id != "center":
        query = query.where(Report.agency_id == agency_id)
    query = query.order_by(Callback.id).limit(max(1, min(limit, 1000))).offset(max(0, offset))
    return [callback_json(entry, code) for entry, code in await session.execute(query)]


async def mark_callback_done(session: AsyncSession, callback_id: int, *, done_by: str,
                             outcome: str | None = None) -> dict[str, Any] | None:
    """Mark an entry done (idempotent: a second call keeps the first time and operator). Adds a
    note to the report's history. None when there is no such entry."""
    from router import lifecycle

    entry = await session.get(Callback, callback_id)
    if entry is None:
        return None
    report = await session.get(Report, entry.report_id) if entry.report_id else None
    if entry.done_at is None:
        entry.done_at, entry.done_by = utcnow(), done_by[:64]
        entry.outcome = (outcome or "").strip()[:2000] or None
        if report is not None:
            lifecycle.record(session, report, actor=done_by[:64], kind="note", public=False,
                             note=f"đã gọi lại công dân: {entry.outcome or 'hoàn thành'}")
    return callback_json(entry, report.code if report else None)
