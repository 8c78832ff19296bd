"""Query and path parameters: integers are parsed and bounded here, so no client value reaches
the database as an out-of-range number (a 400 or 404, never a 500)."""
from __future__ import annotations

MAX_OFFSET = 1_000_000_000
MAX_ID = 2**62


def query_int(raw: str | None, default: int, low: int, high: int) -> int:
    """An integer query parameter clamped to [low, high]; ValueError when it is not an integer."""
    if raw is None or raw.strip() == "":
        return default
    return min(max(int(raw), low), high)


def path_id(raw: str) -> int | None:
    """A numeric id from the path, or None when it cannot name a row."""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 < value < MAX_ID else None
