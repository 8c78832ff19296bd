"""Tables of the public portal: what the center keeps off the public pages, the folded search
text of each report, and the working-day calendar the agency statistics count with.

They share ``store.models.Base`` (registered when this module is imported: every user of these
tables imports it); schema changes go through store/migrations/versions/0003_portal.py.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigId, Report, utcnow


class ReportModeration(Base):
    """The center's decisions about a report's public face: hide the whole report (404 on its
    page, absent from every list, feed and export) or single photos (by SHA-256)."""

    __tablename__ = "report_moderation"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    hidden_photos: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReportSearch(Base):
    """Folded (lower case, no diacritics) description, address and ward of a public report, so
    ``q`` matches "o ga" and "ổ gà" alike on every backend with a plain LIKE."""

    __tablename__ = "report_search"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    # The report's updated_at when indexed: a newer one means the text is re-folded.
    source_updated_at: Mapped[datetime | None]


class ReportWord(Base):
    """Each distinct folded word of a public report's text: ``q`` looks its words up in this
    index (every word exact, the last one as a prefix) instead of scanning every text."""

    __tablename__ = "report_words"

    word: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)


class WorkCalendar(Base):
    """One row per local calendar day: ``working_index`` counts working days (weekends and the
    configured holidays skipped) up to and including that day, so the working days between two
    dates are a subtraction in SQL."""

    __tablename__ = "work_calendar"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, local
    working_index: Mapped[int] = mapped_column(Integer)


# Per-agency statistics read only these columns: an index-only scan instead of the table.
Index("ix_portal_agency_stats", Report.agency_id, Report.status, Report.forwarded_at,
      Report.resolved_at, Report.due_at, Report.rating_score)
# The public list in publication order, overall and per filter: each serves both the page
# (ORDER BY forwarded_at DESC) and its count (a range of the index, no table reads).
Index("ix_portal_forwarded", Report.forwarded_at)
Index("ix_portal_category_forwarded", Report.category, Report.forwarded_at)
Index("ix_portal_ward_forwarded", Report.ward, Report.forwarded_at)
Index("ix_portal_agency_forwarded", Report.agency_id, Report.forwarded_at)
Index("ix_portal_status_forwarded", Report.status, Report.forwarded_at)
# The search-text job reads only what changed since its last pass.
Index("ix_portal_updated", Report.updated_at)
