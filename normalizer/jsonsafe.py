"""JSON from untrusted bytes, bounded before it is parsed.

``json.loads`` recurses once per nesting level: a body of 100,000 ``[`` raises RecursionError
deep inside the parser (and a slightly shallower one can exhaust the C stack on some builds).
Every route that parses a request body checks size and depth first, cheaply: string literals
are cut out with one regular expression, then innermost ``[]``/``{}`` pairs are removed once per
level, each pass a C-speed ``bytes.replace``. No real provider payload is nested more than about
ten levels; ``MAX_DEPTH`` leaves a wide margin.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class JSONRefused(ValueError):
    """Bytes we will not parse; the message says why (never echoes the input)."""


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


def loads_bounded(raw: bytes | str, *, max_bytes: int | None = None, max_depth: int = MAX_DEPTH,
                  parse: Callable[[bytes | str], Any] = json.loads) -> Any:
    """Parse JSON text or raise JSONRefused: too large, nested too deep, or not JSON."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if max_bytes is not None and len(data) > max_bytes:
        raise JSONRefused(f"JSON larger than {max_bytes} bytes")
    if not json_depth_ok(data, max_depth):
        raise JSONRefused(f"JSON nested deeper than {max_depth} levels")
    try:
        return parse(raw)
    except RecursionError:  # belt and braces: the scan above should make this unreachable
        raise JSONRefused(f"JSON nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise JSONRefused("not valid JSON") from exc
