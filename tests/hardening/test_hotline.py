"""Probes 5, 6 and 10 on the hotline import: a UTF-8 file with one Windows-1258 row reads every
row right (and lists it), while a UTF-8 row with a damaged character is rejected by number; a JSONL line nested deep is a rejected row, not a storage failure; a 10 MB line is a
rejected row with its number; formulas never reach the rejects CSV live; a drop file that keeps
failing moves to rejected/ and stops blocking the folder."""
from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from channels.hotline.importer import DROP_MAX_ATTEMPTS, DropFolder, RejectsWriter, import_file
from channels.hotline.records import ReaderOptions
from channels.hotline.sources import MAX_LINE_BYTES, encode_cp1258
from store.db import make_engine, migrate
from store.intake import Intake
from store.models import InboxEvent

NOW = datetime(2026, 11, 6, 0, 0, tzinfo=UTC)
HEADER = "Call ID,Call time,Caller,Agent,Transcript,Address\n"


@pytest.fixture
async def intake(db_url: str) -> AsyncIterator[Intake]:
    engine = make_engine(db_url)
    await migrate(engine)
    intake = Intake(engine)
    await intake.start()
    yield intake
    await intake.close()
    await engine.dispose()


async def stored_texts(intake: Intake) -> dict[str, str]:
    async with intake._engine.connect() as conn:
        rows = await conn.execute(select(InboxEvent.external_id, InboxEvent.payload))
        return {eid: json.loads(payload)["text"] for eid, payload in rows}


async def test_utf8_file_with_one_windows_1258_row_reads_every_row_right(intake, tmp_path):
    rows = [f"CC-{i},05/11/2026 1{i}:00,0905123456,Lan,Rác thải ùn ứ ở đường Trần Phú số {i},"
            f"{i} Trần Phú\n" for i in range(1, 6)]
    cp_row = "CC-9,05/11/2026 19:00,0905123456,Hùng,Đèn đường hỏng ở phường Thuận Hóa,Huế\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(HEADER.encode() + "".join(rows[:2]).encode() + encode_cp1258(cp_row)
                     + "".join(rows[2:]).encode())
    summary = await import_file(intake.submit_many, path, ReaderOptions(now=NOW))
    assert (summary.imported, summary.rejected, summary.error) == (6, 0, None)
    texts = await stored_texts(intake)
    assert texts["call:CC-1"] == "Rác thải ùn ứ ở đường Trần Phú số 1"
    assert texts["call:CC-5"] == "Rác thải ùn ứ ở đường Trần Phú số 5"
    assert texts["call:CC-9"] == "Đèn đường hỏng ở phường Thuận Hóa"
    assert summary.cp1258_rows == [4]
    assert "  1 row not in UTF-8, read as Windows-1258 (check the accents): row 4" in summary.lines()


