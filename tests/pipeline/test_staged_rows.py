"""The inbox worker's transactions stage their new report events and outbox rows outside the
session (store.ids): each is written exactly once, at commit or before a statement of the same
transaction that reads or changes those tables, and a rolled-back transaction writes none."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update

from hub.app import close_hub, open_hub
from normalizer.schema import OutboundMessage
from router.messages import outbound_row
from store.ids import next_id, stage_new_rows, write_new_rows
from store.models import OutboxMessage, Report, ReportEvent
from store.reports import record_event
from tests.conftest import make_settings


async def _new_report(session, n: int) -> Report:  # noqa: ANN001
    report = Report(channel="hotline", status="received", description=f"Đèn đường hỏng {n}",
                    reply_address="+84935111222", external_ids=[f"HL-{n}"])
    report.id = await next_id(session, Report)
    report.code = f"PA-2026-{report.id:06d}"
    session.add(report)
    return report


async def _counts(hub, report_id: int) -> tuple[int, int]:  # noqa: ANN001
    async with hub.sessions() as session:
        events = (await session.execute(select(func.count()).select_from(ReportEvent).where(
            ReportEvent.report_id == report_id))).scalar_one()
        rows = (await session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.report_id == report_id))).scalar_one()
    return events, rows


async def test_staged_rows_are_read_back_in_their_transaction_and_written_once(
        db_url: str, tmp_path: Path) -> None:
    hub = await open_hub(make_settings(tmp_path, db_url))
    try:
        async with hub.sessions() as session:
            await session.execute(select(Report.id).limit(1))  # the transaction begins
            stage_new_rows(session)
            report = await _new_report(session, 1)
            record_event(session, report, actor="citizen", kind="status", status_to="received")
            row = outbound_row(session, channel="sms", address="+84935111222", report=report,
                               template="ack", message=OutboundMessage(text="Đã tiếp nhận"))
            # staged: not in the session
            assert row not in session and not any(isinstance(o, OutboxMessage) for o in session.new)
            # a query of the same transaction sees them (they are written first) ...
            seen = (await session.execute(select(func.count()).select_from(ReportEvent).where(
                ReportEvent.report_id == report.id))).scalar_one()
            assert seen == 1
            # ... and a change of the same transaction reaches them
            changed = await session.execute(update(OutboxMessage).where(
                OutboxMessage.report_id == report.id).values(state="held"))
            assert changed.rowcount == 1
            # staged after that read: written at commit, with the session's own rows
            record_event(session, report, actor="system", kind="note", note="sau khi đọc")
            outbound_row(session, channel="sms", address="+84935111222", report=report,
                         template="ack", message=OutboundMessage(text="Lần hai"))
            await write_new_rows(session)
            await session.commit()
        assert await _counts(hub, report.id) == (2, 2)
        async with hub.sessions() as session:
            states = sorted((await session.execute(select(OutboxMessage.state).where(
                OutboxMessage.report_id == report.id))).scalars())
            payloads = [p for p in (await session.execute(select(OutboxMessage.payload).where(
                OutboxMessage.report_id == report.id).order_by(OutboxMessage.id))).scalars()]
        assert states == ["held", "pending"]
        assert [p["text"] for p in payloads] == ["Đã tiếp nhận", "Lần hai"]

        # A rolled-back transaction writes nothing, and the next one starts with an empty stage.
        async with hub.sessions() as session:
            await session.execute(select(Report.id).limit(1))
            stage_new_rows(session)
            gone = await _new_report(session, 2)
            record_event(session, gone, actor="citizen", kind="status", status_to="received")
            await session.rollback()
            await session.execute(select(Report.id).limit(1))
            stage_new_rows(session)
            kept = await _new_report(session, 3)
            record_event(session, kept, actor="citizen", kind="status", status_to="received")
            assert await write_new_rows(session) == 2  # the report and its one event
            await session.commit()
        async with hub.sessions() as session:
            # (on SQLite the kept report may reuse the rolled-back one's id)
            assert (await session.execute(select(func.count()).select_from(Report))).scalar_one() == 2
            assert (await session.execute(select(func.count()).select_from(ReportEvent))).scalar_one() == 3
        assert await _counts(hub, kept.id) == (1, 0)

        # Outside a staging transaction, rows go into the session as before.
        async with hub.sessions() as session, session.begin():
            event = record_event(session, kept, actor="center", kind="note", note="ghi chú")
            assert event in session
        assert await _counts(hub, kept.id) == (2, 0)
    finally:
        await close_hub(hub)


async def test_batch_insert_stores_what_sqlalchemy_would(db_url: str, tmp_path: Path) -> None:
    """write_new_rows hands SQLite the driver's own executemany (store.ids._driver_insert):
    every column of a report, a report event and an outbox row — JSON, booleans, defaults,
    NULLs, datetimes — is stored exactly as SQLAlchemy's own INSERT of the same values stores
    it. (Both bind datetimes with UTCDateTime's processor; tests/core/test_utc_datetime.py
    checks that one against SQLAlchemy's standard DATETIME processing.)"""
    from datetime import UTC, datetime

    from sqlalchemy import text

    hub = await open_hub(make_settings(tmp_path, db_url))
    try:
        async with hub.sessions() as session:
            await session.execute(select(Report.id).limit(1))
            stage_new_rows(session)
            report = await _new_report(session, 7)
            report.extra = {"ghi_chú": "Đường Lê Lợi", "n": [1, 2.5, None]}
            report.due_at = datetime(2026, 12, 1, 9, 30, 0, 125, tzinfo=UTC)
            record_event(session, report, actor="citizen", kind="status", status_to="received")
            outbound_row(session, channel="sms", address="+84935111222", report=report,
                         template="ack", message=OutboundMessage(text="Đã tiếp nhận phản ánh"))
            await write_new_rows(session)
            await session.commit()

        async with hub.sessions() as session:
            for table, where in (("reports", "id = :id"), ("report_events", "report_id = :id"),
                                 ("outbox", "report_id = :id")):
                model = {"reports": Report, "report_events": ReportEvent, "outbox": OutboxMessage}[table]
                written = (await session.execute(text(f"SELECT * FROM {table} WHERE {where}"),
                                                 {"id": report.id})).mappings().one()
                # the same values, read through the ORM, inserted again by SQLAlchemy itself
                obj = (await session.execute(select(model).where(model.id == written["id"]))).scalar_one()
                values = {c.key: getattr(obj, c.key) for c in model.__table__.columns}
                values["id"] = written["id"] + 1000
                if table == "reports":
                    values["code"] = values["code"] + "-B"
                    values["public_token"] = None if values.get("public_token") is None else "b"
                await session.execute(model.__table__.insert(), [values])
                again = (await session.execute(text(f"SELECT * FROM {table} WHERE id = :id"),
                                               {"id": written["id"] + 1000})).mappings().one()
                differs = {k: (written[k], again[k]) for k in written
                           if k not in ("id", "code", "public_token") and written[k] != again[k]}
                assert differs == {}, (table, differs)
            await session.rollback()
    finally:
        await close_hub(hub)



async def test_report_codes_follow_each_other_one_report_per_transaction(
        db_url: str, tmp_path: Path) -> None:
    """Deploy walkthrough: on PostgreSQL every transaction reserved 64 ids, so one report at a
    time gave PA-2026-000001, 000065, 000129… Now a transaction reserves what it asks first and
    twice as many each next time: one report per transaction gives consecutive codes, and a
    batch of 100 leaves a gap of at most half its size."""
    hub = await open_hub(make_settings(tmp_path, db_url))
    try:
        codes = []
        for n in range(4):
            async with hub.sessions() as session, session.begin():
                codes.append((await _new_report(session, n)).id)
                await write_new_rows(session)
        assert [b - a for a, b in zip(codes, codes[1:], strict=False)] == [1, 1, 1]
        async with hub.sessions() as session, session.begin():
            batch = [(await _new_report(session, 100 + n)).id for n in range(100)]
            await write_new_rows(session)
        assert batch == list(range(batch[0], batch[0] + 100))
        async with hub.sessions() as session, session.begin():
            after = (await _new_report(session, 999)).id
            await write_new_rows(session)
        assert after - batch[-1] <= 1 + 50
    finally:
        await close_hub(hub)
