"""The export reader beyond the fixtures' expectations (tests/test_channel_fixtures.py reads every
export in tests/fixtures/hotline and compares calls and rejected rows with its .expected.json):
call ids from hashes, files that cannot be read, damaged stored rows."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.hotline.records import (
    CallReader,
    CallRecord,
    ImportFormatError,
    ReaderOptions,
    Rejected,
    call_hash,
)

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


def xlsx_with_seconds(path: Path) -> Path:
    """An XLSX without a call-id column whose time cell holds seconds its format hides."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Ngày giờ", "SĐT", "Ghi chú"])
    ws.append([datetime(2026, 12, 3, 9, 50, 27), "0905121212", "Cuộc gọi có giây trong ô Excel"])
    ws["A2"].number_format = "dd/mm/yyyy hh:mm"
    wb.save(path)
    return path


def test_a_call_from_xlsx_and_from_its_csv_gets_one_id(tmp_path: Path) -> None:
    """Excel's Save as CSV writes the cell as its format shows it: without the seconds."""
    xlsx = xlsx_with_seconds(tmp_path / "goi.xlsx")
    csv_path = tmp_path / "goi.csv"
    csv_path.write_text("Ngày giờ;SĐT;Ghi chú\n03/12/2026 09:50;0905121212;"
                        "Cuộc gọi có giây trong ô Excel\n", encoding="utf-8")
    now = datetime(2026, 12, 4, tzinfo=UTC)
    with CallReader(xlsx, ReaderOptions(now=now)) as reader:
        [from_xlsx] = list(reader)
    with CallReader(csv_path, ReaderOptions(now=now)) as reader:
        [from_csv] = list(reader)
    assert from_xlsx.external_id == from_csv.external_id
    assert json.loads(from_xlsx.payload)["time"] == "2026-12-03T09:50:27+07:00"


def test_the_hash_counts_the_minute_excel_shows() -> None:
    """A serial number's float noise just under a minute is that minute; a second under the
    next minute is not the next minute (Excel shows 09:50 for 09:50:59)."""
    def at(*hms: int) -> str:
        return call_hash(datetime(2026, 12, 3, *hms, tzinfo=UTC), "+84905121212", "Rác")
    assert at(9, 49, 59, 999_600) == at(9, 50) == at(9, 50, 27) == at(9, 50, 59)
    assert at(9, 50) != at(9, 51)
    # a time without seconds keeps the id it was stored under before
    assert at(9, 50) == "hash:" + hashlib.sha256(
        b"2026-12-03T09:50:00+00:00|+84905121212|R\xc3\xa1c").hexdigest()[:32]


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
