"""SQLAlchemy models. Schema changes go through Alembic (store/migrations)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite, both directions in one step each (C-level isoformat / fromisoformat) instead
    # of process_*_param plus the DATETIME type's own Python formatting and regex parsing: the
    # same stored text and the same values back (tests/core/test_utc_datetime.py).
    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return self.sqlite_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_utc_value
        return super().result_processor(dialect, coltype)

    @staticmethod
    def sqlite_text(value: datetime | None) -> str | None:
        """What this type stores on SQLite (process_bind_param, then SQLite's DATETIME text,
        "YYYY-MM-DD HH:MM:SS.ffffff" in UTC), in one step: its bind processor there."""
        if value is None:
            return None
        if value.tzinfo is UTC:  # the usual case (utcnow, values read back): no conversion
            return value.isoformat(" ", "microseconds")[:26]  # without "+00:00"
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_utc_value(value: str | None) -> datetime | None:
    """A UTC datetime from SQLite's stored text ("YYYY-MM-DD HH:MM:SS[.ffffff]")."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Contact(Base):
    """A citizen's identity on one channel (a phone-only hotline caller uses channel 'hotline')."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32), default="active")  # active|unfollowed|blocked
    last_inbound_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxEvent(Base):
    """A raw channel event, committed before the channel is acknowledged."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_inbox_channel_external_id"),
        Index("ix_inbox_claim", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)  # raw JSON text, as received or split
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending → claimed → done | ignored | parked (after too many failures)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)

    # Only so the unit of work writes the report before rows that name it (a new report has
    # its id before it is flushed, store/ids.py); never loaded.
    report: Mapped[Report | None] = relationship(lazy="raise")


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    categories: Mapped[list[Any]] = mapped_column(default=list)
    areas: Mapped[list[Any]] = mapped_column(default=list)
    email: Mapped[str | None] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)


class AgencyToken(Base):
    __tablename__ = "agency_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(64), index=True)  # an agency id or "center"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_agency_status", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    category: Mapped[str | None] = mapped_column(String(32))
    category_confidence: Mapped[float | None] = mapped_column(Float)
    classifier_version: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    ward: Mapped[str | None] = mapped_column(String(128))
    place_source: Mapped[str | None] = mapped_column(String(32))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    # Where replies go on the origin channel (Messenger PSID, Zalo sender.id, chat id, email).
    reply_address: Mapped[str | None] = mapped_column(String(320))
    reply_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    agency_id: Mapped[str | None] = mapped_column(String(64))
    external_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    forwarded_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    rating_score: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[str | None] = mapped_column(String(32))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    contact: Mapped[Contact | None] = relationship(lazy="raise")
    attachments: Mapped[list[Attachment]] = relationship(
        lazy="raise", order_by="Attachment.id", back_populates="report")
    events: Mapped[list[ReportEvent]] = relationship(
        lazy="raise", order_by="ReportEvent.id", back_populates="report")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # pending → stored | refused (host/size) | failed (after retries) | linked (kept as a link)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(lazy="raise", back_populates="attachments")


