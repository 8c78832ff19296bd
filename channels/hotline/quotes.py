"""Physical lines of a CSV export → records, as the csv module would group them, except for a
quote that opens a cell and never closes where it should.

An operator who types ``"Người dân báo: cống tắc`` without the closing quote makes csv read
every following line into that one cell until the next quote or the end of the file: other
callers' rows (with their phone numbers) vanish into one description and the import counts
them nowhere. Excel writes a cell holding line breaks as a quoted cell over several lines, so
a quote open at the end of a line is not by itself a mistake. It is one when a line inside it
is a whole row of its own (``whole_row``: the header's number of cells, a call time in the time
column), when the file ends inside it, or when the cell would outgrow the largest line the
import accepts. Then that quote is read as a literal character, the row ends where its line
ends, and the swallowed lines are read again as rows of their own.
"""
from __future__ import annotations

import csv
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

QUOTE = '"'
# Stands in, for csv, for a quote read as a literal character (csv opens a quoted cell at a
# quote that starts a cell); the parsed cell gets its quote back.
_LITERAL = "\uffff"


@dataclass(slots=True)
class Line:
    number: int  # physical line, 1-based
    text: str  # with its line break
    note: tuple[str, int] | None = None  # what decoding noticed (see sources._Source.row_note)
    utf8_text: bool = False  # UTF-8 with non-ASCII letters
    literal: list[int] = field(default_factory=list)  # offsets of quotes read as characters


def scan_line(text: str, delimiter: str, quoted: bool, literal: list[int]) -> tuple[bool, int]:
    """Whether a quoted cell is still open at the end of this line, and the offset of its
    opening quote when it opened on this line (-1 when it opened on an earlier one). Follows
    csv's reading: a quote opens a cell only at the cell's start, ``""`` inside is a quote, and
    after the closing quote the cell runs on to the next separator."""
    if not quoted and QUOTE not in text:
        return False, -1
    at, opened = 0, -1
    while True:
        if quoted:
            close = text.find(QUOTE, at)
            while close >= 0 and text.startswith(QUOTE, close + 1):
                close = text.find(QUOTE, close + 2)
            if close < 0:
                return True, opened
            quoted, opened, at = False, -1, close + 1
        elif text.startswith(QUOTE, at) and at not in literal:
            quoted, opened, at = True, at, at + 1
            continue
        sep = text.find(delimiter, at)
        if sep < 0:
            return False, -1
        at = sep + 1


def parse(lines: list[Line], delimiter: str) -> list[list[str]]:
    """The cells of one record's lines (normally one row; never fewer rows than csv sees)."""
    if not any(line.literal for line in lines):
        return list(csv.reader([line.text for line in lines], delimiter=delimiter))
    texts = []
    for line in lines:
        text = line.text
        for at in line.literal:
            text = text[:at] + _LITERAL + text[at + 1:]
        texts.append(text)
    return [[QUOTE + cell[1:] if cell.startswith(_LITERAL) else cell for cell in row]
            for row in csv.reader(texts, delimiter=delimiter)]


class RecordGrouper:
    """Groups numbered physical lines into records. ``whole_row`` (set once the header is
    known) says whether a line's cells, read alone, make a call row."""

    def __init__(self, delimiter: str, max_chars: int) -> None:
        self.delimiter = delimiter
        self.max_chars = max_chars
        self.whole_row: Callable[[list[str]], bool] | None = None

    def records(self, source: Iterator[Line]) -> Iterator[list[Line]]:
        again: deque[Line] = deque()  # lines to read again after a quote was found literal
        pending: list[Line] = []
        quoted, opened, size = False, (0, 0), 0
        while True:
            line = again.popleft() if again else next(source, None)
            runaway = quoted and (line is None or size + len(line.text) > self.max_chars
                                  or self._is_whole_row(line))
            if runaway:
                index, at = opened
                pending[index].literal.append(at)
                if line is not None:
                    again.appendleft(line)
                again.extendleft(reversed(pending))
                pending, quoted, size = [], False, 0
                continue
            if line is None:
                return
            pending.append(line)
            size += len(line.text)
            quoted, at = scan_line(line.text, self.delimiter, quoted, line.literal)
            if not quoted:
                yield pending
                pending, size = [], 0
            elif at >= 0:
                opened = (len(pending) - 1, at)

    def _is_whole_row(self, line: Line) -> bool:
        if self.whole_row is None:
            return False
        cells = next(csv.reader([line.text], delimiter=self.delimiter), [])
        return self.whole_row(cells)
