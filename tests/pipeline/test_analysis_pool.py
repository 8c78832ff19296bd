"""The texts of a batch analysed by another process (hub.analysis) give the reports exactly what
the inline analysis gives; a pool that breaks, or a model file replaced meanwhile, changes
nothing but where the work runs."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.analysis import MAX_BREAKS, AnalysisPool, _analyze_chunk, message_key
from hub.app import close_hub, open_hub
from hub.workers import Workers
from normalizer import classify
from normalizer.text import fold
from store.models import InboxEvent, Report
from tests.pipeline.test_batches import settings

# Real citizens' reports (the classifier's real training corpus: nobody here wrote them).
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "classify" / "real" / "train.jsonl"
ADDRESSES = [None, "12 Lê Lợi, phường Thuận Hóa", "kiệt 4 Phan Đình Phùng, phường Vĩnh Ninh",
             "thôn Lại Thế, xã Phú Thượng"]


def calls(n: int, tag: str) -> list[tuple[str, dict[str, Any]]]:
    texts = [json.loads(line)["text"] for line in REAL.read_text(encoding="utf-8").splitlines()[:n]]
    out = []
    for i, text in enumerate(texts):
        # every other one without diacritics, as many citizens type
        body = fold(text) if i % 2 else text
        ext = f"{tag}-{i}"
        out.append((ext, {"id": ext, "time": "2026-11-30T09:00:00+07:00",
                          "caller": f"+8493511{i:04d}", "text": body,
                          "address": ADDRESSES[i % len(ADDRESSES)]}))
    return out


async def reports_of(tmp_path: Path, db_url: str, events: list[tuple[str, dict[str, Any]]],
                     processes: int) -> tuple[dict[str, tuple], int]:
    hub = await open_hub(settings(tmp_path, db_url, analysis_processes=processes,
                                  analysis_min_batch=1))
    try:
        await hub.intake.submit_many("hotline", events)
        workers = Workers(hub)
        while await workers.run_inbox_once():
            pass
        async with hub.sessions() as session:
            rows = (await session.execute(
                select(InboxEvent.external_id, Report.category, Report.category_confidence,
                       Report.classifier_version, Report.ward, Report.place_source, Report.extra,
                       Report.status, Report.agency_id)
                .join(Report, Report.id == InboxEvent.report_id))).all()
        return {r[0].split("-", 1)[1]: tuple(r[1:]) for r in rows}, hub.analysis.used
    finally:
        await close_hub(hub)


async def test_reports_analysed_in_the_pool_are_the_inline_ones(db_url: str, tmp_path: Path) -> None:
    if not REAL.exists():
        pytest.skip("the real corpus is not in this checkout")
    # one database, two runs: the same texts under other ids
    inline, used_inline = await reports_of(tmp_path, db_url, calls(40, "A"), processes=0)
    pooled, used_pooled = await reports_of(tmp_path, db_url, calls(40, "B"), processes=1)
    assert used_inline == 0
    assert used_pooled == 40  # every report took its analysis from the pool
    assert len(inline) == 40
    assert pooled == inline
    # the corpus is varied enough for this to mean something
    assert len({r[0] for r in inline.values()}) >= 4
    assert sum(r[3] is not None for r in inline.values()) >= 10


async def test_a_pool_whose_process_dies_falls_back_to_inline_then_restarts() -> None:
    pool = AnalysisPool(1, 1)
    keys = [message_key(f"ổ gà số {i} đường Lê Lợi", None, "Huế") for i in range(3)]
    try:
        for _attempt in range(MAX_BREAKS):
            assert pool.submit(keys) == 3
            await pool.wait_for(keys)
            assert pool.take(keys[0]) is not None  # a working (or restarted) pool
            pool.forget()
            for process in list(pool._executor._processes.values()):  # its process dies
                process.kill()
                process.join()
            pool.submit(keys)  # taken or refused, depending on whether the pool noticed yet
            await pool.wait_for(keys)
            assert pool.take(keys[1]) is None  # analysed inline instead: nothing lost
            pool.forget()
        assert not pool.enabled  # died too often: given up
        assert pool.submit(keys) == 0
    finally:
        pool.close()


def test_the_pool_process_reads_a_replaced_model(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A retrained model installed while serving: the pool's process re-reads the file when its
    modification time changes, as the serving process does."""
    model = tmp_path / "classifier.json"
    shutil.copy(classify.MODEL_FILE, model)
    monkeypatch.setattr(classify, "MODEL_FILE", model)
    classify.reload_model()
    key = message_key("Rác thải ùn ứ ở kiệt 12 Lê Lợi", None, "Huế")
    try:
        [before] = _analyze_chunk([key])
        data = json.loads(model.read_text(encoding="utf-8"))
        data["version"] = "lr-replaced"
        model.write_text(json.dumps(data), encoding="utf-8")
        stat = model.stat()
        os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        [after] = _analyze_chunk([key])
        assert before.classifier_version != "lr-replaced"
        assert after.classifier_version == "lr-replaced"
        assert after.category == before.category
    finally:
        monkeypatch.undo()
        classify.reload_model()


def test_the_pool_process_leaves_when_its_hub_is_killed(tmp_path: Path) -> None:
    """A hub killed with SIGKILL (no shutdown) leaves no analysis process behind."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "hub_like.py"
    script.write_text(
        "import asyncio, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from hub.analysis import AnalysisPool, message_key\n"
        "async def main():\n"
        "    pool = AnalysisPool(1, 1)\n"
        "    keys = [message_key('ổ gà đường Lê Lợi', None, 'Huế')]\n"
        "    pool.submit(keys)\n"
        "    await pool.wait_for(keys)\n"
        "    print(*pool._executor._processes, flush=True)\n"
        "    time.sleep(120)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n", encoding="utf-8")
    hub = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(hub.stdout.readline().split()[0])
        os.kill(child, 0)  # alive while its hub is
        hub.send_signal(signal.SIGKILL)
        hub.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the analysis process outlived its killed hub")
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait(10)
        hub.stdout.close()
