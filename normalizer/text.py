"""Vietnamese text for matching: NFC, folding, abbreviations, legacy encodings.

The original text is always kept by the caller; these functions make *matching keys*.
"""
from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
# Zero-width characters and the BOM that phones and copy-paste leave inside words.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Characters NFD does not decompose, and look-alikes people type for đ.
_FOLD_EXTRA = str.maketrans({
    "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ɖ": "d", "Ɖ": "d",
    "\u2013": "-", "\u2014": "-", "\u2212": "-",  # dashes (gazetteer writes "Chân Mây - Lăng Cô")
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u00a0": " ",
})


def nfc(s: str | None) -> str:
    """NFC form (iOS/macOS send NFD; Windows-1258 decodes to decomposed text)."""
    if not s:
        return ""
    return unicodedata.normalize("NFC", s.translate(_INVISIBLE))


def fold(s: str | None) -> str:
    """Matching key: lower case, no diacritics, đ→d, dashes/quotes unified, whitespace collapsed.

    Both tone-mark placements ("hoà"/"hòa", "thuỷ"/"thủy") and NFC/NFD input give the
    same key, because every combining mark is dropped.
    """
    if not s:
        return ""
    if s.isascii():  # every special case below is a non-ASCII character
        return " ".join(s.lower().split())
    # Per character: invisible → "", _FOLD_EXTRA, NFD, combining marks dropped (_BARE); then, on
    # the whole string as before, lower case (Σ's lower case depends on its neighbours) and
    # _FOLD_EXTRA again. Same key as the step-by-step fold (its reference in
    # tests/normalizer/test_normalizer_speed.py), several times faster.
    bare = s.translate(_BARE).lower()
    if not bare.isascii():  # every key of _FOLD_EXTRA is non-ASCII
        bare = bare.translate(_FOLD_EXTRA)
    return " ".join(bare.split())  # str.split() and the \s of _WS agree on every character


