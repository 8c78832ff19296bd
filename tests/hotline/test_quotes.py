"""A quote that opens a cell and never closes (walkthrough defect): the rows after it stay rows
of their own instead of vanishing into that cell, and Excel's multi-line quoted cells still
read as one cell."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.hotline.records import CallReader, CallRecord, ReaderOptions, Rejected
from channels.hotline.sources import encode_cp1258
from tests.hotline.test_import import run_cli, write_settings

NOW = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
HEADER = "Mã phiếu;Ngày giờ;SĐT;Ghi chú\n"
# The walkthrough's file: R2's note opens a quote that never closes.
WALKTHROUGH = (HEADER
               + 'R1;03/12/2026 11:00;0905333411;Quán "Bà Tư lấn chiếm vỉa hè\n'
               + 'R2;03/12/2026 11:05;0905333422;"Người dân báo: cống tắc\n'
               + "R3;03/12/2026 11:10;0905333433;Chó thả rông\n"
               + "R4;03/12/2026 11:15;0905333444;Đèn hỏng\n")


def read(path: Path) -> list[CallRecord | Rejected]:
    with CallReader(path, ReaderOptions(now=NOW)) as reader:
        return list(reader)


def calls(items: list[Any]) -> list[tuple[int, str, str, str, bool]]:
    """(row, id, caller, text, quote read as text) of each call, in file order."""
    out = []
    for item in items:
        assert isinstance(item, CallRecord), item
        payload = json.loads(item.payload)
        out.append((item.row, item.external_id, payload["caller"], payload["text"],
                    item.literal_quote))
    return out


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258"])
def test_an_unclosed_quote_swallows_no_rows(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "phieu.csv"
    path.write_bytes(WALKTHROUGH.encode() if encoding == "utf-8" else encode_cp1258(WALKTHROUGH))
    assert calls(read(path)) == [
        (2, "call:R1", "+84905333411", 'Quán "Bà Tư lấn chiếm vỉa hè', False),
        (3, "call:R2", "+84905333422", '"Người dân báo: cống tắc', True),
        (4, "call:R3", "+84905333433", "Chó thả rông", False),
        (5, "call:R4", "+84905333444", "Đèn hỏng", False),
    ]


def test_a_swallowed_row_with_a_quote_of_its_own_is_still_its_own_row(tmp_path: Path) -> None:
    """R3's quote would close R2's cell for csv, which then ends R2 after R3's line."""
    path = tmp_path / "phieu.csv"
    path.write_text(HEADER + 'R2;03/12/2026 11:05;0905333422;"Cống tắc\n'
                    + 'R3;03/12/2026 11:10;0905333433;Chó thả rông "nhà số 5"\n'
                    + "R4;03/12/2026 11:15;0905333444;Đèn hỏng\n", encoding="utf-8")
    assert [(row, eid, text) for row, eid, _, text, _ in calls(read(path))] == [
        (2, "call:R2", '"Cống tắc'), (3, "call:R3", 'Chó thả rông "nhà số 5"'),
        (4, "call:R4", "Đèn hỏng")]


def test_only_the_unclosed_quote_is_read_as_text(tmp_path: Path) -> None:
    """Cells quoted properly on the same row keep their reading (quotes removed, separators
    inside kept); a cell spanning lines in an earlier row stays one cell."""
    path = tmp_path / "phieu.csv"
    path.write_text(HEADER + 'R1;"03/12/2026 11:00";0905333411;"Đèn đường hỏng\ncả dãy; phố"\n'
                    + 'R2;"03/12/2026 11:05";"0905 333 422";"Cống tắc; nước tràn\n'
                    + "R3;03/12/2026 11:10;0905333433;Chó thả rông\n", encoding="utf-8")
    assert calls(read(path)) == [
        (2, "call:R1", "+84905333411", "Đèn đường hỏng\ncả dãy; phố", False),
        (3, "call:R2", "+84905333422", '"Cống tắc', True),
        (4, "call:R3", "+84905333433", "Chó thả rông", False),
    ]


def test_a_file_ending_inside_a_quote_loses_no_row(tmp_path: Path) -> None:
    """No swallowed line is a whole row (R3's time is unreadable), so only the end of the file
    shows the quote was never closed: R2 keeps its line, R3 is rejected by its row number and
    the last row's own unclosed quote is read as text."""
    path = tmp_path / "phieu.csv"
    path.write_text(HEADER + 'R2;03/12/2026 11:05;0905333422;"Cống tắc\n'
                    + "R3;hôm qua;0905333433;Chó thả rông\n"
                    + 'R4;03/12/2026 11:15;0905333444;"Đèn hỏng\n', encoding="utf-8")
    items = read(path)
    assert [(i.row, type(i).__name__) for i in items] == [
        (2, "CallRecord"), (3, "Rejected"), (4, "CallRecord")]
    assert items[1].reason.startswith("unreadable time 'hôm qua'")
    assert items[1].values["call_id"] == "R3" and items[1].values["text"] == "Chó thả rông"
    assert [(row, text, literal) for row, _, _, text, literal in calls([items[0], items[2]])] == [
        (2, '"Cống tắc', True), (4, '"Đèn hỏng', True)]


def test_excel_multi_line_cells_stay_one_cell(tmp_path: Path) -> None:
    """Lines inside a closed quoted cell may hold separators, quotes and even a date: unless a
    line is a whole row (the header's cell count and a call time where the header has it), the
    cell goes on."""
    path = tmp_path / "excel.csv"
    text = ('Đèn hỏng; gọi lại\nhẹn 04/12/2026 08:00; "gấp"\n'
            '03/12/2026 11:00;0905;x;y;z\n""cột"" điện nghiêng')
    escaped = text.replace('"', '""')
    path.write_text(HEADER + f'R1;03/12/2026 11:00;0905333411;"{escaped}"\n'
                    + "R2;03/12/2026 11:05;0905333422;Cống tắc\n", encoding="utf-8")
    assert calls(read(path)) == [
        (2, "call:R1", "+84905333411", text, False),
        (3, "call:R2", "+84905333422", "Cống tắc", False),
    ]


def test_cli_counts_every_call_and_names_the_row(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_settings(tmp_path)
    path = tmp_path / "phieu.csv"
    path.write_text(WALKTHROUGH, encoding="utf-8")
    assert run_cli("--config", str(cfg), str(path)) == 0
    out = capsys.readouterr().out
    assert "phieu.csv: 4 imported, 0 already imported, 0 rejected" in out
    assert ('  1 row with a quote (") never closed, read as text (the rows after it are rows '
            "of their own): row 3") in out
