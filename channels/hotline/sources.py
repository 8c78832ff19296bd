"""Call-center export files as rows: CSV (UTF-8, UTF-8 with BOM, Windows-1258, UTF-16; `,` `;`
or tab, sniffed), XLSX (openpyxl read-only: streamed, first sheet or a named one) and JSONL.

Each source yields ``(row number, cells)`` — the row number as a spreadsheet shows it (header =
row 1) or the JSONL line number — and tells how far through the file it is, for progress bars.
CSV lines are grouped into records by ``channels.hotline.quotes``: as csv reads them, except
that a quote left open does not swallow the rows after it.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from channels.hotline import quotes
from channels.hotline.quotes import Line, RecordGrouper
from normalizer.jsonsafe import JSONRefused, loads_bounded

# One physical line longer than this is a rejected row (named by its number), not a failed file.
MAX_LINE_BYTES = 1_000_000
OVERLONG_MARK = "\ufffeline too long: "
_CR_ALONE = re.compile(rb"(?<=\r)(?!\n)")
# A single cell may hold most of a line (the csv module's default limit is 128 KiB).
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))


class ImportFormatError(Exception):
    """The file as a whole cannot be read (unknown format, no header, a required column missing)."""


# --- decoding ----------------------------------------------------------------------------------
# Letters of Vietnamese (precomposed, or a base letter's combining tone mark) as UTF-8 spells them.
_VIETNAMESE_LETTER = re.compile("[ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169"
                                "\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9\u0300\u0301\u0303\u0309\u0323]")


def damaged_utf8_at(line: bytes) -> int | None:
    """The byte offset of the first bad byte when a line that is not UTF-8 still holds
    Vietnamese letters in UTF-8: a UTF-8 row with a damaged character, which read as
    Windows-1258 would be mojibake. None for a Windows-1258 row pasted into a UTF-8 export: its
    letters do not form UTF-8 sequences, and the few byte pairs that do (a tone mark before
    "…" or a curly quote) decode to no Vietnamese letter."""
    text = line.decode("utf-8", errors="replace")
    if not _VIETNAMESE_LETTER.search(text):
        return None
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def sniff_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if exc.start >= len(sample) - 3 and "unexpected end" in exc.reason:
            return "utf-8"
    # Mostly valid UTF-8 with a few bad stretches: a UTF-8 export with Windows-1258 rows pasted
    # in. Read it as UTF-8, line by line (CsvSource decodes each bad line as Windows-1258);
    # decoding it all as Windows-1258 would garble every UTF-8 row.
    text = sample.decode("utf-8", errors="replace")
    valid = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    return "utf-8" if valid > text.count("\ufffd") else "cp1258"


def sniff_delimiter(head: str) -> str:
    """The separator that splits some line of the first ten into the most cells (a title row
    above the header has none)."""
    best = {d: 0 for d in (",", ";", "\t")}
    for line in head.splitlines()[:10]:
        counts = dict.fromkeys(best, 0)
        quoted = False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch in counts:
                counts[ch] += 1
        for d, n in counts.items():
            best[d] = max(best[d], n)
    winner = max(best, key=lambda d: best[d])
    return winner if best[winner] else ","


# --- sources: (row number, cells) ------------------------------------------------------------
class _Source:
    """Rows of a file with a progress fraction. Subclasses set ``rows``."""

    rows: Iterator[tuple[int, Any]]
    # What decoding noticed on the row last yielded: ("damaged", byte offset) for a UTF-8 line
    # with a broken character, ("cp1258", byte offset) for a line read as Windows-1258; else None.
    row_note: tuple[str, int] | None = None
    # The row's cell opened with a quote that never closed (it would have swallowed the rows
    # after it): the quote was read as a character and the row ends with its line.
    row_literal_quote: bool = False

    def progress(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


class _FileSource(_Source):
    """Read from one binary file: progress is how far into the file reading has got."""

    def __init__(self, path: Path) -> None:
        self._raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._size = max(1, path.stat().st_size)

    def progress(self) -> float:
        try:
            return min(1.0, self._raw.tell() / self._size)
        except (ValueError, OSError):
            return 1.0

    def close(self) -> None:
        self._raw.close()


class CsvSource(_FileSource):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        sample = self._raw.read(65536)
        self._raw.seek(0)
        self.encoding = sniff_encoding(sample)
        head = sample.decode(self.encoding if self.encoding != "utf-8" else "utf-8", errors="ignore")
        head = head.lstrip("\ufeff")
        self.delimiter = sniff_delimiter(head)
        self._grouper = RecordGrouper(self.delimiter, MAX_LINE_BYTES)
        if self.encoding in ("utf-8", "utf-8-sig"):
            self._text = None
            lines: Iterator[Line] = self._utf8_lines()
        else:
            self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, errors="replace",
                                          newline="")
            lines = (Line(number, text) for number, text in enumerate(self._text, start=1))
        self.rows = self._rows(lines)

    def expect_rows(self, whole_row: Callable[[list[str]], bool]) -> None:
        """Once the header is known: ``whole_row`` tells a line that is a call row of its own,
        so a quote left open does not swallow the rows after it (see channels.hotline.quotes)."""
        self._grouper.whole_row = whole_row

    def _rows(self, lines: Iterator[Line]) -> Iterator[tuple[int, Any]]:
        """Rows numbered as a spreadsheet shows them, with ``row_note`` and
        ``row_literal_quote`` set from the physical lines each one spans."""
        number = 0
        for record in self._grouper.records(lines):
            note = _record_note(record)
            literal = any(line.literal for line in record)
            for cells in quotes.parse(record, self.delimiter) or [[]]:
                number += 1
                self.row_note, self.row_literal_quote = note, literal
                yield number, cells

    def _utf8_lines(self) -> Iterator[Line]:
        """Each physical line decoded on its own: UTF-8, else (a pasted Windows-1258 row)
        Windows-1258. A line longer than MAX_LINE_BYTES becomes one marker cell, so the reader
        rejects that row by number instead of failing the file."""
        number = 0
        for chunk in self._raw:
            for line in _CR_ALONE.split(chunk):  # \r, \n and \r\n all end a line (as newline="")
                number += 1
                yield _decode_line(number, line)

    def close(self) -> None:
        if self._text is not None:
            self._text.close()  # closes the file under it too
        else:
            self._raw.close()


def _decode_line(number: int, line: bytes) -> Line:
    if number == 1 and line.startswith(codecs.BOM_UTF8):
        line = line[3:]
    if len(line) > MAX_LINE_BYTES:
        return Line(number, f"{OVERLONG_MARK}{len(line)}\n")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = damaged_utf8_at(line)
        if at is not None:
            return Line(number, line.decode("utf-8", errors="replace"), ("damaged", at))
        return Line(number, line.decode("cp1258", errors="replace"), ("cp1258", exc.start))
    return Line(number, text, utf8_text=not line.isascii())


def _record_note(record: list[Line]) -> tuple[str, int] | None:
    """A damaged line anywhere makes the record damaged, else its first Windows-1258 line
    speaks for it. A quoted cell with UTF-8 Vietnamese on one line and a bad byte on another is
    one UTF-8 record with a damaged character, not a pasted Windows-1258 row."""
    note = None
    for line in record:
        if line.note is not None and (note is None or line.note[0] == "damaged"):
            note = line.note
    if note is not None and note[0] == "cp1258" and any(line.utf8_text for line in record):
        return ("damaged", note[1])
    return note


class XlsxSource(_Source):
    def __init__(self, path: Path, sheet: str | None) -> None:
        import openpyxl

        try:
            self._wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise ImportFormatError(f"not a readable XLSX workbook ({type(exc).__name__})") from None
        try:
            if sheet is not None:
                if sheet not in self._wb.sheetnames:
                    raise ImportFormatError(
                        f"no sheet named {sheet!r}; sheets: {', '.join(self._wb.sheetnames)}")
                ws = self._wb[sheet]
            else:
                ws = self._wb.worksheets[0]
        except BaseException:
            self._wb.close()
            raise
        self._max = max(1, ws.max_row or 1)
        self._seen = 0
        self.rows = self._iter(ws)

    def _iter(self, ws: Any) -> Iterator[tuple[int, Any]]:
        for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            self._seen = number
            yield number, values

    def progress(self) -> float:
        return min(1.0, self._seen / self._max)

    def close(self) -> None:
        self._wb.close()


class JsonlSource(_FileSource):
    """One JSON object per line; the keys are the headers. Row number = line number."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.rows = self._iter()

    def _iter(self) -> Iterator[tuple[int, Any]]:
        for number, line in enumerate(self._raw, start=1):
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[3:]
            if not line.strip():
                yield number, None
                continue
            if len(line) > MAX_LINE_BYTES:
                yield number, ValueError(f"line of {len(line)} bytes exceeds the limit of "
                                         f"{MAX_LINE_BYTES} bytes")
                continue
            try:
                obj = loads_bounded(line)
            except JSONRefused as exc:  # not JSON, or nested too deep: this row only
                yield number, ValueError(f"line is {'not valid JSON' if 'not valid' in str(exc) else str(exc)}")
                continue
            yield number, obj if isinstance(obj, dict) else ValueError("line is not a JSON object")



def open_source(path: Path, sheet: str | None = None) -> _Source:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return XlsxSource(path, sheet)
    if suffix in (".jsonl", ".ndjson"):
        return JsonlSource(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return CsvSource(path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic.startswith(b"PK\x03\x04"):
        return XlsxSource(path, sheet)
    if magic.lstrip()[:1] == b"{":
        return JsonlSource(path)
    return CsvSource(path)


_CP1258_FORMS: dict[str, str] = {}


def _cp1258_form(ch: str) -> str:
    import unicodedata

    form = _CP1258_FORMS.get(ch)
    if form is None:
        try:
            ch.encode("cp1258")
            form = ch
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            # The letter (a, â, ă, ơ, ư…) precomposed, the tone mark after it.
            tones = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
            form = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones)) + tones
        _CP1258_FORMS[ch] = form
    return form


def encode_cp1258(text: str) -> bytes:
    """Text as Windows-1258 (what Excel in Vietnam writes): the letters it has (â ê ô ơ ư ă đ)
    precomposed, tone marks as combining characters. For tests and benchmarks."""
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    table = {ord(ch): _cp1258_form(ch) for ch in set(text) if ord(ch) > 127}
    return text.translate(table).encode("cp1258")
