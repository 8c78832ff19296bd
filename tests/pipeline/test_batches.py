"""The batched inbox worker keeps every guarantee: a poison event fails alone while its batch
commits; a citizen's messages split across two batches assemble into one report in arrival
order; a crash between batches loses nothing and duplicates nothing (the dead process's claims
are reclaimed and worked by the next one)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hub.app import close_hub, open_hub
from hub.workers import Workers
from store.models import InboxEvent, OutboxMessage, Report
from store.queue import claim
from tests.conftest import make_settings, wait_for
from tests.messenger.conftest import PAGE_ID, batch, message, messenger_section, now_ms

HUE = timezone(timedelta(hours=7))


def settings(tmp_path: Path, db_url: str, **workers: Any) -> Any:
    # The hotline with an SMS route, so a caller's acknowledgement is an outbox row queued in
    # the report's own transaction (without one it goes to the router's fallback chain).
    return make_settings(tmp_path, db_url, channels={
        "hotline": {"enabled": True, "sms_gateway_url": "http://127.0.0.1:9/sms"},
        "messenger": messenger_section("http://127.0.0.1:9")},
        workers={"inbox_max_attempts": 2, **workers})


def call(ext: str, text: str, phone: str = "+84935111222") -> dict[str, Any]:
    return {"id": ext, "time": datetime(2026, 11, 30, 9, 0, tzinfo=HUE).isoformat(),
            "caller": phone, "text": text, "address": "12 Lê Lợi, phường Thuận Hóa",
            "category": "Vệ sinh môi trường"}


async def chat(hub: Any, psid: str, mid: str, text: str) -> None:
    """One Messenger message through the channel's own split, stored by intake."""
    [raw] = hub.channels["messenger"].split(batch([message(psid, mid, text)]))
    await hub.intake.submit("messenger", raw.external_id, raw.payload)


async def states(hub: Any) -> dict[str, tuple[str, int | None]]:
    async with hub.sessions() as session:
        return {e: (s, r) for e, s, r in await session.execute(
            select(InboxEvent.external_id, InboxEvent.state, InboxEvent.report_id))}


async def acks(hub: Any, report_id: int) -> int:
    async with hub.sessions() as session:
        return (await session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.report_id == report_id, OutboxMessage.purpose == "citizen"))).scalar_one()


async def test_a_poison_event_fails_alone_and_its_batch_commits(db_url: str, tmp_path: Path) -> None:
    hub = await open_hub(settings(tmp_path, db_url, retry_base_seconds=0.05))
    try:
        await hub.intake.submit_many("hotline", [
            ("HL-1", call("HL-1", "Rác thải tồn đọng ở kiệt 12 Lê Lợi")),
            ("HL-2", "{not json"),  # stored as sent: no parser can read it
            ("HL-3", call("HL-3", "Đèn đường hỏng trước số 5 Lê Lợi", phone="+84935333444"))])
        workers = Workers(hub)
        assert await workers.run_inbox_once() == 3  # one claimed batch of three
        seen = await states(hub)
        assert seen["HL-1"][0] == seen["HL-3"][0] == "done"
        assert seen["HL-2"] == ("pending", None)
        for ext in ("HL-1", "HL-3"):  # each its report, its acknowledgement queued with it
            assert await acks(hub, seen[ext][1]) == 1
        async with hub.sessions() as session:
            poison = (await session.execute(select(InboxEvent).where(
                InboxEvent.external_id == "HL-2"))).scalar_one()
            assert poison.attempts == 1 and "JSONDecodeError" in poison.error
            assert (await session.execute(select(func.count()).select_from(Report))).scalar_one() == 2

        async def parked() -> bool:
            await workers.run_inbox_once()
            return (await states(hub))["HL-2"][0] == "parked"
        await wait_for(parked)  # the second attempt parks it (inbox_max_attempts = 2)
        async with hub.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(Report))).scalar_one() == 2
    finally:
        await close_hub(hub)


