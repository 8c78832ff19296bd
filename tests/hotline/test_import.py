"""Import into the real inbox (SQLite and PostgreSQL): counts, idempotency, rejects file, CLI."""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from channels.hotline.cli import ProgressBar
from channels.hotline.importer import ImportSummary, RejectsWriter, import_file
from channels.hotline.records import ReaderOptions
from store.db import make_engine, migrate
from store.intake import Intake
from store.models import InboxEvent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hotline"
NOW = datetime(2026, 11, 6, 0, 0, tzinfo=UTC)


@pytest.fixture
async def intake(db_url: str) -> AsyncIterator[Intake]:
    engine = make_engine(db_url)
    await migrate(engine)
    intake = Intake(engine, batch_max=512)
    await intake.start()
    yield intake
    await intake.close()
    await engine.dispose()


async def inbox_ids(intake: Intake) -> list[str]:
    async with intake._engine.connect() as conn:
        return sorted(r[0] for r in await conn.execute(
            select(InboxEvent.external_id).where(InboxEvent.channel == "hotline")))


async def test_import_counts_and_reimport_adds_nothing(intake: Intake, tmp_path: Path) -> None:
    path = FIXTURES / "calls__utf8_bom_semicolon.csv"
    first = await import_file(intake.submit_many, path, ReaderOptions(now=NOW), batch_size=2)
    assert (first.imported, first.duplicates, first.rejected, first.error) == (3, 0, 0, None)
    assert await inbox_ids(intake) == ["call:HL-01", "call:HL-02", "call:HL-03"]
    again = await import_file(intake.submit_many, path, ReaderOptions(now=NOW), batch_size=2)
    assert (again.imported, again.duplicates, again.rejected) == (0, 3, 0)
    assert len(await inbox_ids(intake)) == 3


async def test_same_call_twice_in_one_file(intake: Intake) -> None:
    summary = await import_file(intake.submit_many, FIXTURES / "calls__no_call_id.csv",
                                ReaderOptions(now=NOW))
    assert (summary.imported, summary.duplicates) == (2, 1)


