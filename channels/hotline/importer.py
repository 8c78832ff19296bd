"""Feeding call records into the durable inbox: ``import_file`` (used by the CLI and the drop
folder), the rejects file, the per-file summary, and the drop folder job.

"Imported" means what the intake contract acknowledges: the row is committed in the inbox
(``Intake.submit_many``, group commit, ``ON CONFLICT DO NOTHING`` on (channel, external_id)).
The inbox worker of ``serve`` turns rows into reports. Reading runs in a worker thread, one batch
at a time, so a big file never blocks the event loop and parsing overlaps the database writes.
"""
from __future__ import annotations

import asyncio
import csv
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import ChannelConfigError
from channels.hotline.records import (
    FIELDS,
    CallReader,
    CallRecord,
    ImportFormatError,
    ReaderOptions,
    Rejected,
)
from store.intake import IntakeResult
from store.models import InboxEvent, utcnow

if TYPE_CHECKING:
    from channels.base import ChannelContext
    from channels.hotline.settings import HotlineSettings

log = logging.getLogger("hub.channels.hotline")

SubmitMany = Callable[[str, Sequence[tuple[str, Any]]], Awaitable[list[IntakeResult]]]
# Which of these hotline inbox ids are already stored (see stored_ids).
KnownIds = Callable[[list[str]], Awaitable[set[str]]]
SAMPLE_REJECTS = 50
DROP_MAX_ATTEMPTS = 5
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", "~")