class ReportEvent(Base):
    """Status history and everything else that happened to a report (notes, replies, sends)."""

    __tablename__ = "report_events"
    __table_args__ = (
        # The reports returned to the center, the latest return first (store.report_list
        # .returned_by_agency): status_to is set on status events only.
        Index("ix_report_events_status_to", "status_to", "report_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # system | citizen | center | <agency id>
    # status | message | note | reply | notification | delivery | classification
    kind: Mapped[str] = mapped_column(String(16), default="status")
    status_from: Mapped[str | None] = mapped_column(String(16))
    status_to: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=True)

    report: Mapped[Report] = relationship(lazy="raise", back_populates="events")


class OutboxMessage(Base):
    """Everything outbound: citizen messages and agency deliveries, written in the same
    transaction as the change that causes them."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_claim", "state", "next_attempt_at"),
        # A citizen's messages leave in order: the outbox claim looks for an older unfinished
        # row of the same address (hub.dispatch). Partial: only unfinished rows, a small set.
        Index("ix_outbox_open_address", "channel", "address", "id",
              sqlite_where=text("state IN ('pending', 'retry', 'sending', 'paused')"),
              postgresql_where=text("state IN ('pending', 'retry', 'sending', 'paused')")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # citizen | agency_email | agency_webhook | callback
    purpose: Mapped[str] = mapped_column(String(32), default="citizen")
    channel: Mapped[str] = mapped_column(String(16))  # the sender that delivers it
    address: Mapped[str] = mapped_column(String(320))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    template: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # OutboundMessage fields
    # pending → sending → sent | retry → ... | dead (gave up) | paused (channel paused)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # Delivery receipts from the channel (delivered, seen, bounced).
    delivery_state: Mapped[str | None] = mapped_column(String(16))
    # Set when this row was created as a fallback for another (router).
    fallback_of: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    # Only so the unit of work writes the report before rows that name it (a new report has
    # its id before it is flushed, store/ids.py); never loaded.
    report: Mapped[Report | None] = relationship(lazy="raise")


class Suppression(Base):
    """An address we must not send to (bounced mailbox, blocked bot, unfollowed OA)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Callback(Base):
    """Operator call-back list: citizens reachable only by a phone call."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(Text)

    # Only so the unit of work writes the report before rows that name it (a new report has
    # its id before it is flushed, store/ids.py); never loaded.
    report: Mapped[Report | None] = relationship(lazy="raise")


class ChannelState(Base):
    """Small durable per-channel state: tokens, IMAP cursors, pause flags."""

    __tablename__ = "channel_state"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lease(Base):
    """Leader election on SQLite (PostgreSQL uses advisory locks)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


# --- Operator console: accounts, sessions, login throttling, per-account API tokens ----------


class Account(Base):
    """A person who works in the console (and, through tokens, the agency API)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # center | hotline | agency | viewer
    agency_id: Mapped[str | None] = mapped_column(String(64))  # set for role agency only
    display_name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    disabled: Mapped[bool] = mapped_column(default=False)
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A server-side login session. The cookie carries a random id; only its SHA-256 is stored,
    so a copy of the database cannot be replayed as cookies."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # absolute end of the session
    remote: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed logins per key (``user:<name>`` and ``ip:<address>``): slow down, then lock."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]  # no attempt is checked before this
    locked_until: Mapped[datetime | None]


class AccountToken(Base):
    """A per-account API token (``hub_…``, shown once, SHA-256 stored). Older agency-wide
    tokens stay in ``agency_tokens`` and keep working."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    label: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class AccountEvent(Base):
    """Audit trail of account administration (created, disabled, password reset, tokens)."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))  # user:<name> | cli
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


# The console's queue pages through reports by time within a status, an agency, or overall;
# filters on channel/category/ward and the overdue sweep use their own indexes.
Index("ix_reports_status_created", Report.status, Report.created_at)
Index("ix_reports_agency_created", Report.agency_id, Report.created_at)
Index("ix_reports_status_due", Report.status, Report.due_at)
Index("ix_reports_channel_created", Report.channel, Report.created_at)
Index("ix_reports_category_created", Report.category, Report.created_at)
Index("ix_reports_ward_created", Report.ward, Report.created_at)


# --- Citizen dialogue (issue 15): one-time rating links, "me too" subscriptions -------------


class RatingToken(Base):
    """A one-time link to rate a resolved report without logging in (citizens who cannot answer
    on their channel: SMS, hotline, web). Only the token's SHA-256 is stored."""

    __tablename__ = "rating_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    # Only so the unit of work writes the report before rows that name it (a new report has
    # its id before it is flushed, store/ids.py); never loaded.
    report: Mapped[Report | None] = relationship(lazy="raise")


# Merged duplicates point at the surviving report: its news goes to their reporters too.
Index("ix_reports_duplicate_of", Report.duplicate_of)


# --- Shared media storage (issue 17): photos and files in the database, for replicas --------


class MediaBlob(Base):
    """A stored file's bytes by SHA-256, when ``storage.backend = "database"``: every replica
    reads what any replica stored (the local folder stays a per-process cache)."""

    __tablename__ = "media_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassifierModel(Base):
    """A classifier model that ``retrain`` installed, so that every replica runs it (each
    writes it over its own model file: hub/classifier_sync.py). The newest row is the installed
    model; ``base_version`` is the one it replaced."""

    __tablename__ = "classifier_models"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))  # again when a version is reinstalled
    base_version: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the model file's JSON
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
