"""The one schema every channel is normalized into. Plain data, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# Contract categories, with their Vietnamese field names (used in templates and Open311 services).
CATEGORIES: dict[str, str] = {
    "construction_order": "Trật tự xây dựng",
    "environment": "Vệ sinh môi trường",
    "traffic_infrastructure": "Hạ tầng giao thông",
    "urban_infrastructure": "Hạ tầng đô thị (điện chiếu sáng, thoát nước, cây xanh, vỉa hè)",
    "public_order": "An ninh, trật tự xã hội",
    "tourism": "Chất lượng dịch vụ du lịch",
    "public_service": "Cán bộ, thủ tục hành chính chậm trễ, phiền hà",
    "other": "Khác",
}

STATUSES = (
    "received", "triage", "forwarded", "in_progress", "resolved", "closed",
    "rejected", "returned", "duplicate",
)
# Statuses in which a report still waits for someone (Open311 "open", the agencies' queues).
OPEN_STATUSES = ("received", "triage", "forwarded", "in_progress", "returned")

# How long stored free text may be (the columns' sizes). Forms and APIs refuse longer input with
# a clear error; chat channels, which cannot be refused, are cut (hub.inbound.limits).
TEXT_MAX = 20_000
FIELD_MAX = {"name": 255, "phone": 32, "email": 320, "address": 1_000, "ward": 128,
             "sender_id": 255, "external_id": 255, "report_code": 32}
DESCRIPTION_MAX = 4000  # what the portal form and Open311 accept as a report's description

MessageKind = Literal[
    "message",   # citizen content: opens or extends a report
    "edit",      # citizen edited an earlier message (meta["edited_external_id"])
    "contact",   # contact data only (follow/unfollow, shared phone); no report
    "delivery",  # delivery/read receipt for one of our outbound messages
    "command",   # a bot command (meta["command"], meta["args"]): answered, no report
    "ignore",    # acknowledged and logged, nothing else (echoes, reactions, unknown kinds)
]


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """An attachment as the channel announced it. ``url`` is fetched later by the worker;
    ``data`` carries inline bytes (email parts, already in hand)."""

    kind: str  # image | video | audio | file | sticker | link
    url: str | None = None
    content_type: str | None = None
    name: str | None = None
    size: int | None = None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class Location:
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    ward: str | None = None


@dataclass(frozen=True, slots=True)
class ContactInfo:
    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(slots=True)
class InboundMessage:
    """One citizen event after channel-specific parsing."""

    channel: str
    external_id: str
    sender_id: str  # channel user id; also the reply address unless reply_address says otherwise
    kind: MessageKind = "message"
    text: str = ""
    sent_at: datetime | None = None
    attachments: list[AttachmentRef] = field(default_factory=list)
    location: Location | None = None
    contact: ContactInfo | None = None
    # A report code the message explicitly belongs to (email thread, "/status CODE", Subject tag).
    report_code: str | None = None
    # Channel data needed to answer in context (email Message-ID/Subject, Zalo anonymous id...).
    reply_context: dict[str, Any] = field(default_factory=dict)
    # Anything else worth keeping (provider ids, category hints, service codes).
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """What a webhook hands to durable intake: one stable id and the raw JSON-able payload."""

    external_id: str
    payload: dict[str, Any]


@dataclass(slots=True)
class OutboundMessage:
    """A message to a citizen or agency. Channels that cannot render everything fall back to text."""

    text: str
    subject: str | None = None
    report_code: str | None = None
    # For email threading and idempotency keys (the outbox row id is stable across retries).
    idempotency_key: str | None = None
    reply_context: dict[str, Any] = field(default_factory=dict)
    template: str | None = None
    template_data: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    automatic: bool = True
    # A question of the intake dialogue ("place" | "photo" | "phone"): a sender may add its
    # native affordance (a share-location or share-phone button); the text always asks in words.
    ask: str | None = None
    # Short answers offered as buttons, each {"kind": "text"|"location"|"phone", "title",
    # "payload"}; a sender renders the kinds it has (quick replies, a reply keyboard) and drops
    # the rest — the text names them too.
    quick_replies: list[dict[str, str]] = field(default_factory=list)


DeliveryStatus = Literal["sent", "retry", "give_up", "paused"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What a sender says about one attempt.

    sent: done. retry: try again later (``retry_after`` seconds if the provider said).
    give_up: permanent failure with ``reason`` (``needs_other_route`` when another contact point
    could still reach the citizen). paused: the channel cannot send at all now (token invalid):
    the row is kept for later and an alert raised.
    """

    status: DeliveryStatus
    reason: str = ""
    retry_after: float | None = None
    provider_id: str | None = None
    needs_other_route: bool = False

    @classmethod
    def sent(cls, provider_id: str | None = None) -> DeliveryResult:
        return cls("sent", provider_id=provider_id)

    @classmethod
    def retry(cls, reason: str, retry_after: float | None = None) -> DeliveryResult:
        return cls("retry", reason=reason, retry_after=retry_after)

    @classmethod
    def give_up(cls, reason: str, needs_other_route: bool = False) -> DeliveryResult:
        return cls("give_up", reason=reason, needs_other_route=needs_other_route)

    @classmethod
    def paused(cls, reason: str) -> DeliveryResult:
        return cls("paused", reason=reason)