def local_zone(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:
        if name in ("Asia/Ho_Chi_Minh", "Asia/Saigon"):  # no tz database installed: no DST here
            return timezone(timedelta(hours=7))
        raise ChannelConfigError(f"channels.hotline.timezone: unknown time zone {name!r}") from None


def reader_options(cfg: HotlineSettings, *, sheet: str | None = None,
                   now: datetime | None = None) -> ReaderOptions:
    max_age = timedelta(hours=cfg.ack_max_age_hours)
    return ReaderOptions(column_map=dict(cfg.column_map), tz=local_zone(cfg.timezone), sheet=sheet,
                         ack_max_age=max_age, now=now)


@dataclass
class ImportSummary:
    file: str
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    rows: int = 0
    seconds: float = 0.0
    samples: list[tuple[int, str]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    transient: bool = False  # the error was the store's, not the file's: try again later
    rejects_path: str | None = None
    # Rows kept although their caller number cannot exist (the operator checks them).
    unverified_rows: list[int] = field(default_factory=list)
    # Rows of a UTF-8 file that were Windows-1258 (pasted from another export): kept, listed.
    cp1258_rows: list[int] = field(default_factory=list)
    # Rows whose cell opened with a quote that never closed: read with the quote as a character.
    quote_rows: list[int] = field(default_factory=list)

    def reject(self, item: Rejected) -> None:
        self.rejected += 1
        self.reasons[item.reason.split(" '")[0].split(" (")[0]] += 1
        if len(self.samples) < SAMPLE_REJECTS:
            self.samples.append((item.row, item.reason))

    def note(self, record: CallRecord) -> None:
        """A kept row the operator should look at is listed by its row number."""
        if record.caller_unverified:
            self.unverified_rows.append(record.row)
        if record.read_as_cp1258:
            self.cp1258_rows.append(record.row)
        if record.literal_quote:
            self.quote_rows.append(record.row)

    def count(self, results: list[IntakeResult]) -> None:
        stored = sum(1 for r in results if r.stored)
        self.imported += stored
        self.duplicates += len(results) - stored

    def lines(self) -> list[str]:
        head = (f"{self.file}: {self.imported} imported, {self.duplicates} already imported, "
                f"{self.rejected} rejected")
        if self.error:
            head += f" — FAILED: {self.error}"
        out = [head]
        out += _row_list(self.unverified_rows, "call{s} kept with a caller number to check "
                                                "(no reply is sent to it)")
        out += _row_list(self.cp1258_rows, "row{s} not in UTF-8, read as Windows-1258 "
                                           "(check the accents)")
        out += _row_list(self.quote_rows, 'row{s} with a quote (") never closed, read as text '
                                          "(the rows after it are rows of their own)")
        out += [f"  row {row}: {reason}" for row, reason in self.samples]
        if self.rejected > len(self.samples):
            out.append(f"  … and {self.rejected - len(self.samples)} more rejected rows")
        if self.rejects_path and self.rejected:
            out.append(f"  rejected rows written to {self.rejects_path}")
        return out


def _row_list(rows: list[int], what: str) -> list[str]:
    """``  3 calls kept …: rows 4, 9, 12`` (the first SAMPLE_REJECTS), or nothing."""
    if not rows:
        return []
    s = "s" if len(rows) != 1 else ""
    listed = ", ".join(str(r) for r in rows[:SAMPLE_REJECTS])
    more = "…" if len(rows) > SAMPLE_REJECTS else ""
    return [f"  {len(rows)} {what.format(s=s)}: row{s} {listed}{more}"]


class RejectsWriter:
    """Rejected rows as CSV in UTF-8 with a BOM (so Excel opens Vietnamese text right), created
    on the first reject only."""

    COLUMNS = ("file", "row", "reason", *FIELDS)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._fh: Any = None
        self._writer: Any = None

    def write(self, file: str, item: Rejected) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._fh)
            self._writer.writerow(self.COLUMNS)
        self._writer.writerow([_inert(v) for v in (
            file, item.row, item.reason, *(item.values.get(f, "") for f in FIELDS))])
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = self._writer = None


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _inert(value: Any) -> Any:
    """A cell Excel would run as a formula (``=cmd|' /C calc'!A0``, ``+``, ``-``, ``@``) gets a
    leading apostrophe: shown as text, never evaluated (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def stored_ids(sessions: async_sessionmaker[AsyncSession]) -> KnownIds:
    """A KnownIds over the inbox: which of these ids already name a hotline row."""
    async def known(ids: list[str]) -> set[str]:
        found: set[str] = set()
        async with sessions() as session:
            for start in range(0, len(ids), 500):  # SQLite's bound-variable limit
                found.update((await session.execute(select(InboxEvent.external_id).where(
                    InboxEvent.channel == "hotline",
                    InboxEvent.external_id.in_(ids[start:start + 500])))).scalars())
        return found
    return known


async def _legacy_ids(records: list[CallRecord], known: KnownIds | None) -> None:
    """Calls already stored under the id they had before hashes dropped the seconds keep that
    id, so importing their file again counts them as already imported (not a second report)."""
    legacy = [r.legacy_id for r in records if r.legacy_id]
    if not legacy or known is None:
        return
    stored = await known(legacy)
    for i, record in enumerate(records):
        if record.legacy_id in stored:
            records[i] = replace(record, external_id=record.legacy_id)


async def import_file(submit: SubmitMany, path: str | Path, opts: ReaderOptions, *,
                      batch_size: int = 2000, rejects: RejectsWriter | None = None,
                      progress: Callable[[ImportSummary, float], None] | None = None,
                      known: KnownIds | None = None) -> ImportSummary:
    """Stream one file into the inbox. Never raises for a bad file or row: the summary says.
    ``known`` (see stored_ids) lets calls imported under an older hash id be recognised."""
    path = Path(path)
    summary = ImportSummary(file=str(path))
    started = time.perf_counter()
    try:
        reader = await asyncio.to_thread(CallReader, path, opts)
    except (ImportFormatError, OSError) as exc:
        summary.error = _file_error(exc)
        return summary
    pending: asyncio.Future[list[IntakeResult]] | None = None
    reading = False  # an exception while reading is the file's fault, never the store's
    try:
        while True:
            reading = True
            batch = await asyncio.to_thread(reader.next_batch, batch_size)
            reading = False
            records: list[CallRecord] = []
            for item in batch:
                if isinstance(item, Rejected):
                    summary.reject(item)
                    if rejects is not None:
                        rejects.write(path.name, item)
                else:
                    summary.note(item)
                    records.append(item)
            if pending is not None:
                summary.count(await pending)
                pending = None
            await _legacy_ids(records, known)
            if records:
                pending = asyncio.ensure_future(
                    submit("hotline", [(r.external_id, r.payload) for r in records]))
            summary.rows = reader.rows_read
            if progress is not None:
                progress(summary, reader.progress())
            if not batch:
                break
    except (ImportFormatError, OSError, csv.Error, UnicodeError) as exc:
        summary.error = _file_error(exc, reader.rows_read)
    except Exception as exc:
        if reading:  # a reader bug on this file: permanent, and it must not block the folder
            log.error("hotline import of %s: unreadable after %d rows (%s)", path.name,
                      reader.rows_read, type(exc).__name__)
            summary.error = f"unreadable file after {reader.rows_read} rows ({type(exc).__name__})"
            return summary
        # the store failed: nothing is lost, the file can be imported again
        log.error("hotline import of %s stopped: storage failed (%s)", path.name, type(exc).__name__)
        summary.error, summary.transient = f"storage failed ({type(exc).__name__})", True
    finally:
        if pending is not None:
            try:
                summary.count(await pending)
            except Exception as exc:
                summary.error = summary.error or f"storage failed ({type(exc).__name__})"
                summary.transient = True
        await asyncio.to_thread(reader.close)
        if rejects is not None:
            summary.rejects_path = str(rejects.path) if rejects.count else None
        summary.seconds = time.perf_counter() - started
    return summary


def _file_error(exc: Exception, rows: int | None = None) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, OSError):
        return f"cannot read the file ({exc.strerror or type(exc).__name__})"
    where = f" after {rows} rows" if rows else ""
    return f"{exc}{where}" if isinstance(exc, ImportFormatError) else f"unreadable file{where}: {exc}"


class DropFolder:
    """Files in ``channels.hotline.drop_dir`` are imported (by the leader) and moved to done/ —
    or to failed/ when the file cannot be read — beside a ``.report.txt`` and the rejects CSV.
    A file still being written (changed within ``drop_settle_seconds``, a hidden or partial
    name) waits for the next scan. If the hub stops half-way the file stays and is imported
    again; rows already in the inbox are counted as already imported."""

    def __init__(self, ctx: ChannelContext, cfg: HotlineSettings) -> None:
        self.ctx, self.cfg = ctx, cfg
        self.dir = ctx.resolve_path(cfg.drop_dir)
        self.done, self.failed = self.dir / "done", self.dir / "failed"
        # A file whose import failed for a passing reason DROP_MAX_ATTEMPTS scans in a row is
        # moved to rejected/ with its report, so it can never block the files after it.
        self.rejected = self.dir / "rejected"
        self.attempts: Counter[str] = Counter()

    def prepare(self) -> None:
        for folder in (self.dir, self.done, self.failed, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)

    def ready_files(self, now: float | None = None) -> list[Path]:
        now = time.time() if now is None else now
        files: list[tuple[float, Path]] = []
        try:
            entries = list(os.scandir(self.dir))
        except FileNotFoundError:
            return []
        for entry in entries:
            name = entry.name
            if name.startswith((".", "~$")) or name.endswith(PARTIAL_SUFFIXES) or not entry.is_file():
                continue
            try:
                mtime = entry.stat().st_mtime
            except FileNotFoundError:  # taken away meanwhile
                continue
            if now - mtime < self.cfg.drop_settle_seconds:
                continue
            files.append((mtime, Path(entry.path)))
        return [path for _, path in sorted(files)]

    async def scan(self) -> list[ImportSummary]:
        self.prepare()
        out = []
        for path in self.ready_files():
            summary = await self.process(path)
            if summary.transient:
                self.attempts[path.name] += 1
                if self.attempts[path.name] < DROP_MAX_ATTEMPTS:
                    break  # the store is unwell; the next scan tries again
                self._reject(path, summary)
            self.attempts.pop(path.name, None)
            out.append(summary)
        return out

    def _reject(self, path: Path, summary: ImportSummary) -> None:
        base = f"{utcnow().strftime('%Y%m%dT%H%M%SZ')}-{path.name}"
        report = [f"rejected at {utcnow().isoformat(timespec='seconds')} after "
                  f"{self.attempts[path.name]} attempts", *summary.lines(),
                  "rows already imported stay imported; fix the file and drop it again"]
        (self.rejected / f"{base}.report.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
        os.replace(path, self.rejected / base)
        log.error("hotline drop file %s moved to rejected/ after %d attempts: %s", path.name,
                  self.attempts[path.name], summary.error)

    async def process(self, path: Path) -> ImportSummary:
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        base = f"{stamp}-{path.name}"
        rejects = RejectsWriter(self.done / f"{base}.rejects.csv")
        opts = reader_options(self.cfg)
        try:
            summary = await import_file(self.ctx.submit, path, opts,
                                        batch_size=self.cfg.import_batch, rejects=rejects,
                                        known=stored_ids(self.ctx.sessions))
        finally:
            rejects.close()
        if summary.transient:
            if rejects.count:
                rejects.path.unlink(missing_ok=True)
            return summary
        dest = self.done if summary.error is None else self.failed
        if rejects.count and dest is self.failed:
            os.replace(rejects.path, self.failed / rejects.path.name)
            summary.rejects_path = str(self.failed / rejects.path.name)
        report = [f"imported at {utcnow().isoformat(timespec='seconds')}", *summary.lines(),
                  f"{summary.rows} rows read in {summary.seconds:.1f} s"]
        (dest / f"{base}.report.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
        os.replace(path, dest / base)
        log.info("hotline drop file %s: %d imported, %d already imported, %d rejected%s",
                 path.name, summary.imported, summary.duplicates, summary.rejected,
                 f", failed: {summary.error}" if summary.error else "")
        return summary
