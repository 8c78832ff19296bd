"""Mail text, pure: charset decoding, HTML → text, quoted-history stripping, forwards.

Citizens write from Gmail, Outlook, Yahoo, Apple Mail and Vietnamese webmails; replies carry the
whole thread below (or above) the new text. We keep the full body and store only the new text.
A forward is the other way round: what matters is the forwarded mail (a neighbour's complaint,
its place), so its text is kept, after the forwarder's note, without its header lines.
"""
from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

# Tried in order when a part's declared charset is missing, unknown or wrong.
FALLBACK_CHARSETS = ("utf-8", "cp1258", "cp1252", "latin-1")
CHARSET_ALIASES = {"windows-1258": "cp1258", "x-viet-vps": "cp1258", "unicode-1-1-utf-7": "utf-7",
                   "ks_c_5601-1987": "euc-kr", "x-unknown": "utf-8", "unknown-8bit": "utf-8"}


def nfc(text: str) -> str:
    """NFC (iOS/macOS send NFD), CRLF → LF, no NULs."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", ""))


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset, else the usual suspects; never raises."""
    tried = []
    if charset:
        charset = charset.strip().strip('"').lower()
        tried.append(CHARSET_ALIASES.get(charset, charset))
    tried.extend(c for c in FALLBACK_CHARSETS if c not in tried)
    for name in tried:
        try:
            return nfc(data.decode(name))
        except (LookupError, UnicodeDecodeError):
            continue
    return nfc(data.decode("utf-8", errors="replace"))