async def test_a_damaged_utf8_row_is_rejected_by_number_not_imported_as_mojibake(intake, tmp_path):
    """One UTF-8 row with a cut character (a byte of 'ứ' lost) is not a Windows-1258 row: read
    as one it would be stored as 'Ä\x90Ã¨n …'. It is rejected with its row number; the good
    rows, a real Windows-1258 row and a quoted cell spanning lines all go in."""
    good = [f"CC-{i},05/11/2026 1{i}:00,0905123456,Lan,Rác thải ùn ứ ở đường Trần Phú số {i},"
            f"{i} Trần Phú\n".encode() for i in range(1, 4)]
    damaged = "CC-7,05/11/2026 17:00,0905123456,Lan,Nước ngập sâu ở kiệt 5 Đào Duy Từ,Huế\n".encode()
    cut = damaged.index("ậ".encode())
    damaged = damaged[:cut] + damaged[cut + 1:]  # one byte of a three-byte character lost
    multi = '"CC-8",05/11/2026 18:00,0905123456,Lan,"Cây đổ\nchắn đường Lê Lợi",Huế\n'.encode()
    # Windows-1258 spells "ã" as "a" + a tilde mark (0xDE), and 0xDE 0x85 ("…") happens to be
    # valid UTF-8 (U+0785, Thaana): not a Vietnamese letter, so still a Windows-1258 row
    cp_row = encode_cp1258("CC-9,05/11/2026 19:00,0905123456,Hùng,Đèn đường đã… hỏng ở Vỹ Dạ,Huế\n")
    assert "\u0785" in cp_row.decode("utf-8", errors="replace")
    path = tmp_path / "damaged.csv"
    path.write_bytes(HEADER.encode() + good[0] + damaged + good[1] + multi + cp_row + good[2])
    rejects = RejectsWriter(tmp_path / "rejects.csv")
    summary = await import_file(intake.submit_many, path, ReaderOptions(now=NOW), rejects=rejects)
    rejects.close()
    assert (summary.imported, summary.rejected, summary.error) == (5, 1, None)
    [(row, reason)] = summary.samples
    assert row == 3 and reason.startswith(f"not valid UTF-8: a damaged character at byte {cut}")
    assert summary.cp1258_rows == [6]
    texts = await stored_texts(intake)
    assert "call:CC-7" not in texts
    assert texts["call:CC-8"] == "Cây đổ\nchắn đường Lê Lợi"
    assert texts["call:CC-9"] == "Đèn đường đã… hỏng ở Vỹ Dạ"
    assert all("Ã" not in t and "\ufffd" not in t for t in texts.values())
    with open(tmp_path / "rejects.csv", encoding="utf-8-sig", newline="") as fh:
        [_, rejected] = list(csv.reader(fh))
    assert rejected[1] == "3" and "\ufffd" in " ".join(rejected) and "Đào Duy Từ" in " ".join(rejected)


async def test_deep_jsonl_line_is_a_rejected_row(intake, tmp_path):
    good = {"call_id": "J-1", "time": "2026-11-05T14:02:00+07:00", "caller": "0905123456",
            "transcript": "Rác thải ùn ứ ở kiệt 12 Trần Phú"}
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n" + json.dumps(good).encode() + b"\n")
    summary = await import_file(intake.submit_many, path, ReaderOptions(now=NOW))
    assert summary.error is None and not summary.transient
    assert (summary.imported, summary.rejected) == (1, 1)
    assert summary.samples[0][0] == 1 and "nested deeper" in summary.samples[0][1]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
async def test_a_10_mb_line_is_rejected_with_its_row_number(intake, tmp_path, suffix):
    path = tmp_path / f"big.{suffix}"
    if suffix == "csv":
        body = (HEADER + "CC-1,05/11/2026 10:00,0905123456,Lan,Rác ở chợ,Chợ\n"
                + "CC-2,05/11/2026 11:00,0905123456,Lan," + "x" * 10_000_000 + ",Huế\n"
                + "CC-3,05/11/2026 12:00,0905123456,Lan,Đèn hỏng,Huế\n")
        big_row = 3
    else:
        line = {"call_id": "J", "time": "2026-11-05T14:02:00+07:00", "transcript": "Rác ở chợ"}
        body = (json.dumps({**line, "call_id": "J-1"}) + "\n"
                + json.dumps({**line, "call_id": "J-2", "transcript": "x" * 10_000_000}) + "\n"
                + json.dumps({**line, "call_id": "J-3"}) + "\n")
        big_row = 2
    path.write_text(body, encoding="utf-8")
    summary = await import_file(intake.submit_many, path, ReaderOptions(now=NOW))
    assert summary.error is None
    assert (summary.imported, summary.rejected) == (2, 1)
    [(row, reason)] = summary.samples
    assert row == big_row and reason.startswith("line of 100000")
    assert reason.endswith(f"exceeds the limit of {MAX_LINE_BYTES} bytes")