async def test_a_citizens_messages_split_across_two_batches_assemble_in_order(
        db_url: str, tmp_path: Path) -> None:
    hub = await open_hub(settings(tmp_path, db_url, inbox_batch=2))
    try:
        await chat(hub, "psid-an", "m.1", "Rác thải tràn ra đường, bốc mùi")
        await chat(hub, "psid-binh", "m.2", "Cây đổ chắn ngang đường Lê Duẩn")
        await chat(hub, "psid-an", "m.3", "Đã ba ngày chưa ai dọn")  # second batch
        await chat(hub, "psid-an", "m.4", "Xin xử lý sớm giúp")
        workers = Workers(hub)
        passes = []
        while n := await workers.run_inbox_once():
            passes.append(n)
        assert passes == [2, 2]
        async with hub.sessions() as session:
            reports = {r.external_ids[0]: r for r in (await session.execute(select(Report))).scalars()}
        assert sorted(reports) == ["m.1", "m.2"]
        assert reports["m.1"].external_ids == ["m.1", "m.3", "m.4"]  # arrival order
        assert reports["m.2"].external_ids == ["m.2"]
        description = reports["m.1"].description
        assert description.index("Rác thải") < description.index("ba ngày") < description.index("sớm")
        assert {s for s, _ in (await states(hub)).values()} == {"done"}
    finally:
        await close_hub(hub)


async def test_an_edit_in_the_same_transaction_as_its_message_changes_the_report(
        db_url: str, tmp_path: Path) -> None:
    """The worker writes its inbox rows' outcome with one statement per transaction
    (hub.workers._MARK_APPLIED); a statement of that transaction that reads the inbox — the
    edit looking up the report of the message it edits — still sees the outcome of the events
    applied before it (a typo fixed seconds later, while the worker is behind)."""
    hub = await open_hub(settings(tmp_path, db_url))
    try:
        await chat(hub, "psid-e", "m.e1", "Cột đèn số 12 đường Lê Lợi bị đổ")
        edited = {"sender": {"id": "psid-e"}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
                  "message_edit": {"mid": "m.e1", "text": "Cột đèn số 14 đường Lê Lợi bị đổ",
                                   "num_edit": 1}}
        [raw] = hub.channels["messenger"].split(batch([edited]))
        await hub.intake.submit("messenger", raw.external_id, raw.payload)
        assert await Workers(hub).run_inbox_once() == 2  # one batch, one transaction
        async with hub.sessions() as session:
            [report] = (await session.execute(select(Report))).scalars()
        assert report.description == "Cột đèn số 14 đường Lê Lợi bị đổ"
        assert sorted(await states(hub)) == sorted(["m.e1", raw.external_id])
        assert set((await states(hub)).values()) == {("done", report.id)}
    finally:
        await close_hub(hub)


async def test_a_crash_between_batches_loses_and_duplicates_nothing(sqlite_url: str, tmp_path: Path) -> None:
    first = await open_hub(settings(tmp_path, sqlite_url, inbox_batch=2))
    await chat(first, "psid-chi", "c.1", "Ổ gà lớn giữa đường Hùng Vương")
    await chat(first, "psid-chi", "c.2", "Gần ngã tư Bà Triệu")
    await chat(first, "psid-chi", "c.3", "Xe máy đã ngã hai lần")
    await first.intake.submit("hotline", "HL-9", call("HL-9", "Nước thải chảy tràn ra kiệt 3"))
    try:
        assert await Workers(first).run_inbox_once() == 2  # batch 1 committed
        # batch 2 claimed, then the process dies before working it
        held = await claim(first.engine, InboxEvent, worker_id=first.worker_id, limit=2,
                           lease_seconds=3600, ready_states=("pending",), claimed_state="claimed")
        assert len(held) == 2
    finally:
        await close_hub(first)
    second = await open_hub(settings(tmp_path, sqlite_url, inbox_batch=2))
    workers = Workers(second)
    workers.start()  # on SQLite the earlier process's claims lapse at once
    try:
        async def settled() -> bool:
            return {s for s, _ in (await states(second)).values()} == {"done"}
        await wait_for(settled)
        async with second.sessions() as session:
            reports = list((await session.execute(select(Report).order_by(Report.id))).scalars())
        assert [r.external_ids for r in reports] == [["c.1", "c.2", "c.3"], ["HL-9"]]
        for report in reports:
            assert await acks(second, report.id) >= 1
        async with second.sessions() as session:
            hotline_acks = (await session.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.report_id == reports[1].id, OutboxMessage.purpose == "citizen"))).scalar_one()
        assert hotline_acks == 1
    finally:
        await workers.stop()
        await close_hub(second)


