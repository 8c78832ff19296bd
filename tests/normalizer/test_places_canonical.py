"""A ward a person names (a filter, a form) resolves to the current unit: any spelling of the
current name, or an old (pre-July 2025) name that went to exactly one current unit."""
from __future__ import annotations

import pytest

from normalizer.places import canonical_ward, list_wards


@pytest.mark.parametrize(("given", "unit"), [
    ("Phường Thuận Hóa", "Phường Thuận Hóa"),
    ("thuan hoa", "Phường Thuận Hóa"),
    ("PHUONG THUAN HOA", "Phường Thuận Hóa"),
    ("Vĩnh Ninh", "Phường Thuận Hóa"),  # old ward, merged into Thuận Hóa
    ("phuong duc", "Phường Thuận Hóa"),  # old "Phường Đúc", typed without diacritics
    ("vy da", "Phường Vỹ Dạ"),
    ("Xã Phú Vang", "Xã Phú Vang"),
])
def test_names_resolve_to_the_current_unit(given: str, unit: str) -> None:
    assert canonical_ward(given) == unit


@pytest.mark.parametrize("given", ["bogus", "", "   ", "Phường", "Quận 1"])
def test_unknown_names_resolve_to_nothing(given: str) -> None:
    assert canonical_ward(given) is None


def test_every_current_unit_resolves_to_itself() -> None:
    assert all(canonical_ward(w) == w for w in list_wards())


def test_another_province_has_no_wards_here() -> None:
    assert canonical_ward("Phường Bến Nghé", province="Hồ Chí Minh") is None
