"""The export reader beyond the fixtures' expectations (tests/test_channel_fixtures.py reads every
export in tests/fixtures/hotline and compares calls and rejected rows with its .expected.json):
call ids from hashes, files that cannot be read, damaged stored rows."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.hotline.records import CallReader, CallRecord, ImportFormatError, ReaderOptions, Rejected

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hotline"
NOW = datetime(2026, 11, 6, 0, 0, tzinfo=UTC)


def read(path: Path, **options: Any) -> tuple[list[CallRecord], list[Rejected]]:
    with CallReader(path, ReaderOptions(now=NOW, **options)) as reader:
        items = list(reader)
    return ([i for i in items if isinstance(i, CallRecord)], [i for i in items if isinstance(i, Rejected)])


def test_calls_without_id_hash_time_caller_and_text() -> None:
    records, _ = read(FIXTURES / "calls__no_call_id.csv")
    ids = [r.external_id for r in records]
    assert all(i.startswith("hash:") for i in ids)
    # Rows 2 and 3 are the same call (other phone notation, doubled space); row 4 is 3 minutes later.
    assert ids[0] == ids[1] != ids[2]


def test_the_same_call_hashes_alike_in_any_format(tmp_path: Path) -> None:
    jsonl = tmp_path / "same.jsonl"
    jsonl.write_text(json.dumps({"time": "2026-11-05T07:02:00Z", "caller": "+84 905 123 456",
                                 "transcript": "Rác thải ùn ứ"}) + "\n", encoding="utf-8")
    csv_records, _ = read(FIXTURES / "calls__no_call_id.csv")
    json_records, _ = read(jsonl)
    assert json_records[0].external_id == csv_records[0].external_id


def test_custom_columns_need_the_column_map() -> None:
    with pytest.raises(ImportFormatError, match="no header row"):
        read(FIXTURES / "calls__custom_columns.csv")


def test_xlsx_first_sheet_is_the_default() -> None:
    with pytest.raises(ImportFormatError, match="no header row"):
        read(FIXTURES / "calls__xlsx_second_sheet.xlsx")


def test_xlsx_unknown_sheet_names_the_sheets() -> None:
    with pytest.raises(ImportFormatError, match="Tổng hợp, Cuộc gọi"):
        read(FIXTURES / "calls__xlsx_second_sheet.xlsx", sheet="Calls")


def test_a_broken_xlsx_is_a_file_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ImportFormatError, match="not a readable XLSX"):
        read(bad)


def test_missing_time_column_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "notime.csv"
    path.write_text("Số điện thoại,Nội dung\n0905123456,Rác\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="no call time column"):
        read(path)


def test_a_damaged_stored_row_is_ignored_not_retried() -> None:
    from channels.hotline.adapter import HotlineChannel

    [msg] = HotlineChannel.parse(None, {"id": "call:1", "time": "yesterday"})  # type: ignore[arg-type]
    assert msg.kind == "ignore" and msg.meta["reason"] == "malformed stored call"
