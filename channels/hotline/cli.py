"""``python main.py import-hotline FILE... [--sheet NAME] [--rejects PATH]``.

Prints, per file and in total, how many calls were imported (committed in the inbox), already
imported (re-import of the same call: nothing new), and rejected (row number and reason; the
rows themselves go to the rejects CSV). Reports are created from the imported calls by the
inbox worker of ``serve``. A progress bar is drawn on a terminal only.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from channels.hotline.importer import (
    ImportSummary,
    RejectsWriter,
    import_file,
    reader_options,
    stored_ids,
)


def register(sub: Any, add: Any) -> None:
    p = add("import-hotline", cmd_import_hotline,
            "import call-center exports (CSV, XLSX, JSONL) as hotline reports")
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV, XLSX or JSONL files")
    p.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    p.add_argument("--rejects", metavar="PATH",
                   help="CSV file for rejected rows (default: <FILE>.rejects.csv beside each file)")


class ProgressBar:
    """One line on stderr, redrawn at most five times a second; nothing when not a terminal."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label = stream, label
        self.enabled = stream.isatty()
        self.started = time.perf_counter()
        self._last = 0.0

    def update(self, summary: ImportSummary, fraction: float) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self._last < 0.2 and fraction < 1.0):
            return
        self._last = now
        width = 30
        filled = int(width * fraction)
        rate = summary.rows / max(now - self.started, 1e-6)
        self.stream.write(f"\r{self.label[:30]:<30} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{fraction * 100:5.1f}% {summary.rows:>9,} rows {rate:>8,.0f}/s")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def cmd_import_hotline(args: argparse.Namespace) -> int:
    settings = args.load_settings(args.config)
    cfg = settings.channels.hotline
    if not cfg.enabled:
        print("error: channels.hotline.enabled is false: serve would not process imported calls.\n"
              "Enable it in the settings file ([channels.hotline] enabled = true) or with "
              "HUB__CHANNELS__HOTLINE__ENABLED=true.", file=sys.stderr)
        return 2
    summaries = asyncio.run(run_import(settings, [Path(f) for f in args.files], sheet=args.sheet,
                                       rejects_path=args.rejects))
    total = ImportSummary(file="total")
    for s in summaries:
        for line in s.lines():
            print(line)
        total.imported += s.imported
        total.duplicates += s.duplicates
        total.rejected += s.rejected
        total.rows += s.rows
        total.seconds += s.seconds
    rate = total.rows / total.seconds if total.seconds else 0.0
    failed = [s for s in summaries if s.error]
    print(f"total: {total.imported} imported, {total.duplicates} already imported, "
          f"{total.rejected} rejected, {len(failed)} files failed — {total.rows} rows in "
          f"{total.seconds:.1f} s ({rate:,.0f} rows/s)")
    if total.imported:
        print("imported calls are stored; the running hub (`hub serve`) turns them into reports")
    return 1 if failed else 0


async def run_import(settings: Any, files: list[Path], *, sheet: str | None = None,
                     rejects_path: str | None = None,
                     stream: TextIO | None = None) -> list[ImportSummary]:
    """Import files into the database named by the settings (migrating it first)."""
    from store.db import make_engine, migrate, sessionmaker
    from store.intake import Intake

    cfg = settings.channels.hotline
    stream = stream or sys.stderr
    engine = make_engine(settings.database_url)
    intake = Intake(engine, batch_max=max(cfg.import_batch, settings.intake.batch_max))
    shared = RejectsWriter(rejects_path) if rejects_path else None
    known = stored_ids(sessionmaker(engine))
    summaries = []
    try:
        await migrate(engine)
        await intake.start()
        for path in files:
            rejects = shared or RejectsWriter(path.with_name(path.name + ".rejects.csv"))
            bar = ProgressBar(stream, path.name)
            try:
                summaries.append(await import_file(
                    intake.submit_many, path, reader_options(cfg, sheet=sheet),
                    batch_size=cfg.import_batch, rejects=rejects, progress=bar.update,
                    known=known))
            finally:
                bar.done()
                if rejects is not shared:
                    rejects.close()
    finally:
        if shared is not None:
            shared.close()
        await intake.close()
        await engine.dispose()
    return summaries