def _bare_char(ch: str) -> str:
    """One character through fold's per-character steps (before lower case)."""
    decomposed = unicodedata.normalize("NFD", ch.translate(_INVISIBLE).translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _BareTable(dict[int, str]):
    """str.translate table of _bare_char, filled on first sight of a character. Bounded: past
    _BARE_MAX entries new characters are computed every time, not stored."""

    def __missing__(self, code: int) -> str:
        out = _bare_char(chr(code))
        if len(self) < _BARE_MAX:
            self[code] = out
        return out


_BARE_MAX = 20_000
_BARE = _BareTable()
for _code in [*range(0x80, 0x250), *range(0x300, 0x370), *range(0x1E00, 0x1F00)]:
    _BARE[_code] = _bare_char(chr(_code))


# Old-style ("hoà", "khoẻ", "thuỷ") → new-style ("hòa", "khỏe", "thủy") tone placement, for
# comparing accented names. Folding makes this unnecessary for matching.
_TONED = {"à": "a", "á": "a", "ả": "a", "ã": "a", "ạ": "a", "è": "e", "é": "e", "ẻ": "e",
          "ẽ": "e", "ẹ": "e", "ỳ": "y", "ý": "y", "ỷ": "y", "ỹ": "y", "ỵ": "y"}
_OLD_TONE = re.compile(r"(?i)(?<!q)(o(?=[àáảãạèéẻẽẹ])|u(?=[ỳýỷỹỵ]))(.)(?![^\W\d_])")


def unify_tone_placement(s: str) -> str:
    """Move the tone mark of a syllable-final "oa", "oe", "uy" onto its first vowel
    ("hoà" → "hòa", "thuỷ" → "thủy"); "hoàng", "thuyền", "quý" are left alone."""
    def move(m: re.Match[str]) -> str:
        first, second = m.group(1), m.group(2)
        base = _TONED[second.lower()]
        mark = unicodedata.normalize("NFD", second)[1:]
        moved = unicodedata.normalize("NFC", first + mark)
        return moved + (base.upper() if second.isupper() else base)

    return _OLD_TONE.sub(move, nfc(s))


# Abbreviations and teencode citizens use, in folded form. Token-level only (whole words),
# so "k" in "5k" or "ko" inside a word is left alone.
ABBREVIATIONS: dict[str, str] = {
    # negation and everyday words
    "ko": "khong", "k": "khong", "kg": "khong", "kh": "khong", "khg": "khong", "hok": "khong",
    "hk": "khong", "khum": "khong",  # not "hong"/"hem": they fold from "hỏng", "hẻm"
    "dc": "duoc", "dk": "duoc", "dx": "duoc",
    "j": "gi", "ji": "gi", "r": "roi", "rui": "roi", "oy": "roi", "ruj": "roi",
    "vs": "voi", "ns": "noi", "bn": "bao nhieu", "mn": "moi nguoi", "mng": "moi nguoi",
    "ng": "nguoi", "ngta": "nguoi ta", "trc": "truoc", "cx": "cung", "cg": "cung",
    "bik": "biet", "bit": "biet", "bjo": "bay gio", "bh": "bao gio", "h": "gio",
    "lun": "luon", "wa": "qua", "qa": "qua", "z": "vay", "v": "vay", "thik": "thich",
    "mik": "minh", "mk": "minh", "nc": "nuoc", "nt": "nhan tin", "ntn": "nhu the nao",
    "lm": "lam", "ms": "moi", "tr": "troi", "ak": "a", "e": "em", "b": "ban", "t": "toi",
    "nhiu": "nhieu", "hnay": "hom nay", "hqua": "hom qua", "vd": "vi du",
    "dt": "dien thoai", "sdt": "so dien thoai", "stk": "so tai khoan",
    # places and administration
    "p": "phuong", "p.": "phuong", "ph.": "phuong", "x.": "xa", "q": "quan", "q.": "quan",
    "tp": "thanh pho", "tp.": "thanh pho", "tx": "thi xa", "h.": "huyen",
    "tdp": "to dan pho", "kp": "khu pho", "ql": "quoc lo", "tl": "tinh lo", "dt.": "duong tinh",
    "dg": "duong", "d.": "duong", "kdc": "khu dan cu", "kdt": "khu do thi",
    "kcn": "khu cong nghiep", "ubnd": "uy ban nhan dan", "ub": "uy ban",
    "hdnd": "hoi dong nhan dan", "cb": "can bo", "cbcc": "can bo cong chuc",
    "tthc": "thu tuc hanh chinh", "cs": "canh sat", "csgt": "canh sat giao thong",
    "tnxh": "te nan xa hoi", "antt": "an ninh trat tu", "attt": "an ninh trat tu",
    "atgt": "an toan giao thong", "ttxd": "trat tu xay dung", "xd": "xay dung",
    "vsmt": "ve sinh moi truong", "mt": "moi truong", "gt": "giao thong",
    "cty": "cong ty", "ks": "khach san", "hdv": "huong dan vien",
    "hn": "ha noi", "hcm": "ho chi minh", "sg": "sai gon",
    "gplx": "giay phep lai xe", "gpxd": "giay phep xay dung", "cccd": "can cuoc cong dan",
    "cmnd": "chung minh nhan dan", "gcn": "giay chung nhan", "tg": "thoi gian",
}
_TOKEN = re.compile(r"[\w.]+|[^\w\s]", re.UNICODE)
_ABBR_KEYS = {k for k in ABBREVIATIONS if " " not in k}


def expand_abbreviations(folded: str) -> str:
    """Expand abbreviations/teencode in an already-folded string, word by word.

    "p.thuy xuan ko dc" → "phuong thuy xuan khong duoc". Words glued to a "p." / "q." / "tp."
    prefix ("p.an cuu") are split off first. "k"/"k." before a number is a Huế lane
    ("k12/5 le loi", "k. 12" → "kiet 12"), not "không".
    """
    if not folded:
        return ""
    tokens = folded.split()
    if "." in folded:  # a glued prefix has its dot second or third: "p.an", "tp.hue"
        tokens = [tok for raw in tokens for tok in (_split_prefix(raw) if "." in raw[1:3] else (raw,))]
    plain = _PLAIN
    words = []
    for i, tok in enumerate(tokens):
        if tok in plain:  # most words: no abbreviation, not a lane ("kiệt")
            words.append(tok)
            continue
        core = tok.rstrip(",;:!?")
        if core[:1] != "k" and (core if core in ABBREVIATIONS else core.rstrip(".")) not in ABBREVIATIONS:
            if len(plain) < _PLAIN_MAX:
                plain.add(tok)
            words.append(tok)
            continue
        trail = tok[len(core):]
        key = core if core in ABBREVIATIONS else core.rstrip(".")
        if key == "k" or key.startswith("k.") or _KIET.match(core):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            glued = _KIET.match(core)
            if glued:
                words.append("kiet " + core[glued.end(1):] + trail)
                continue
            if nxt[:1].isdigit():
                words.append("kiet" + trail)
                continue
        if key in ABBREVIATIONS:
            words.append(ABBREVIATIONS[key] + core[len(key):] + trail)
        else:
            words.append(tok)
    return " ".join(words)


# Tokens seen to need no expansion whatever their neighbours (bounded: a cache, not a vocabulary).
_PLAIN: set[str] = set()
_PLAIN_MAX = 50_000
_KIET = re.compile(r"^(k\.?)\d")
_PREFIX = re.compile(r"^(p|ph|x|q|tp|tx|tt|h|d|đ)\.(?=[a-z])")


def _split_prefix(word: str) -> list[str]:
    m = _PREFIX.match(word)
    if m:
        return [m.group(0), word[m.end():]]
    return [word]


def decode_legacy(data: bytes) -> str:
    """Decode bytes of unknown Vietnamese encoding, then NFC.

    BOM-marked UTF-8/UTF-16 first, then strict UTF-8, then Windows-1258 (old Windows
    exports and hotline CSVs; it decodes to base letters + combining tone marks), then
    Latin-1 as a last resort that never fails.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return nfc(data[3:].decode("utf-8", errors="replace"))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return nfc(data.decode("utf-16", errors="replace"))
    for encoding in ("utf-8", "cp1258"):
        try:
            return nfc(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    return nfc(data.decode("latin-1"))
