"""Cell values of call-center exports: call times (day first, 12-hour with English or
Vietnamese markers, ISO 8601, Excel dates and serials, Unix seconds), caller numbers and cell
text. Pure: a bad value raises ``BadValue`` whose message is the reject reason."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from normalizer.phones import normalize_phone
from normalizer.text import fold, nfc

# What operators write when the number was withheld: the call is still a report.
ANONYMOUS = frozenset({"anonymous", "unknown", "private", "withheld", "restricted", "an so",
                       "khong xac dinh", "khong hien so", "-"})

_DAY_FIRST = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"
    r"(?:[ T,]+(\d{1,2})[:hH](\d{2})?(?::(\d{2})(?:[.,]\d+)?)?\s*([^\W\d_][\w. ]{0,7})?)?$")
_TIME_FIRST = re.compile(
    r"^(\d{1,2})[:hH](\d{2})(?::(\d{2}))?\s*(?:ng[aà]y\s*)?,?\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$",
    re.IGNORECASE)
_EXCEL_EPOCH = datetime(1899, 12, 30)


class BadValue(ValueError):
    """A cell that cannot be used; the message is the reject reason."""


# Morning / afternoon markers after a 12-hour time, folded, dots and spaces dropped: English,
# and Vietnamese as Excel in Vietnam writes them (SA = sáng, CH = chiều) or spelled out.
_MERIDIEM = {"am": 0, "sa": 0, "sang": 0, "pm": 12, "ch": 12, "chieu": 12}


def _clock(h: int, m: int, s: int, marker: str | None) -> tuple[int, int, int]:
    if marker:
        offset = _MERIDIEM.get(fold(marker).replace(".", "").replace(" ", ""))
        if offset is None or not 1 <= h <= 12:
            raise ValueError
        h = h % 12 + offset  # 12 SA is 00 h, 12 CH is 12 h
    return h, m, s


def parse_time(value: Any, tz: tzinfo) -> datetime:
    """A call time as exports write it: day first (``05/11/2026 14:02``, ``14h02 05/11/2026``,
    12-hour ``3/12/2026 9:30 SA`` / ``2:30 CH`` / ``2:30 PM``), ISO 8601, an Excel date cell or serial number, or Unix seconds. Naive times are local (tz)."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        dt = _from_number(float(value))
    else:
        text = cell_text(value)  # NFC: a marker typed with combining tone marks still reads
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
