"""Ward hints on the call form match whole words (the last one may be the beginning of a word):
"Phú Hậu" does not offer "Hóa Châu" ("hau" inside "chau"), "p. Tây Lộc" does not offer every
"…Lộc" commune, "thuan h" still finds Thuận Hóa."""
from __future__ import annotations

from web.console.calls import _ward_matches


def test_ward_hints_match_words_not_substrings() -> None:
    assert "Phường Hóa Châu" not in _ward_matches("kiệt 5 Chi Lăng, Phú Hậu")
    assert _ward_matches("p. Tây Lộc") == []
    assert _ward_matches("thuan h") == ["Phường Thuận Hóa"]
    assert _ward_matches("12 Lê Lợi, phường Thuận Hóa") == ["Phường Thuận Hóa"]
    assert _ward_matches("p. Phú Xuân") == ["Phường Phú Xuân"]
    assert "Xã Vinh Lộc" in _ward_matches("vinh")
