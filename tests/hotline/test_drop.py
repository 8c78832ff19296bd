"""The drop folder: files put there are imported by serve's leader and moved to done/ or failed/
with a report."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from channels.hotline.importer import DropFolder
from hub.keys import HUB_KEY
from store.models import InboxEvent
from tests.conftest import wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hotline"


def drop_settings(settings_factory: Any, drop: Path, **extra: Any) -> Any:
    return settings_factory(
        workers={"enabled": False},
        channels={"hotline": {"enabled": True, "drop_dir": str(drop), "drop_poll_seconds": 0.1,
                              "drop_settle_seconds": 0, **extra}})


async def test_serve_imports_dropped_files(settings_factory: Any, hub_client: Any, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(FIXTURES / "calls__bad_rows.csv", drop / "ngay-05.csv")
    (drop / "garbage.csv").write_text("hello,world\n1,2\n", encoding="utf-8")
    (drop / ".hidden.csv").write_bytes((FIXTURES / "calls__utf8_comma.csv").read_bytes())
    (drop / "copying.csv.part").write_bytes((FIXTURES / "calls__utf8_comma.csv").read_bytes())
    client = await hub_client(drop_settings(settings_factory, drop))
    hub = client.app[HUB_KEY]

    async def moved() -> bool:
        return not (drop / "ngay-05.csv").exists() and not (drop / "garbage.csv").exists()
    await wait_for(moved, timeout=10)
    done = sorted(p.name for p in (drop / "done").iterdir())
    failed = sorted(p.name for p in (drop / "failed").iterdir())
    assert [n.split("-", 1)[1] for n in done] == [
        "ngay-05.csv", "ngay-05.csv.rejects.csv", "ngay-05.csv.report.txt"]
    assert [n.split("-", 1)[1] for n in failed] == ["garbage.csv", "garbage.csv.report.txt"]
    report = next((drop / "done").glob("*.report.txt")).read_text(encoding="utf-8")
    assert "3 imported, 0 already imported, 5 rejected" in report and "row 4: unreadable time" in report
    assert "2 calls kept with a caller number to check (no reply is sent to it): rows 5, 8" in report
    assert "no header row" in next((drop / "failed").glob("*.report.txt")).read_text(encoding="utf-8")
    assert (drop / ".hidden.csv").exists() and (drop / "copying.csv.part").exists()
    async with hub.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar() == 3

    # The same export dropped again (another name): nothing new, still moved to done/.
    shutil.copy(FIXTURES / "calls__bad_rows.csv", drop / "ngay-05-lan-2.csv")

    async def moved_again() -> bool:
        return not (drop / "ngay-05-lan-2.csv").exists()
    await wait_for(moved_again, timeout=10)
    report = next((drop / "done").glob("*ngay-05-lan-2.csv.report.txt")).read_text(encoding="utf-8")
    assert "0 imported, 3 already imported, 5 rejected" in report


async def test_a_file_still_being_written_waits(settings_factory: Any, tmp_path: Path) -> None:
    from hub.app import close_hub, open_hub

    drop = tmp_path / "drop"
    hub = await open_hub(drop_settings(settings_factory, drop, drop_settle_seconds=60))
    try:
        folder = DropFolder(hub, hub.settings.channels.hotline)
        folder.prepare()
        fresh = drop / "fresh.csv"
        fresh.write_bytes((FIXTURES / "calls__utf8_comma.csv").read_bytes())
        assert folder.ready_files() == []
        old = time.time() - 120
        os.utime(fresh, (old, old))
        assert folder.ready_files() == [fresh]
        [summary] = await folder.scan()
        assert summary.imported == 3 and not fresh.exists()
    finally:
        await close_hub(hub)


async def test_a_dropped_file_knows_calls_stored_under_their_old_hash(settings_factory: Any,
                                                                      tmp_path: Path) -> None:
    """A call whose time has seconds, imported before hashes dropped them: dropping its file
    again adds no second call (the folder looks the old id up in the inbox)."""
    from hub.app import close_hub, open_hub
    from tests.hotline.test_fixtures import xlsx_with_seconds
    from tests.hotline.test_import import SECONDS_CALL_OLD_ID

    drop = tmp_path / "drop"
    hub = await open_hub(drop_settings(settings_factory, drop))
    try:
        folder = DropFolder(hub, hub.settings.channels.hotline)
        folder.prepare()
        await hub.intake.submit_many("hotline", [(SECONDS_CALL_OLD_ID, "{}")])
        path = xlsx_with_seconds(drop / "goi.xlsx")
        old = time.time() - 60
        os.utime(path, (old, old))
        [summary] = await folder.scan()
        assert (summary.imported, summary.duplicates, summary.error) == (0, 1, None)
    finally:
        await close_hub(hub)
