"""Which current ward/commune (phường/xã, since 1 July 2025) a report concerns.

From coordinates (channel location) or from address text: ward names with or without
diacritics, "p."/"P."/"phuong"/"xa" prefixes, names from before the 2025 mergers (resolved to
the unit they became), with kiệt/hẻm/tổ dân phố/thôn/street noise around them. A place that is
ambiguous or missing is left empty for the center: never guessed.

Data: normalizer/data/hue_places.json (built by tools/build_gazetteer.py). The gazetteer has
no polygons; coordinates are matched against the centroids of the wards of Jan–Jun 2025 (mapped to
the unit each became) and of the 40 current units: nearest point wins. Finer than the 40
current centroids alone, but still an approximation near boundaries (confidence says so).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from normalizer.text import fold, nfc, unify_tone_placement

DATA = Path(__file__).parent / "data" / "hue_places.json"

PlaceSource = Literal["coordinates", "text"]


@dataclass(frozen=True, slots=True)
class PlaceResult:
    ward: str | None = None  # current unit's official name, e.g. "Phường Thuận Hóa"
    confidence: float = 0.0
    source: PlaceSource | None = None
    matched: str | None = None  # the name seen in the text (old name or alias), as written


NO_PLACE = PlaceResult()

# Tokens (folded) before a name that say what kind of unit follows.
_WARD_PREFIX = {"phuong": "phường", "p": "phường", "ph": "phường", "f": "phường",
                "xa": "xã", "x": "xã", "tt": "thị trấn"}
_TWO_WORD_PREFIX = {("thi", "tran"): "thị trấn", ("thi", "xa"): "district",
                    ("thanh", "pho"): "district"}
_DISTRICT_PREFIX = {"quan", "q", "huyen", "h", "tx", "tp", "thixa"}
# A name right after these is a street, lane, bridge or village named after the place.
_BLOCKERS = {"duong", "d", "pho", "kiet", "k", "hem", "ngo", "ngach", "cau", "thon", "xom",
             "ap", "khoi", "ql", "tl", "song", "ben", "truong", "cong", "nga", "cum", "lang",
             "deo", "nui"}
# Punctuation between a blocker and a name: they are not one phrase ("Chi Lăng, Phú Hậu").
_PUNCT_GAP = re.compile(r"[,;.:()/\-–—]")
# Bare (unprefixed) keys that are also everyday words.
_BARE_STOP = {"nham", "phu gia", "an tay", "an dong", "loc an", "phu an", "hong ha", "a ngo",
              "son thuy", "trung son", "phu son", "an hoa", "huong hoa", "phu hoa", "xuan loc"}
# Capitalised words that may follow a bare ward name without being part of it.
_NAME_ENDS = {"hue", "tp", "thanh", "tinh", "quan", "huyen", "thi", *_WARD_PREFIX, *_DISTRICT_PREFIX}
_HUE_KEYS = {"hue", "thua thien hue", "tt hue"}
_OTHER_PROVINCES = (
    "ha noi", "ho chi minh", "sai gon", "da nang", "quang tri", "quang nam", "quang binh",
    "quang ngai", "hai phong", "can tho", "nghe an", "ha tinh", "thanh hoa", "binh dinh",
    "khanh hoa", "nha trang", "dak lak", "gia lai", "kon tum", "lam dong", "da lat",
    "dong nai", "binh duong", "vung tau", "quang ninh", "hai duong", "nam dinh", "thai binh",
    "ninh binh", "bac ninh", "vinh phuc", "phu tho", "lao cai", "an giang", "kien giang",
    "ca mau", "bac lieu", "soc trang", "tra vinh", "ben tre", "tien giang", "long an",
    "tay ninh", "binh phuoc", "ninh thuan", "binh thuan", "phu yen",
)
_PROVINCE_FIRSTS = frozenset(name.split()[0] for name in _OTHER_PROVINCES)
_WORD = re.compile(r"\w+")
# fold() of one word, remembered: reports repeat the same few thousand words.
_fold_word = lru_cache(maxsize=65_536)(fold)
_MAX_SITE_KM = 8.0  # farther than this from every reference point: not in the province


@dataclass(frozen=True, slots=True)
class _Entry:
    unit: str
    accented: str  # short name as written by the source ("Thuận Hòa")
    type: str
    districts: frozenset[str]  # folded short names of the districts it belonged to
    current: bool


@dataclass(frozen=True, slots=True)
class _Gazetteer:
    units: tuple[dict, ...]
    index: dict[tuple[str, ...], tuple[_Entry, ...]]
    max_len: int
    district_keys: frozenset[tuple[str, ...]]
    sites: tuple[tuple[float, float, str], ...]
    bbox: tuple[float, float, float, float]
    firsts: frozenset[str]  # first word of every index and district key: no name starts elsewhere


def _district_short(name: str) -> str:
    return fold(re.sub(r"^(Quận|Huyện|Thị xã|Thành phố) ", "", name))


def _key(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


def _short(name: str) -> tuple[str, str]:
    for t in ("Thị trấn", "Phường", "Xã"):
        if name.startswith(t + " "):
            return t.lower(), name[len(t) + 1:]
    return "", name


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    formed: dict[str, set[str]] = {}
    for a in raw["aliases"]:
        formed.setdefault(a["unit"], set()).add(_district_short(a["district"]))
    entries: dict[tuple[str, ...], list[_Entry]] = {}
    for u in raw["units"]:
        typ, short = _short(u["name"])
        entries.setdefault(_key(short), []).append(
            _Entry(u["name"], short, typ, frozenset(formed.get(u["name"], ())), True))
    for a in raw["aliases"]:
        entries.setdefault(_key(a["name"]), []).append(
            _Entry(a["unit"], a["name"], a["type"], frozenset({_district_short(a["district"])}), False))
    districts = {tuple(_district_short(d).split()) for d in raw["districts"]} - {("hue",)}
    pts = raw["points"]
    sites = [(p["lat"], p["lon"], p["unit"]) for p in pts] + [(u["lat"], u["lon"], u["name"]) for u in raw["units"]]
    lats = [p["bbox"][0] for p in pts] + [p["bbox"][2] for p in pts] + [lat for lat, _, _ in sites]
    lons = [p["bbox"][1] for p in pts] + [p["bbox"][3] for p in pts] + [lon for _, lon, _ in sites]
    return _Gazetteer(
        units=tuple(raw["units"]),
        index={k: tuple(v) for k, v in entries.items()},
        max_len=max(len(k) for k in entries),
        district_keys=frozenset(districts),
        sites=tuple(sites),
        bbox=(min(lats) - 0.02, min(lons) - 0.02, max(lats) + 0.02, max(lons) + 0.02),
        firsts=frozenset(k[0] for k in [*entries, *districts] if k),
    )


def _is_hue(province: str) -> bool:
    key = fold(province)
    key = re.sub(r"^(tinh|thanh pho|tp\.?) ", "", key)
    return key in _HUE_KEYS


def ward_key(name: str) -> str:
    """The key two spellings of one ward share: folded, without "phường"/"xã"/"thị trấn"
    ("Phường Thuận Hóa" and "thuan hoa" are the same ward). Used by routing and settings."""
    folded = fold(name)
    for prefix in ("phuong ", "xa ", "thi tran "):
        if folded.startswith(prefix):
            return folded[len(prefix):]
    return folded


def list_wards(province: str = "Huế") -> list[str]:
    """Current (since 1 July 2025) ward/commune names of the province; [] when unknown."""
    if not _is_hue(province):
        return []
    return [u["name"] for u in _gazetteer().units]


@lru_cache(maxsize=4096)
def canonical_ward(name: str, province: str = "Huế") -> str | None:
    """The current ward/commune a name given by a person means: the current name however it is
    spelt ("thuan hoa", "Phường Thuận Hóa"), or an old name (before 1 July 2025) that became
    exactly one current unit ("Vĩnh Ninh" → "Phường Thuận Hóa"). None when it names no unit
    or old units of one name went to different current ones."""
    key = ward_key(name)
    if not key or not _is_hue(province):
        return None
    for unit in _gazetteer().units:
        if ward_key(unit["name"]) == key:
            return unit["name"]
    index = _gazetteer().index
    units = {e.unit for k in {tuple(key.split()), _key(name)} for e in index.get(k, ())}
    return units.pop() if len(units) == 1 else None


# --- coordinates -------------------------------------------------------------------------

def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


def _from_coordinates(lat: float, lon: float) -> tuple[PlaceResult, dict[str, float]]:
    """Nearest reference point, mapped to its current unit.

    Reference points: the centroids of the Jan–Jun 2025 wards (each mapped to the unit it
    became; a few geocoding failures are dropped at build time) and of the 40 current units.
    Without polygons this is a Voronoi approximation: confidence falls when another unit's
    nearest point is almost as close. Returns the result and the distance (km) to each of the
    nearest units, so a clear text mention can settle a boundary case."""
    g = _gazetteer()
    s, w, n, e = g.bbox
    if not (s <= lat <= n and w <= lon <= e):
        return NO_PLACE, {}
    nearest: dict[str, float] = {}
    for site_lat, site_lon, unit in g.sites:
        d = _km(lat, lon, site_lat, site_lon)
        if d < nearest.get(unit, math.inf):
            nearest[unit] = d
    ranked = sorted(nearest.items(), key=lambda kv: kv[1])
    (unit, best), (_, second) = ranked[0], ranked[1]
    if best > _MAX_SITE_KM:
        return NO_PLACE, {}
    ratio = best / max(second, 1e-6)
    confidence = 0.85 if ratio < 0.5 else 0.7 if ratio < 0.75 else 0.5
    return PlaceResult(unit, confidence, "coordinates", None), dict(ranked[:4])


# --- text --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Mention:
    units: frozenset[str]
    strength: int  # 2: typed ("phường X"), 1: bare name
    confidence: float
    matched: str


def _prefix(folded: list[str], start: int) -> str:
    """'phường'/'xã'/'thị trấn', 'district', 'blocked' or '' for the name starting at start."""
    prev = folded[start - 1] if start >= 1 else ""
    prev2 = folded[start - 2] if start >= 2 else ""
    if (prev2, prev) in _TWO_WORD_PREFIX:
        return _TWO_WORD_PREFIX[(prev2, prev)]
    if prev in _WARD_PREFIX:
        return _WARD_PREFIX[prev]
    if prev in _DISTRICT_PREFIX:
        return "district"
    if prev in _BLOCKERS or (prev == "dan" and prev2 == "to"):
        return "blocked"
    return ""


def _accent_key(words: list[str]) -> str:
    return unify_tone_placement(" ".join(words).lower())


def _mention(entries: tuple[_Entry, ...], typ: str, orig: list[str], districts: set[str],
             matched: str, accented: bool) -> _Mention | None:
    """What one name in the text can mean. ``accented``: the citizen writes with diacritics,
    so they decide between homonyms ("Thuận Hòa" is not "Thuận Hóa")."""
    weak = False
    pool = [e for e in entries if e.type == typ] if typ else list(entries)
    if not pool:
        pool, weak = list(entries), True
    if accented:
        same = [e for e in pool if _accent_key(_WORD.findall(e.accented)) == _accent_key(orig)]
        if not same and not typ:
            return None  # "Phủ đã" in "Điện Biên Phủ đã…" is not Phú Đa
        pool, weak = (same, weak) if same else (pool, True)
    if districts and len({e.unit for e in pool}) > 1:
        local = [e for e in pool if e.districts & districts]
        pool = local or pool
    units = {e.unit for e in pool}
    strength = 2 if typ else 1
    if len(units) == 1:
        if typ:
            confidence = 0.8 if weak else 0.95
        else:
            confidence = 0.75 if accented else 0.6
        return _Mention(frozenset(units), strength, confidence, matched)
    current = [e for e in pool if e.current]
    if len(current) == 1:  # a current unit's own name beats the old homonyms
        return _Mention(frozenset({current[0].unit}), strength, 0.75 if typ else 0.55, matched)
    return _Mention(frozenset(units), strength, 0.0, matched)


def _from_text(text: str) -> PlaceResult:
    g = _gazetteer()
    clean = nfc(text)
    words = list(_WORD.finditer(clean))
    orig = [w.group(0) for w in words]
    folded = [_fold_word(w) for w in orig]
    if g.firsts.isdisjoint(folded):  # no name can start anywhere: nothing to find
        return NO_PLACE
    if not _mentions_hue(folded) and _mentions_other_province(folded):
        return NO_PLACE
    accented = any(not w.isascii() for w in orig)
    spans: list[tuple[int, int, str]] = []

    def prefix(start: int) -> str:
        found = _prefix(folded, start)
        if found == "blocked" and _PUNCT_GAP.search(clean, words[start - 1].end(), words[start].start()):
            return ""  # "kiệt 5 Chi Lăng, Phú Hậu": the street's last word is not "làng"
        return found

    i = 0
    firsts = g.firsts
    while i < len(folded):
        if folded[i] not in firsts:
            i += 1
            continue
        for size in range(min(g.max_len, len(folded) - i), 0, -1):
            k = tuple(folded[i:i + size])
            if k in g.index or (k in g.district_keys and prefix(i) == "district"):
                spans.append((i, i + size, prefix(i)))
                i += size
                break
        else:
            i += 1
    districts = {" ".join(folded[a:b]) for a, b, p in spans if p == "district"}
    mentions = []
    for a, b, p in spans:
        k = tuple(folded[a:b])
        if p in ("district", "blocked") or k not in g.index:
            continue
        if not p and (len(k) < 2 or " ".join(k) in _BARE_STOP or k in g.district_keys):
            # too short or too common alone; or a former district ("ở Phong Điền", "A Lưới")
            # that is wider than the ward of the same name
            continue
        if not p and b < len(orig) and orig[b][:1].isupper() and clean[words[b - 1].end()] == " " \
                and folded[b] not in _NAME_ENDS:
            continue  # part of a longer proper name: "Phú Mỹ An", "Kim Long Hotel"
        first = a - (2 if p == "thị trấn" and folded[a - 1] == "tran" else 1 if p else 0)
        matched = clean[words[first].start():words[b - 1].end()]
        m = _mention(g.index[k], p, orig[a:b], districts, matched, accented)
        if m:
            mentions.append(m)
    if not mentions:
        return NO_PLACE
    top = max(m.strength for m in mentions)
    strongest = [m for m in mentions if m.strength == top]
    decided = [m for m in strongest if len(m.units) == 1]
    if not decided:
        return NO_PLACE
    units = {next(iter(m.units)) for m in decided}
    if len(units) != 1:
        return NO_PLACE
    unit = units.pop()
    if any(unit not in m.units for m in strongest):
        return NO_PLACE
    first = max(decided, key=lambda m: m.confidence)
    return PlaceResult(unit, first.confidence, "text", first.matched)


def _mentions_hue(folded: list[str]) -> bool:
    return "hue" in folded


def _mentions_other_province(folded: list[str]) -> bool:
    if _PROVINCE_FIRSTS.isdisjoint(folded):  # every name's first word must be one of the words
        return False
    joined = " " + " ".join(folded) + " "
    for name in _OTHER_PROVINCES:
        at = joined.find(f" {name} ")
        while at >= 0:
            before = joined[:at].split()[-1:]  # "đường Hà Nội" is a street in Huế,
            if not before or before[0] not in _BLOCKERS | _WARD_PREFIX.keys():  # "xã Hải Dương" a ward
                return True
            at = joined.find(f" {name} ", at + 1)
    return False


def resolve_place(
    text: str | None,
    lat: float | None = None,
    lon: float | None = None,
    province: str = "Huế",
) -> PlaceResult:
    """The current ward a report concerns, from coordinates first, else from text.

    A boundary-case coordinate (low confidence) yields to a clear text mention of one of the
    units next to it. Unknown province, nothing found, or conflicting names → NO_PLACE.
    """
    if not _is_hue(province):
        return NO_PLACE
    by_text = _from_text(text) if text and text.strip() else NO_PLACE
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return by_text
    by_coords, nearby = _from_coordinates(float(lat), float(lon))
    if by_coords.ward is None:
        return by_text
    if by_text.ward and by_text.ward != by_coords.ward and by_coords.confidence < 0.7 \
            and by_text.confidence >= 0.75 and by_text.ward in nearby:
        return by_text
    if by_text.ward == by_coords.ward:
        return PlaceResult(by_coords.ward, max(by_coords.confidence, by_text.confidence, 0.95),
                           "coordinates", by_text.matched)
    return by_coords
