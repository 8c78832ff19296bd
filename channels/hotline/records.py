"""Call-center exports → call records: header mapping, value parsing, validation.

Columns are found by header name (Vietnamese or English defaults plus ``column_map`` from
settings), compared folded (no diacritics, no case), so "Số điện thoại", "so dien thoai" and
"SĐT" all work; a title row above the header is skipped. Each good row becomes a ``CallRecord``
(the inbox external id and the JSON payload ``channels.hotline.parse`` reads later); each bad
row a ``Rejected`` with its row number and the reason. ``import_file`` streams the records into
the durable intake in batches and writes the rejects file.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from channels.hotline.sources import (
    MAX_LINE_BYTES,
    OVERLONG_MARK,
    CsvSource,
    ImportFormatError,
    JsonlSource,
    open_source,
)
from channels.hotline.values import BadValue, cell_text, parse_caller, parse_time
from normalizer.text import fold

__all__ = ["BadValue", "CallReader", "CallRecord", "ImportFormatError", "Rejected", "ReaderOptions",
           "parse_caller", "parse_time"]

FIELDS = ("call_id", "time", "caller", "operator", "text", "address", "category", "name")
REQUIRED = ("time", "text")
MAX_TEXT = 20_000
HEADER_SCAN_ROWS = 10

# Folded header names per field. Settings' column_map entries are tried first.
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "call_id": ("call id", "callid", "call uuid", "uniqueid", "unique id", "id", "ma cuoc goi",
                "ma cg", "id cuoc goi", "so phieu", "ma phieu"),
    "time": ("time", "call time", "datetime", "date time", "start time", "calldate", "call date",
             "date", "created at", "thoi gian", "thoi gian goi", "ngay gio", "thoi diem",
             "ngay goi", "thoi gian tiep nhan", "ngay tiep nhan"),
    "caller": ("caller", "caller number", "caller id", "callerid", "phone", "phone number", "from",
               "src", "ani", "so dien thoai", "sdt", "so dt", "dien thoai", "so goi den",
               "so may goi", "so thue bao"),
    "operator": ("operator", "agent", "agent name", "dien thoai vien", "tong dai vien",
                 "nguoi tiep nhan", "can bo tiep nhan", "nhan vien"),
    "text": ("transcript", "notes", "note", "content", "text", "description", "noi dung",
             "noi dung phan anh", "ghi chu", "noi dung cuoc goi", "tom tat"),
    "address": ("address", "location", "place", "dia chi", "vi tri", "dia diem",
                "dia diem phan anh"),
    "category": ("category", "topic", "type", "linh vuc", "loai", "chuyen muc", "phan loai",
                 "loai phan anh"),
    "name": ("caller name", "name", "full name", "ho ten", "ho va ten", "ten nguoi goi",
             "nguoi phan anh", "ten cong dan"),
}

_HEADER_JUNK = re.compile(r"[\s_\-./:()#]+")


def header_key(name: Any) -> str:
    return _HEADER_JUNK.sub(" ", fold(str(name or ""))).strip()


@dataclass(frozen=True, slots=True)
class CallRecord:
    row: int
    external_id: str
    payload: str  # JSON text, as the inbox stores it
    caller_unverified: bool = False  # kept, with the number flagged for the operator
    read_as_cp1258: bool = False  # a line of a UTF-8 file that only Windows-1258 reads
    literal_quote: bool = False  # an opening quote never closed, read as a character
    # The id this call had before hashes dropped the seconds (see call_hash), when it differs.
    legacy_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    row: int
    reason: str
    values: dict[str, str]


@dataclass(slots=True)
class ReaderOptions:
    column_map: dict[str, list[str]] = field(default_factory=dict)
    tz: tzinfo = timezone(timedelta(hours=7))
    sheet: str | None = None
    # Calls older than this are imported silently (historical backfill: no receipt SMS).
    ack_max_age: timedelta | None = timedelta(hours=24)
    now: datetime | None = None
    source: str = ""


_WS = re.compile(r"\s+")


def call_hash(when: datetime, caller: str | None, text: str) -> str:
    """Stable id for a call without a call id: the same call from a CSV or an XLSX export (any
    encoding, any time zone notation) gets the same hash. The time counts to the minute: an
    XLSX cell keeps the seconds its ``dd/mm/yyyy hh:mm`` format hides, and the CSV Excel saves
    from it shows only what the format shows (Excel drops the seconds, never rounds the minute
    up). Fractions of a second (a serial number's float noise) are rounded away first."""
    when = when.astimezone(UTC) + timedelta(microseconds=500_000)
    return _hash(when.replace(second=0, microsecond=0), caller, text)


def legacy_call_hash(when: datetime, caller: str | None, text: str) -> str | None:
    """The id ``call_hash`` gave before it dropped the seconds, when that differs (a call time
    with seconds): a call imported then is recognised when its file is imported again."""
    old = _hash(when.astimezone(UTC), caller, text)
    return old if old != call_hash(when, caller, text) else None


def _hash(when: datetime, caller: str | None, text: str) -> str:
    key = f"{when.isoformat()}|{caller or ''}|{_WS.sub(' ', text).strip()}"
    return "hash:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _raw(values: dict[str, Any]) -> dict[str, str]:
    return {k: cell_text(v) if not isinstance(v, datetime | date) else v.isoformat()
            for k, v in values.items()}


def make_record(row: int, values: dict[str, Any], opts: ReaderOptions) -> CallRecord | Rejected:
    now = opts.now or datetime.now(UTC)
    try:
        text = cell_text(values.get("text"))
        if not text:
            raise BadValue("no text (transcript/notes are empty)")
        when = parse_time(values.get("time"), opts.tz)
        if when.year < 2000 or when > now + timedelta(days=1):
            raise BadValue(f"call time {when:%d/%m/%Y %H:%M} is impossible (before 2000 or in the future)")
    except BadValue as exc:
        return Rejected(row, str(exc), _raw(values))
    try:
        caller, caller_unverified = parse_caller(values.get("caller")), None
    except BadValue:
        # A mistyped number must not lose the complaint: the call is kept without a reply
        # address and the number, as typed, is flagged for the operator to check.
        caller, caller_unverified = None, cell_text(values.get("caller"))[:40]
    call_id = cell_text(values.get("call_id"))
    external_id = (f"call:{call_id}"[:255] if call_id
                   else call_hash(when, caller or caller_unverified, text))
    legacy_id = None if call_id else legacy_call_hash(when, caller or caller_unverified, text)
    silent = opts.ack_max_age is not None and now - when > opts.ack_max_age
    payload = {"id": external_id, "call_id": call_id or None, "time": when.isoformat(),
               "caller": caller, "operator": cell_text(values.get("operator")) or None,
               "text": text[:MAX_TEXT], "address": cell_text(values.get("address")) or None,
               "category": cell_text(values.get("category")) or None,
               "name": cell_text(values.get("name")) or None,
               "source": opts.source, "row": row, "silent": silent}
    if caller_unverified:
        payload["caller_unverified"] = caller_unverified
    return CallRecord(row, external_id, json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                      caller_unverified=bool(caller_unverified), legacy_id=legacy_id)


# --- header mapping and the reader -------------------------------------------------------------
def build_lookup(column_map: dict[str, list[str]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for fld, names in column_map.items():
        if fld not in FIELDS:
            raise ImportFormatError(f"channels.hotline.column_map: unknown field {fld!r}; "
                                    f"fields: {', '.join(FIELDS)}")
        for name in names:
            lookup.setdefault(header_key(name), fld)
    for fld, names in DEFAULT_HEADERS.items():
        for name in names:
            lookup.setdefault(name, fld)
    return lookup


def map_header(cells: Any, lookup: dict[str, str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, cell in enumerate(cells or ()):
        fld = lookup.get(header_key(cell))
        if fld and fld not in index:
            index[fld] = i
    return index


def whole_row(width: int, time_at: int, tz: tzinfo) -> Callable[[list[str]], bool]:
    """Whether cells read from one line make a call row: the header's number of cells (or more,
    all empty) with a readable call time under the time header. A line inside a quoted cell
    that passes is another call, swallowed by a quote left open (channels.hotline.quotes)."""
    def check(cells: list[str]) -> bool:
        if len(cells) < width or any(c.strip() for c in cells[width:]):
            return False
        try:
            parse_time(cells[time_at], tz)
        except BadValue:
            return False
        return True
    return check


class CallReader:
    """Streams CallRecord / Rejected from one file. Use as a context manager."""

    def __init__(self, path: str | Path, opts: ReaderOptions | None = None) -> None:
        self.path = Path(path)
        self.opts = opts or ReaderOptions()
        if not self.opts.source:
            self.opts.source = self.path.name
        if self.opts.now is None:  # one clock for the whole file
            self.opts.now = datetime.now(UTC)
        self._lookup = build_lookup(self.opts.column_map)
        self.source = open_source(self.path, self.opts.sheet)
        self.rows_read = 0
        self._items = self._records()

    def __enter__(self) -> CallReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.source.close()

    def progress(self) -> float:
        return self.source.progress()

    def __iter__(self) -> Iterator[CallRecord | Rejected]:
        return self._items

    def next_batch(self, size: int) -> list[CallRecord | Rejected]:
        batch: list[CallRecord | Rejected] = []
        for item in self._items:
            batch.append(item)
            if len(batch) >= size:
                break
        return batch

    def _records(self) -> Iterator[CallRecord | Rejected]:
        if isinstance(self.source, JsonlSource):
            yield from self._json_records()
            return
        index = self._find_header()
        for number, cells in self.source.rows:
            if not cells or all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            self.rows_read += 1
            if isinstance(cells[0], str) and cells[0].startswith(OVERLONG_MARK):
                yield Rejected(number, f"line of {cells[0][len(OVERLONG_MARK):]} bytes exceeds "
                                       f"the limit of {MAX_LINE_BYTES} bytes", {})
                continue
            values = {fld: cells[i] if i < len(cells) else None for fld, i in index.items()}
            note = self.source.row_note
            if note is not None and note[0] == "damaged":
                yield Rejected(number, f"not valid UTF-8: a damaged character at byte {note[1]} "
                                       "of a line; correct the row and import it again", _raw(values))
                continue
            record = make_record(number, values, self.opts)
            if isinstance(record, CallRecord) and (note is not None or self.source.row_literal_quote):
                record = replace(record, read_as_cp1258=note is not None,
                                 literal_quote=self.source.row_literal_quote)
            yield record

    def _find_header(self) -> dict[str, int]:
        for number, cells in self.source.rows:
            index = map_header(cells, self._lookup)
            if "text" in index and len(index) >= 2:
                if "time" not in index:
                    raise ImportFormatError(
                        f"row {number}: no call time column (looked for: {', '.join(self._names('time'))})")
                if isinstance(self.source, CsvSource):
                    self.source.expect_rows(whole_row(len(cells), index["time"], self.opts.tz))
                return index
            if number >= HEADER_SCAN_ROWS:
                break
        raise ImportFormatError(
            f"no header row in the first {HEADER_SCAN_ROWS} rows with a transcript column "
            f"(looked for: {', '.join(self._names('text'))}); set channels.hotline.column_map")

    def _names(self, fld: str) -> list[str]:
        return [k for k, v in self._lookup.items() if v == fld][:8]

    def _json_records(self) -> Iterator[CallRecord | Rejected]:
        cache: dict[tuple[str, ...], dict[str, str]] = {}
        for number, obj in self.source.rows:
            if obj is None:
                continue
            self.rows_read += 1
            if isinstance(obj, Exception):
                yield Rejected(number, str(obj), {})
                continue
            keys = tuple(obj)
            fields = cache.get(keys)
            if fields is None:
                fields = {}
                for key in keys:
                    fld = self._lookup.get(header_key(key))
                    if fld and fld not in fields.values():
                        fields[key] = fld
                if len(cache) < 1000:
                    cache[keys] = fields
            yield make_record(number, {fld: obj[key] for key, fld in fields.items()}, self.opts)
