"""Mail text, pure: charset decoding, HTML → text, quoted-history stripping.

Citizens write from Gmail, Outlook, Yahoo, Apple Mail and Vietnamese webmails; replies carry the
whole thread below (or above) the new text. We keep the full body and store only the new text.
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
QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "OutlookMessageHeader")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote_depth = 0
        # Open tags and whether each one opened a quote, so closing tags unwind correctly.
        self.stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag in SKIP_TAGS:
            self.skip += 1
        if tag in BLOCK_TAGS:
            self.out.append("\n")
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


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
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
SEPARATORS = re.compile(
    r"^\s*(-{2,}\s*(original message|ursprüngliche nachricht|thư gốc|tin nhắn gốc|message d'origine|"
    r"mensaje original)\s*-{2,}|_{10,}|-{10,})\s*$", re.IGNORECASE)
HEADER_FROM = re.compile(r"^\s*\*?(from|von|từ|de|người gửi)\s*:\*?\s", re.IGNORECASE)
HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|đã gửi|ngày|ngày gửi|envoyé|enviado|to|an|đến|subject|betreff|"
    r"chủ đề|tiêu đề)\s*:", re.IGNORECASE)


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


def _outlook_header_at(lines: list[str], i: int) -> bool:
    if not HEADER_FROM.match(lines[i]):
        return False
    following = [ln for ln in lines[i + 1:i + 5] if ln.strip()]
    return sum(1 for ln in following if HEADER_NEXT.match(ln)) >= 2


def strip_quoted(text: str) -> str:
    """The new text of a reply: cut at the first attribution or Outlook header/separator, drop
    '>' lines; keep signatures (they often carry the phone number)."""
    lines = text.split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if SEPARATORS.match(line) or _attribution_at(lines, i) or _outlook_header_at(lines, i):
            cut = i
            break
    kept = [ln for ln in lines[:cut] if not ln.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