def fix_header(value: str) -> str:
    """Raw 8-bit headers (RFC 6532 UTF-8, or legacy windows-1258) arrive surrogate-escaped."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        raw = value.encode("utf-8", errors="surrogateescape")
        value = decode_bytes(raw, None)
    return nfc(value).strip()


# --- HTML → text ------------------------------------------------------------------------------
BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
              "hr", "pre", "section", "article", "header", "footer", "blockquote", "dd", "dt"}
SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript"}
VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr", "source"}
# Our own mark between table cells (real tabs in the HTML become spaces before it is placed).
CELL = "\t"
QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "OutlookMessageHeader")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote_depth = 0
        # Open tags and whether each one opened a quote, so closing tags unwind correctly.
        self.stack: list[tuple[str, bool]] = []
        # Cells opened so far in each open table row (tables nest): the second and later cells
        # of a row get a CELL mark, so "<td>Vị trí</td><td>gần số 100</td>" does not run together.
        self.row_cells: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag in SKIP_TAGS:
            self.skip += 1
        if tag in BLOCK_TAGS:
            self.out.append("\n")
        if tag == "tr":
            self.row_cells.append(0)
        if tag in ("td", "th"):
            if self.row_cells:
                if self.row_cells[-1]:
                    self.out.append(CELL)
                self.row_cells[-1] += 1
            else:  # a cell outside any <tr> (sloppy HTML): still apart from what came before
                self.out.append(CELL)
        if tag == "li":
            self.out.append("- ")
        if tag in VOID_TAGS:
            return
        is_quote = tag == "blockquote" or any(c in attr.get("class", "") for c in QUOTE_CLASSES) \
            or attr.get("id") in ("divRplyFwdMsg", "appendonsend")
        self.stack.append((tag, is_quote))
        if is_quote:
            self.quote_depth += 1
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS and self.skip:
            self.skip -= 1
        if tag == "tr" and self.row_cells:
            self.row_cells.pop()
        if tag in BLOCK_TAGS:
            self.out.append("\n")
        # Unwind to the matching open tag (HTML in mail is often not well-formed).
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, was_quote in self.stack[i:]:
                    if was_quote:
                        self.quote_depth -= 1
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = re.sub(r"[ \t\r\n\f\u00a0]+", " ", data)
        if self.quote_depth:
            # Mark quoted lines the way plain-text mail does, so one stripper handles both.
            text = text.replace("\n", "\n> ")
            if not self.out or self.out[-1].endswith("\n"):
                text = "> " + text.lstrip()
        self.out.append(text)


def _join_cells(line: str) -> str:
    """One table row as one line: "label: value" for a two-cell row (the usual form layout),
    cells apart with " | " otherwise; empty (layout) cells are dropped."""
    cells = [c.strip() for c in line.split(CELL)]
    cells = [c for c in cells if c and c != ">"]
    quoted = line.lstrip().startswith(">")
    if len(cells) == 2:
        text = f"{cells[0]} {cells[1]}" if cells[0].endswith(":") else f"{cells[0]}: {cells[1]}"
    else:
        text = " | ".join(cells)
    return f"> {text.removeprefix('> ')}" if quoted and not text.startswith(">") else text


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [_join_cells(line) if CELL in line else line.strip()
             for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return nfc(re.sub(r"\n{3,}", "\n\n", text)).strip()


# --- quoted history ----------------------------------------------------------------------------
# A line (or two joined lines: Gmail wraps long attributions) that introduces quoted history.
ATTRIBUTION_END = re.compile(
    r"(wrote|schrieb|đã viết|viết|a écrit|escribió|ha scritto|schreef|написал\(а\)|написал)\s*:\s*$",
    re.IGNORECASE)
# "Am 17.07.2025 um 07:00 schrieb Name <a@b>:", "Le … a écrit :", "On … Name wrote:"
ATTRIBUTION_INNER = re.compile(r"\b(wrote|schrieb|đã viết|a écrit|escribió)\b.*:\s*$", re.IGNORECASE)
ATTRIBUTION_START = re.compile(r"^(on|am|vào|le|el|il|op|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{4}-\d{2}-\d{2})\b",
                               re.IGNORECASE)
# A named separator Outlook and webmails put above quoted (or forwarded) history.
SEPARATORS = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|thư gốc|tin nhắn gốc|message d'origine|"
    r"mensaje original)\s*-{2,}\s*$", re.IGNORECASE)
# A bare rule of dashes or underscores: Outlook's line above a From:/Sent: block, but just as
# often a citizen's own underline below a heading ("PHẢN ÁNH HIỆN TRƯỜNG\n-----"). Quoted
# history only when a header block follows it.
RULE = re.compile(r"^\s*(_{10,}|-{10,})\s*$")
# Marks a forwarded mail in its forwarder's text (Gmail, Thunderbird, Apple Mail, Yahoo,
# Outlook web, their Vietnamese, German, French and Spanish forms).
FORWARD_MARKER = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|thư đã chuyển tiếp|thư chuyển tiếp|tin nhắn đã chuyển tiếp|"
    r"weitergeleitete nachricht|message transféré|mensaje reenviado)\s*-{2,}|"
    r"begin forwarded message\s*:|bắt đầu thư được chuyển tiếp\s*:)\s*$", re.IGNORECASE)
HEADER_FROM = re.compile(r"^\s*\*?(from|von|từ|de|người gửi)\s*:\*?\s", re.IGNORECASE)
HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|đã gửi|ngày|ngày gửi|envoyé|enviado|to|an|đến|subject|betreff|"
    r"chủ đề|tiêu đề)\s*:", re.IGNORECASE)
HEADER_SUBJECT = re.compile(r"^\s*\*?(subject|betreff|objet|asunto|chủ đề|tiêu đề)\s*:", re.IGNORECASE)
# Any line of a forwarded mail's header block (Thunderbird puts Subject first, Gmail adds Cc).
HEADER_ANY = re.compile(
    r"^\s*\*?(from|von|từ|de|người gửi|sent|date|gesendet|datum|đã gửi|ngày|ngày gửi|envoyé|"
    r"enviado|to|an|à|para|đến|người nhận|cc|bcc|reply-to|subject|betreff|objet|asunto|chủ đề|"
    r"tiêu đề)\s*:", re.IGNORECASE)


def _attribution_at(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if not line:
        return False
    if ATTRIBUTION_END.search(line) and (ATTRIBUTION_START.search(line) or "@" in line or "<" in line):
        return True
    if ATTRIBUTION_START.search(line) and ATTRIBUTION_INNER.search(line) and len(line) < 300:
        return True
    if i + 1 < len(lines) and ATTRIBUTION_START.search(line):
        joined = f"{line} {lines[i + 1].strip()}"
        return bool(ATTRIBUTION_END.search(joined)) and len(joined) < 300
    return False


def _outlook_header_at(lines: list[str], i: int, forwarded: bool = False) -> bool:
    """A From:/Sent:/To: block. ``forwarded``: one in a mail that answers nothing, which must
    also name a Subject, as Outlook's always do: a citizen's own "Từ: 7h / Đến: 9h / Ngày: 5/7"
    is no forwarded mail."""
    if not HEADER_FROM.match(lines[i]):
        return False
    following = [ln for ln in lines[i + 1:i + 5] if ln.strip()]
    if forwarded and not any(HEADER_SUBJECT.match(ln) for ln in following):
        return False
    return sum(1 for ln in following if HEADER_NEXT.match(ln)) >= 2


def _next_filled(lines: list[str], i: int) -> int | None:
    for j in range(i, min(len(lines), i + 4)):
        if lines[j].strip():
            return j
    return None


def _rule_above_header(lines: list[str], i: int, forwarded: bool = False) -> bool:
    """A dashed/underscore rule that Outlook puts above a From:/Sent:/To: block."""
    nxt = _next_filled(lines, i + 1)
    return (bool(RULE.match(lines[i])) and nxt is not None
            and _outlook_header_at(lines, nxt, forwarded))


def _quote_follows(lines: list[str], i: int) -> bool:
    """An attribution is a real quote header when '>' lines come right after it (one of its
    own lines may be a wrapped continuation)."""
    return any(ln.lstrip().startswith(">") for ln in lines[i + 1:i + 4])


def strip_quoted(text: str, reply: bool = True) -> str:
    """The new text of a reply: cut at the first attribution, named separator or Outlook header
    block (with its rule), drop '>' lines; keep signatures (they often carry the phone number).

    ``reply=False`` (a mail that answers nothing): cut only at an attribution followed by '>'
    lines. Outlook blocks and rules there are no quote: a citizen underlines a heading, and an
    Outlook block in a mail that is no reply is a forward (``unfold_forward``)."""
    lines = text.split("\n")
    # Outlook's HTML marks its From:/Sent: block as a quote but not the history below it.
    unquoted = [_unquote(ln) for ln in lines]
    cut = len(lines)
    for i, line in enumerate(lines):
        if reply and (SEPARATORS.match(line) or _rule_above_header(lines, i)
                      or _outlook_header_at(unquoted, i) or _attribution_at(lines, i)):
            cut = i
            break
        if not reply and _attribution_at(lines, i) and _quote_follows(lines, i):
            cut = i
            break
    kept = [ln for ln in lines[:cut] if not ln.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


# --- forwards ----------------------------------------------------------------------------------
def forward_start(text: str, reply: bool = False) -> int | None:
    """Line index where a forwarded mail begins: a forward marker, a named separator, a rule
    above a header block or a From:/Sent:/To: block. None when the text shows no forward.
    In a reply only an explicit forward marker counts (the rest are its quoted history)."""
    lines = [_unquote(ln) for ln in text.split("\n")]
    for i, line in enumerate(lines):
        if FORWARD_MARKER.match(line):
            return i
        if not reply and (SEPARATORS.match(line) or _rule_above_header(lines, i, forwarded=True)
                          or _outlook_header_at(lines, i, forwarded=True)):
            return i
    return None


def _unquote(line: str) -> str:
    """A line without its '>' quote marks (HTML forwards sit inside a quote block)."""
    return re.sub(r"^\s*(>\s?)+", "", line)


def unfold_forward(text: str) -> str:
    """A forwarded mail as a report: the forwarder's note first, then the forwarded text.

    The forward markers and the forwarded header lines (From/Date/Subject/To: a third party's
    name and address, not the complaint) are dropped; the forwarded body, which says what and
    where, is kept (also of a forward inside the forward)."""
    start = forward_start(text)
    if start is None:
        return re.sub(r"\n{3,}", "\n\n", text).strip()
    raw_lines = text.split("\n")
    note = strip_quoted("\n".join(raw_lines[:start]), reply=False)
    lines = [_unquote(ln) for ln in raw_lines[start:]]
    body: list[str] = []
    in_headers = False
    for i, line in enumerate(lines):
        if (FORWARD_MARKER.match(line) or SEPARATORS.match(line)
                or _rule_above_header(lines, i, forwarded=True)):
            in_headers = True
            continue
        if not in_headers and _outlook_header_at(lines, i, forwarded=True):
            in_headers = True
        if in_headers:
            if HEADER_ANY.match(line):
                continue
            if not line.strip():
                nxt = _next_filled(lines, i + 1)
                if nxt is not None and HEADER_ANY.match(lines[nxt]):
                    continue
            in_headers = False
        body.append(line)
    forwarded = "\n".join(body).strip()
    joined = f"{note}\n\n{forwarded}" if note and forwarded else note or forwarded
    return re.sub(r"\n{3,}", "\n\n", joined).strip()
