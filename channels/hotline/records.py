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
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from channels.hotline.sources import (
    MAX_LINE_BYTES,
    OVERLONG_MARK,
    ImportFormatError,
    JsonlSource,
    open_source,
)
from normalizer.phones import normalize_phone
from normalizer.text import fold, nfc

__all__ = ["CallReader", "CallRecord", "ImportFormatError", "Rejected", "ReaderOptions"]

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

# What operators write when the number was withheld: the call is still a report.
ANONYMOUS = frozenset({"anonymous", "unknown", "private", "withheld", "restricted", "an so",
                       "khong xac dinh", "khong hien so", "-"})

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


# --- values ------------------------------------------------------------------------------------
_DAY_FIRST = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"
    r"(?:[ T,]+(\d{1,2})[:hH](\d{2})?(?::(\d{2})(?:[.,]\d+)?)?\s*([AaPp][Mm])?)?$")
_TIME_FIRST = re.compile(
    r"^(\d{1,2})[:hH](\d{2})(?::(\d{2}))?\s*(?:ng[aà]y\s*)?,?\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$",
    re.IGNORECASE)
_EXCEL_EPOCH = datetime(1899, 12, 30)


class BadValue(ValueError):
    """A cell that cannot be used; the message is the reject reason."""


def _clock(h: int, m: int, s: int, ampm: str | None) -> tuple[int, int, int]:
    if ampm:
        if not 1 <= h <= 12:
            raise ValueError
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    return h, m, s


def parse_time(value: Any, tz: tzinfo) -> datetime:
    """A call time as exports write it: day first (``05/11/2026 14:02``, ``14h02 05/11/2026``),
    ISO 8601, an Excel date cell or serial number, or Unix seconds. Naive times are local (tz)."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        dt = _from_number(float(value))
    else:
        text = str(value or "").strip()
        if not text:
            raise BadValue("no call time")
        try:
            dt = _from_text(text)
        except (ValueError, OverflowError):
            raise BadValue(f"unreadable time {text[:40]!r} (expected dd/mm/yyyy hh:mm or ISO 8601)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt


def _from_number(number: float) -> datetime:
    if 20_000 <= number < 80_000:  # Excel serial day (1954-2118)
        return _EXCEL_EPOCH + timedelta(days=number)
    if 1e9 <= number < 1e10:
        return datetime.fromtimestamp(number, UTC)
    if 1e12 <= number < 1e13:
        return datetime.fromtimestamp(number / 1000, UTC)
    raise BadValue(f"unreadable time {number!r} (a number that is neither an Excel date nor Unix time)")


def _from_text(text: str) -> datetime:
    m = _DAY_FIRST.match(text)
    if m:
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
        h, mi, s = _clock(int(m[4] or 0), int(m[5] or 0), int(m[6] or 0), m[7])
        return datetime(y, mo, d, h, mi, s)
    m = _TIME_FIRST.match(text)
    if m:
        h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
        return datetime(int(m[6]), int(m[5]), int(m[4]), h, mi, s)
    if text[:4].isdigit() and len(text) >= 8:
        return datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text[:11] else text)
    try:
        return _from_number(float(text.replace(",", ".")))
    except ValueError:
        raise ValueError(text) from None


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    text = text.strip() if text.isascii() else nfc(text).strip()
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


_NOT_DIGITS = re.compile(r"[\s.\-()/]")


def _phone(raw: str) -> str | None:
    """normalize_phone, cached on the national digits: "0905.123.456", "+84 905 123 456" and
    "84905123456" are one cache entry (repeat callers are common in call logs)."""
    digits = _NOT_DIGITS.sub("", raw)
    national = digits
    if digits.startswith("+84"):
        national = "0" + digits[3:]
    elif digits.startswith("0084"):
        national = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        national = "0" + digits[2:]
    if national != digits and national.startswith("00") and len(national) == 11:
        national = national[1:]  # "+84 (0)905 …": the trunk 0 written after the country code
    digits = national
    if not digits.isdigit():
        return _normalized(raw)
    if digits[:1] == "0" and len(digits) == 10:
        # Validity and type of a Vietnamese number follow from its first digits and its length
        # (phonenumbers' VN patterns are prefixes of at most 4 digits, then \d{n}): remember
        # which 5-digit prefixes are plain valid personal numbers and skip the full check.
        key = digits[:6]
        plain = _PLAIN_PREFIXES.get(key)
        if plain:
            return "+84" + digits[1:]
        if plain is None:
            result = _normalized(digits)
            if len(_PLAIN_PREFIXES) < 200_000:
                _PLAIN_PREFIXES[key] = result == "+84" + digits[1:]
            return result
    return _normalized(digits)


_PLAIN_PREFIXES: dict[str, bool] = {}


@lru_cache(maxsize=65536)
def _normalized(raw: str) -> str | None:
    return normalize_phone(raw)


def parse_caller(value: Any) -> str | None:
    """E.164, or None for a withheld number; BadValue for a number that cannot exist."""
    raw = cell_text(value)
    if not raw or (not raw[0].isdigit() and raw[0] != "+" and fold(raw) in ANONYMOUS):
        return None
    if isinstance(value, int | float) and not raw.startswith("0") and len(raw) == 9:
        raw = "0" + raw  # a spreadsheet dropped the leading zero of 0905…
    phone = _phone(raw)
    if phone is None:
        raise BadValue("caller number is not a valid Vietnamese phone number")
    return phone


_WS = re.compile(r"\s+")


def call_hash(when: datetime, caller: str | None, text: str) -> str:
    """Stable id for a call without a call id: the same call from a CSV or an XLSX export (any
    encoding, any time zone notation) gets the same hash."""
    key = f"{when.astimezone(UTC).isoformat()}|{caller or ''}|{_WS.sub(' ', text).strip()}"
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
                      caller_unverified=bool(caller_unverified))


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
            if note is not None and isinstance(record, CallRecord):
                record = replace(record, read_as_cp1258=True)
            yield record

    def _find_header(self) -> dict[str, int]:
        for number, cells in self.source.rows:
            index = map_header(cells, self._lookup)
            if "text" in index and len(index) >= 2:
                if "time" not in index:
                    raise ImportFormatError(
                        f"row {number}: no call time column (looked for: {', '.join(self._names('time'))})")
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