async def test_formulas_in_rejected_rows_are_written_inert(intake, tmp_path):
    path = tmp_path / "evil.csv"
    path.write_text(HEADER + "=cmd|' /C calc'!A0,yesterday,+84905123456,@SUM(A1),"
                    "=HYPERLINK(\"http://x\"),-2+3\n", encoding="utf-8")
    rejects = RejectsWriter(tmp_path / "rejects.csv")
    summary = await import_file(intake.submit_many, path, ReaderOptions(now=NOW), rejects=rejects)
    rejects.close()
    assert summary.rejected == 1
    with open(tmp_path / "rejects.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [c for row in rows[1:] for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'=HYPERLINK(\"http://x\")" in cells
    assert "'@SUM(A1)" in cells and "'-2+3" in cells
    assert not any(c[:1] in ("=", "+", "-", "@") for c in cells)


async def test_a_drop_file_that_keeps_failing_moves_to_rejected(settings_factory, tmp_path):
    from hub.app import close_hub, open_hub

    drop = tmp_path / "drop"
    hub = await open_hub(settings_factory(workers={"enabled": False}, channels={"hotline": {
        "enabled": True, "drop_dir": str(drop), "drop_settle_seconds": 0}}))
    try:
        folder = DropFolder(hub, hub.settings.channels.hotline)
        folder.prepare()
        (drop / "a.csv").write_text(HEADER + "CC-1,05/11/2026 10:00,0905123456,Lan,Rác,Chợ\n",
                                    encoding="utf-8")
        old = time.time() - 60
        os.utime(drop / "a.csv", (old, old))
        await hub.intake.close()  # the store refuses every write: a passing failure each scan
        for _ in range(DROP_MAX_ATTEMPTS - 1):
            assert await folder.scan() == [] and (drop / "a.csv").exists()
        [summary] = await folder.scan()
        assert summary.transient and not (drop / "a.csv").exists()
        moved = sorted(p.name.split("-", 1)[1] for p in (drop / "rejected").iterdir())
        assert moved == ["a.csv", "a.csv.report.txt"]
        report = next((drop / "rejected").glob("*.report.txt")).read_text(encoding="utf-8")
        assert f"after {DROP_MAX_ATTEMPTS} attempts" in report and "storage failed" in report
    finally:
        await close_hub(hub)


async def test_damage_on_another_line_of_a_quoted_cell_is_still_damage(intake, tmp_path):
    """Review: a quoted transcript whose first line is UTF-8 Vietnamese and whose second line
    lost a byte ('Huế' cut to 'Hu\\xe1\\xba') has no UTF-8 letter on the bad line, so the line
    alone looks like Windows-1258; the record as a whole is UTF-8 with a damaged character.
    And a real Windows-1258 row with 'Ă' before '…' (0xC3 0x85, valid UTF-8 'Å') is still read."""
    damaged = ('CC-1,05/11/2026 10:00,0905123456,Lan,"Đèn đường hỏng\no Hu'.encode()
               + b"\xe1\xba" + b'",Hu\xe1\xba\xbf\n')
    cp_row = encode_cp1258("CC-2,05/11/2026 11:00,0905123456,Lan,Bảng hiệu quán CĂ… đổ,Huế\n")
    assert "Å" in cp_row.decode("utf-8", errors="replace")
    good = "CC-3,05/11/2026 12:00,0905123456,Lan,Rác ở chợ Đông Ba,Huế\n".encode()
    path = tmp_path / "multi.csv"
    path.write_bytes(HEADER.encode() + damaged + cp_row + good)
    summary = await import_file(intake.submit_many, path, ReaderOptions(now=NOW))
    assert (summary.imported, summary.rejected) == (2, 1), summary.lines()
    [(row, reason)] = summary.samples
    assert row == 2 and reason.startswith("not valid UTF-8: a damaged character")
    assert summary.cp1258_rows == [3]
    texts = await stored_texts(intake)
    assert texts["call:CC-2"] == "Bảng hiệu quán CĂ… đổ" and texts["call:CC-3"] == "Rác ở chợ Đông Ba"
