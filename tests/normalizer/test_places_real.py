"""Places in real citizens' reports (issue 14: "every held-out report's ward, old or new name,
with or without diacritics"). The Hue-S reports of the real held-out split that name a unit —
a ward or commune before the 2025 mergers or after, a market or a sports ground named after
one — each with the current unit it lies in, read from the text and checked against the
gazetteer's merger table (normalizer/data/hue_places.json). The other held-out Hue-S reports
name only streets, lanes, bridges, buildings, villages and resettlement areas, or a former
district wider than one unit (read one by one): they must not be given a ward at all (the
center decides)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from normalizer.places import resolve_place
from normalizer.text import fold

HELD_OUT = Path(__file__).resolve().parents[1] / "fixtures" / "classify" / "real" / "test.jsonl"

# id → current unit (what the text names: old or new name, with or without its prefix)
NAMED = {
    "real-7b32b9952d": "Phường Vỹ Dạ",       # "phường Xuân Phú" (merged into Vỹ Dạ)
    "real-2fbc173a50": "Phường Mỹ Thượng",   # "phường Mỹ Thượng" (current name)
    "real-85f5380820": "Phường Mỹ Thượng",   # title "sân bóng phú thượng" (old Phú Thượng)
    "real-b1c652f196": "Phường Phú Bài",     # title "chợ phú bài"
    "real-f245e4f1fe": "Phường Phong Dinh",  # "xã Phong Bình, Thị xã Phong Điền"
    "real-a13e20b6e5": "Xã Quảng Điền",      # "xã Quảng điền" (current commune)
    "real-68ff1255de": "Phường Phú Xuân",    # "chợ Đông Ba" (old Đông Ba ward)
    "real-6c7faf3f95": "Phường Phú Xuân",    # "phường Thuận Hoà" (old Thuận Hòa), see below
    # held out from the fifth and sixth rounds of the real corpus
    "real-1d8f10029d": "Phường Phú Xuân",    # "phường Phú Xuân" (current name)
    "real-f7e30f4247": "Xã Quảng Điền",      # "xã Quảng Thọ" (merged into Quảng Điền)
    # held out from the eighth round
    "real-db0fd66088": "Phường Thuận Hóa",   # "phường Trường An" (merged into Thuận Hóa)
}
# Without diacritics "phuong thuan hoa" is both the old Thuận Hòa (now in Phú Xuân) and the
# current Thuận Hóa; the resolver gives a current unit's own name precedence over old
# homonyms (normalizer/places.py), right for today's reports, wrong for this one of 2021.
FOLDED_HOMONYM = {"real-6c7faf3f95": "Phường Thuận Hóa"}


def held_out_hue_s() -> dict[str, str]:
    if not HELD_OUT.exists():
        pytest.skip("the real corpus is not in this checkout")
    rows = [json.loads(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines()]
    return {r["id"]: r["text"] for r in rows if r["source"] == "hue-s"}


def test_every_named_unit_is_found_with_and_without_diacritics() -> None:
    texts = held_out_hue_s()
    assert set(NAMED) <= set(texts)
    for rid, unit in NAMED.items():
        assert resolve_place(texts[rid], None, None, "Huế").ward == unit, rid
        folded = resolve_place(fold(texts[rid]), None, None, "Huế")
        assert folded.ward == FOLDED_HOMONYM.get(rid, unit), rid


def test_reports_that_name_no_unit_get_no_ward() -> None:
    texts = held_out_hue_s()
    for rid, text in texts.items():
        if rid in NAMED:
            continue
        for variant in (text, fold(text)):
            assert resolve_place(variant, None, None, "Huế").ward is None, (rid, variant[:120])