async def test_bad_rows_are_reported_and_good_rows_go_in(intake: Intake, tmp_path: Path) -> None:
    rejects = RejectsWriter(tmp_path / "rejects.csv")
    summary = await import_file(intake.submit_many, FIXTURES / "calls__bad_rows.csv",
                                ReaderOptions(now=NOW), rejects=rejects, batch_size=3)
    rejects.close()
    # Rows 5 and 8 carry numbers that cannot exist: kept (the complaint is not lost), flagged.
    assert (summary.imported, summary.rejected) == (3, 5)
    assert [row for row, _ in summary.samples] == [2, 3, 4, 6, 7]
    assert summary.unverified_rows == [5, 8]
    assert await inbox_ids(intake) == ["call:B-4", "call:B-7", "call:B-8"]
    with open(tmp_path / "rejects.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["row"], r["call_id"]) for r in rows] == [(str(n), f"B-{n - 1}") for n in (2, 3, 4, 6, 7)]
    assert rows[2]["reason"].startswith("unreadable time 'hôm qua'") and rows[2]["time"] == "hôm qua"
    assert "  2 calls kept with a caller number to check (no reply is sent to it): rows 5, 8" in summary.lines()


async def test_file_errors_do_not_raise(intake: Intake, tmp_path: Path) -> None:
    missing = await import_file(intake.submit_many, tmp_path / "nope.csv", ReaderOptions())
    assert missing.error == "file not found"
    noheader = tmp_path / "x.csv"
    noheader.write_text("a,b\n1,2\n", encoding="utf-8")
    summary = await import_file(intake.submit_many, noheader, ReaderOptions())
    assert summary.error.startswith("no header row") and summary.imported == 0


async def test_storage_failure_is_transient(tmp_path: Path, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    await migrate(engine)
    intake = Intake(engine)  # never started: the store refuses every batch
    summary = await import_file(intake.submit_many, FIXTURES / "calls__utf8_comma.csv",
                                ReaderOptions(now=NOW))
    await engine.dispose()
    assert summary.transient and summary.error.startswith("storage failed") and summary.imported == 0


def test_progress_bar_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    summary = ImportSummary(file="x", rows=500)
    plain, tty = io.StringIO(), Tty()
    ProgressBar(plain, "calls.csv").update(summary, 1.0)
    ProgressBar(tty, "calls.csv").update(summary, 1.0)
    assert plain.getvalue() == ""
    assert "100.0%" in tty.getvalue() and "500 rows" in tty.getvalue()


def write_settings(tmp_path: Path, enabled: bool = True) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(f'log_format = "text"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n'
                    f"[channels.hotline]\nenabled = {str(enabled).lower()}\n", encoding="utf-8")
    return path


def run_cli(*args: str) -> int:
    from main import main

    return main(["import-hotline", *args])


def test_cli_summary_and_reimport(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_settings(tmp_path)
    files = [str(FIXTURES / "calls__xlsx_dates.xlsx"), str(FIXTURES / "calls__jsonl.jsonl")]
    rejects = tmp_path / "rejects.csv"
    assert run_cli("--config", str(cfg), "--rejects", str(rejects), *files) == 0
    out = capsys.readouterr().out
    assert "calls__xlsx_dates.xlsx: 2 imported, 0 already imported, 1 rejected" in out
    assert "  row 5: no text" in out
    assert "calls__jsonl.jsonl: 4 imported, 0 already imported, 1 rejected" in out
    assert "total: 6 imported, 0 already imported, 2 rejected, 0 files failed" in out
    with open(rejects, encoding="utf-8-sig") as fh:
        assert [r["file"] for r in csv.DictReader(fh)] == [
            "calls__xlsx_dates.xlsx", "calls__jsonl.jsonl"]
    assert run_cli("--config", str(cfg), "--rejects", str(rejects), *files) == 0
    assert "total: 0 imported, 6 already imported, 2 rejected" in capsys.readouterr().out


def test_cli_sheet_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_settings(tmp_path)
    path = str(FIXTURES / "calls__xlsx_second_sheet.xlsx")
    assert run_cli("--config", str(cfg), path) == 1
    assert "FAILED: no header row" in capsys.readouterr().out
    assert run_cli("--config", str(cfg), "--sheet", "Cuộc gọi", path) == 0
    assert "2 imported" in capsys.readouterr().out


def test_cli_default_rejects_file_beside_the_input(tmp_path: Path) -> None:
    cfg = write_settings(tmp_path)
    src = tmp_path / "calls.csv"
    src.write_bytes((FIXTURES / "calls__bad_rows.csv").read_bytes())
    assert run_cli("--config", str(cfg), str(src)) == 0
    assert (tmp_path / "calls.csv.rejects.csv").exists()


def test_cli_refuses_when_the_channel_is_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_settings(tmp_path, enabled=False)
    assert run_cli("--config", str(cfg), str(FIXTURES / "calls__utf8_comma.csv")) == 2
    assert "channels.hotline.enabled is false" in capsys.readouterr().err
    assert not (tmp_path / "hub.db").exists()


async def test_many_rows_stream_in_batches(intake: Intake, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("call id,time,caller,notes\n")
        for i in range(5000):
            fh.write(f"M{i},05/11/2026 {i // 60 % 24:02d}:{i % 60:02d},0905{i % 1000:06d},Rác {i}\n")
    seen: list[float] = []
    summary = await import_file(intake.submit_many, path, ReaderOptions(now=NOW), batch_size=700,
                                progress=lambda s, f: seen.append(f))
    assert (summary.imported, summary.rejected, summary.rows) == (5000, 0, 5000)
    assert len(seen) == 9 and seen[-1] == 1.0
    async with intake._engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(InboxEvent))).scalar() == 5000


def old_hash_id(when_utc: str, caller: str, text: str) -> str:
    """The id a call without a call id was stored under before hashes dropped the seconds."""
    return "hash:" + hashlib.sha256(f"{when_utc}|{caller}|{text}".encode()).hexdigest()[:32]


SECONDS_CALL_OLD_ID = old_hash_id("2026-12-03T02:50:27+00:00", "+84905121212",
                                  "Cuộc gọi có giây trong ô Excel")


async def test_a_call_stored_under_its_old_hash_is_already_imported(intake: Intake,
                                                                    tmp_path: Path) -> None:
    """Stored before the seconds left the hash: importing its XLSX again adds no second call."""
    from channels.hotline.importer import stored_ids
    from store.db import sessionmaker
    from tests.hotline.test_fixtures import xlsx_with_seconds

    await intake.submit_many("hotline", [(SECONDS_CALL_OLD_ID, "{}")])
    xlsx = xlsx_with_seconds(tmp_path / "goi.xlsx")
    opts = ReaderOptions(now=datetime(2026, 12, 4, tzinfo=UTC))
    summary = await import_file(intake.submit_many, xlsx, opts,
                                known=stored_ids(sessionmaker(intake._engine)))
    assert (summary.imported, summary.duplicates, summary.error) == (0, 1, None)
    assert await inbox_ids(intake) == [SECONDS_CALL_OLD_ID]


def test_cli_xlsx_then_its_csv_make_one_call_and_old_imports_are_known(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from tests.hotline.test_fixtures import xlsx_with_seconds

    cfg = write_settings(tmp_path)
    xlsx = xlsx_with_seconds(tmp_path / "goi.xlsx")
    exported = tmp_path / "goi.csv"
    exported.write_text("Ngày giờ;SĐT;Ghi chú\n03/12/2026 09:50;0905121212;"
                        "Cuộc gọi có giây trong ô Excel\n", encoding="utf-8")
    assert run_cli("--config", str(cfg), str(xlsx)) == 0
    assert run_cli("--config", str(cfg), str(exported)) == 0
    out = capsys.readouterr().out
    assert "goi.xlsx: 1 imported" in out and "goi.csv: 0 imported, 1 already imported" in out

    # A database where the XLSX went in under the old id (time with seconds): importing the
    # file again adds nothing. (Its CSV, without the seconds, cannot name that old id.)
    old = tmp_path / "old"
    old.mkdir()
    cfg = write_settings(old)

    async def store_old() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{old}/hub.db")
        await migrate(engine)
        intake = Intake(engine)
        await intake.start()
        await intake.submit_many("hotline", [(SECONDS_CALL_OLD_ID, "{}")])
        await intake.close()
        await engine.dispose()
    asyncio.run(store_old())
    assert run_cli("--config", str(cfg), str(xlsx)) == 0
    assert "goi.xlsx: 0 imported, 1 already imported" in capsys.readouterr().out
