"""store.models.UTCDateTime on SQLite converts in one step each way (isoformat / fromisoformat)
instead of SQLAlchemy's DATETIME formatting and regex parsing: the stored text and the values
read back must be exactly what the standard processing gives."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, create_engine, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from store.models import InboxEvent, UTCDateTime

VALUES = (datetime(2026, 12, 1, 9, 30, 0, 125, tzinfo=UTC),
          datetime(2026, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=7))),
          datetime(2026, 5, 5, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
          datetime(999, 1, 2, tzinfo=UTC),
          datetime(2026, 3, 1, tzinfo=timezone(timedelta(0))))  # UTC, but not the UTC object


def _standard():
    """SQLAlchemy's own SQLite processing of the type: process_bind_param then DATETIME's
    text; DATETIME's parsing then process_result_value."""
    dialect = sqlite.dialect()
    impl = DateTime(timezone=True).dialect_impl(dialect)
    bind, result = impl.bind_processor(dialect), impl.result_processor(dialect, None)
    t = UTCDateTime()
    return (lambda v: bind(t.process_bind_param(v, dialect)),
            lambda s: t.process_result_value(result(s), dialect))


def test_the_stored_text_and_the_values_read_are_the_standard_ones() -> None:
    dialect = sqlite.dialect()
    ours_bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    ours_result = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    std_bind, std_result = _standard()
    for value in (None, *VALUES):
        assert ours_bind(value) == std_bind(value)
    # texts as this type writes them, as SQLite's CURRENT_TIMESTAMP writes them (no fraction),
    # with a short fraction
    for stored in (None, "2026-12-01 09:30:00.000125", "2026-12-01 09:30:00", "2026-12-01 09:30:00.5",
                   "0999-01-02 00:00:00.000000"):
        assert ours_result(stored) == std_result(stored)
    with pytest.raises(ValueError):
        ours_bind(datetime(2026, 1, 1))  # naive: refused, as before


def test_round_trip_through_the_orm(tmp_path) -> None:  # noqa: ANN001
    engine = create_engine(f"sqlite:///{tmp_path / 'dt.db'}")
    InboxEvent.__table__.create(engine)
    when = datetime(2026, 12, 1, 16, 30, 0, 42, tzinfo=timezone(timedelta(hours=7)))
    with Session(engine) as session, session.begin():
        session.add(InboxEvent(channel="hotline", external_id="x1", payload="{}", received_at=when))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT received_at FROM inbox")).scalar_one()
    assert stored == "2026-12-01 09:30:00.000042"
    with Session(engine) as session:
        event = session.query(InboxEvent).one()
        assert event.received_at == when and event.received_at.tzinfo is UTC
        # a comparison in a WHERE clause binds the same text
        assert session.query(InboxEvent).filter(InboxEvent.received_at == when).count() == 1
    engine.dispose()