async def test_a_batch_is_written_with_one_statement_per_table(db_url: str, tmp_path: Path) -> None:
    """Set-based: however many events a transaction applies, its new reports, report events and
    outbox rows go in with one INSERT (executemany) per table, with ids handed out beforehand —
    and every report still has its own code, events and acknowledgement."""
    from sqlalchemy import event

    hub = await open_hub(settings(tmp_path, db_url, inbox_batch=200,
                                  inbox_transaction_budget_ms=60_000,
                                  inbox_idle_transaction_budget_ms=60_000))
    n = 60
    inserts: dict[str, int] = {}
    commits = 0

    def count(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            inserts[words[2]] = inserts.get(words[2], 0) + 1

    def committed(conn) -> None:  # noqa: ANN001
        nonlocal commits
        commits += 1
    try:
        await hub.intake.submit_many("hotline", [
            (f"HL-{i}", call(f"HL-{i}", f"Rác thải tồn đọng ở kiệt {i} Lê Lợi",
                             phone=f"+849351{i:05d}")) for i in range(n)])
        event.listen(hub.engine.sync_engine, "before_cursor_execute", count)
        event.listen(hub.engine.sync_engine, "commit", committed)
        workers = Workers(hub)
        assert await workers.run_inbox_once() == n
        event.remove(hub.engine.sync_engine, "before_cursor_execute", count)
        event.remove(hub.engine.sync_engine, "commit", committed)
        # the claim's commit, then the batch's: one transaction applied all 60 events
        assert commits == 2
        assert inserts["reports"] == inserts["report_events"] == inserts["outbox"] == 1
        assert inserts["contacts"] == 1
        async with hub.sessions() as session:
            reports = list((await session.execute(select(Report).order_by(Report.id))).scalars())
            assert len(reports) == n
            assert len({r.code for r in reports}) == n and all(
                r.code == f"PA-2026-{r.id:06d}" for r in reports)
            done = (await session.execute(select(func.count()).select_from(InboxEvent).where(
                InboxEvent.state == "done", InboxEvent.report_id.is_not(None)))).scalar_one()
            assert done == n
        for report in reports[:3] + reports[-3:]:
            assert await acks(hub, report.id) == 1
    finally:
        await close_hub(hub)


async def test_a_webhook_does_not_wait_for_a_long_worker_transaction(sqlite_url: str,
                                                                     tmp_path: Path) -> None:
    """SQLite has one writer. A quiet worker's transactions are long (fewer commits), but it lets
    webhooks in meanwhile, and one waiting to be stored ends the transaction at once: the
    webhook is acknowledged while the worker's batch is still being applied."""
    import asyncio

    from sqlalchemy import event

    hub = await open_hub(settings(tmp_path, sqlite_url, inbox_batch=500, analysis_processes=0,
                                  inbox_transaction_budget_ms=60_000,
                                  inbox_idle_transaction_budget_ms=60_000))
    n = 400
    try:
        await hub.intake.submit_many("hotline", [
            (f"HL-{i}", call(f"HL-{i}", f"Rác thải tồn đọng ở kiệt {i} Lê Lợi",
                             phone=f"+849351{i:05d}")) for i in range(n)])
        locked = asyncio.Event()

        def seen(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
            if statement.startswith("UPDATE reports SET id = id WHERE 0"):  # store.ids: the lock
                locked.set()
        event.listen(hub.engine.sync_engine, "before_cursor_execute", seen)
        workers = Workers(hub)
        batch = asyncio.create_task(workers.run_inbox_once())
        await asyncio.wait_for(locked.wait(), 30)  # the worker's transaction holds the lock
        result = await hub.intake.submit("hotline", "LATE", call("LATE", "Đèn đường hỏng ở kiệt 5"))
        assert result.stored
        assert not batch.done(), "the webhook waited for the whole batch"
        assert await batch == n
        assert await workers.run_inbox_once() == 1  # the late one, in its turn
        found = await states(hub)
        assert all(state == "done" for state, _ in found.values()) and len(found) == n + 1
    finally:
        await close_hub(hub)

