"""JSON from untrusted bytes, bounded before it is parsed.

``json.loads`` recurses once per nesting level: a body of 100,000 ``[`` raises RecursionError
deep inside the parser (and a slightly shallower one can exhaust the C stack on some builds).
Every route that parses a request body checks size and depth first, cheaply: string literals
are cut out with one regular expression, then innermost ``[]``/``{}`` pairs are removed once per
level, each pass a C-speed ``bytes.replace``. No real provider payload is nested more than about
ten levels; ``MAX_DEPTH`` leaves a wide margin.

Parsed strings are also checked for what no database column can hold: an unpaired UTF-16
surrogate (``"\\ud800"``, or CESU-8 bytes, which ``json.loads`` decodes with surrogatepass) cannot
be encoded as UTF-8 (every write failed with UnicodeEncodeError), and PostgreSQL text refuses
the NUL character (``"\\u0000"``). ``text="replace"`` (the default: a provider's webhook, an
import line) turns an unpaired surrogate into U+FFFD, so the message is kept, and leaves NUL
(``json.dumps`` writes it back escaped, and the normalizer's text cleaning removes it from what
is stored); ``text="refuse"`` (the agency API, which stores fields as given) raises JSONRefused
naming the field, for a 400 the caller can act on.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

MAX_DEPTH = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


# Worth walking the parsed value only when the text could hold such a string: a \\u escape,
# UTF-8-encoded surrogates (ED A0..BF), or a UTF-16/32 body (a NUL or a BOM in the first bytes).
_SUSPECT = re.compile(rb"\\u|\xed[\xa0-\xbf]")
_SUSPECT_STR = re.compile("\\\\u|[\x00\ud800-\udfff]")
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


class JSONRefused(ValueError):
    """Bytes we will not parse; the message says why (never echoes the input). ``field`` names
    the string that is not storable text (``note``, ``a.b[2]``) when that was the reason."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def json_depth_ok(raw: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """True when no array/object in ``raw`` nests deeper than ``max_depth`` (strings ignored).
    Unbalanced brackets outside strings also answer False: that is not JSON either."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return True
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not brackets:
            return True
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(brackets):
            return False  # mismatched brackets: nothing left to pair
        brackets = shorter
    return not brackets


def _suspect(raw: bytes | str, data: bytes) -> bool:
    if isinstance(raw, str):
        return _SUSPECT_STR.search(raw) is not None
    return (b"\x00" in data[:4] or data[:2] in (b"\xff\xfe", b"\xfe\xff")
            or _SUSPECT.search(data) is not None)


def _storable(value: str) -> str:
    """Valid surrogate pairs joined (CESU-8 input), unpaired ones as U+FFFD (NUL kept)."""
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _field(path: str, key: object) -> str:
    """``path.key`` when the key is a plain name (never echo arbitrary input), else ``path.*``."""
    name = key if isinstance(key, str) and _NAME.fullmatch(key) else "*"
    return f"{path}.{name}" if path else name


def _text_checked(value: Any, path: str, refuse: bool) -> Any:
    if isinstance(value, str):
        if _BAD_TEXT.search(value) is None or (not refuse and _SURROGATE.search(value) is None):
            return value
        if refuse:
            where = path or "the body"
            raise JSONRefused(f"{where} is not valid text: it holds a NUL character or an unpaired "
                              "surrogate (\\u0000, \\ud800-\\udfff)", field=where)
        return _storable(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and (_BAD_TEXT if refuse else _SURROGATE).search(key):
                if refuse:
                    where = f"a key in {path}" if path else "a key"
                    raise JSONRefused(f"{where} is not valid text: it holds a NUL character or an "
                                      "unpaired surrogate (\\u0000, \\ud800-\\udfff)",
                                      field=path or None)
                key = _storable(key)
            out[key] = _text_checked(item, _field(path, key), refuse)
        return out
    if isinstance(value, list):
        return [_text_checked(item, f"{path}[{i}]", refuse) for i, item in enumerate(value)]
    return value


def loads_bounded(raw: bytes | str, *, max_bytes: int | None = None, max_depth: int = MAX_DEPTH,
                  parse: Callable[[bytes | str], Any] = json.loads,
                  text: Literal["replace", "refuse"] = "replace") -> Any:
    """Parse JSON text or raise JSONRefused: too large, nested too deep, or not JSON. Strings
    with an unpaired surrogate have U+FFFD in its place; with ``text="refuse"`` a string holding
    one or a NUL raises JSONRefused with ``field`` naming the first."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if max_bytes is not None and len(data) > max_bytes:
        raise JSONRefused(f"JSON larger than {max_bytes} bytes")
    if not json_depth_ok(data, max_depth):
        raise JSONRefused(f"JSON nested deeper than {max_depth} levels")
    try:
        value = parse(raw)
    except RecursionError:  # belt and braces: the scan above should make this unreachable
        raise JSONRefused(f"JSON nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise JSONRefused("not valid JSON") from exc
    if not _suspect(raw, data):
        return value
    return _text_checked(value, "", text == "refuse")
