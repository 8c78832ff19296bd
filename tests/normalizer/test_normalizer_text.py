"""Vietnamese text rules: NFC, folding, tone placement, abbreviations, legacy encodings."""
import unicodedata

import pytest

from normalizer.text import decode_legacy, expand_abbreviations, fold, nfc, unify_tone_placement


def test_nfc_composes_nfd_from_phones():
    nfd = unicodedata.normalize("NFD", "Phường Thủy Xuân")
    assert nfd != "Phường Thủy Xuân"
    assert nfc(nfd) == "Phường Thủy Xuân"


def test_nfc_drops_zero_width_characters():
    assert nfc("Huế\u200b") == "Huế"
    assert nfc(None) == ""


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Phường THỦY Xuân", "phuong thuy xuan"),  # lower case, no tone marks
        ("Đông Ba", "dong ba"),  # đ/Đ → d (NFD does not decompose them)
        ("hoà", "hoa"),  # old tone placement
        ("hòa", "hoa"),  # new tone placement
        ("Thuỷ Biều", "thuy bieu"),
        ("Thủy Biều", "thuy bieu"),
        (unicodedata.normalize("NFD", "Nguyễn Huệ"), "nguyen hue"),  # NFD input
        ("  kiệt\t 5 \n Ngự   Bình ", "kiet 5 ngu binh"),  # whitespace collapsed
        ("Chân Mây – Lăng Cô", "chan may - lang co"),  # en dash unified
        ("ðường", "duong"),  # eth typed for đ
        ("", ""),
    ],
)
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_fold_unifies_both_tone_placements():
    assert fold("Thuận Hoà") == fold("Thuận Hòa") == fold("thuan hoa")


@pytest.mark.parametrize(
    ("old", "new"),
    [("hoà", "hòa"), ("Thuỷ", "Thủy"), ("khoẻ", "khỏe"), ("HOÀ", "HÒA"), ("Thuỵ", "Thụy")],
)
def test_unify_tone_placement_moves_mark(old, new):
    assert unify_tone_placement(old) == new


@pytest.mark.parametrize("word", ["hoàng", "thuyền", "quý", "quỷ", "toán"])
def test_unify_tone_placement_leaves_other_syllables(word):
    assert unify_tone_placement(word) == word


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("ko dc", "khong duoc"),
        ("k co ai", "khong co ai"),
        ("hok bik j", "khong biet gi"),
        ("p.thuy xuan", "phuong thuy xuan"),  # glued prefix split off
        ("p. an cuu", "phuong an cuu"),
        ("p an cuu", "phuong an cuu"),
        ("x.phu ho", "xa phu ho"),
        ("tp hue", "thanh pho hue"),
        ("q. phu xuan", "quan phu xuan"),
        ("tdp 5", "to dan pho 5"),
        ("dg le loi", "duong le loi"),
        ("k12/5 nguyen hue", "kiet 12/5 nguyen hue"),  # Huế lane, not "không"
        ("k. 12", "kiet 12"),
        ("k 12", "kiet 12"),
        ("den hong", "den hong"),  # "hỏng" (broken) is not teencode for "không"
        ("hem 5", "hem 5"),  # "hẻm" (lane)
        ("sdt 0905", "so dien thoai 0905"),
        ("ubnd phuong", "uy ban nhan dan phuong"),
        ("ngap nc", "ngap nuoc"),
        ("5k", "5k"),  # an amount, untouched
        ("ko, dc!", "khong, duoc!"),  # punctuation kept
        ("", ""),
    ],
)
def test_expand_abbreviations(text, expanded):
    assert expand_abbreviations(text) == expanded


def test_expand_after_fold_of_accented_text():
    assert expand_abbreviations(fold("P.Thủy Xuân, Đg Lê Lợi ko đc")) == "phuong thuy xuan, duong le loi khong duoc"


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def _as_windows_1258(text: str) -> bytes:
    """Windows-1258 stores ơ, ư, â… precomposed and the five tone marks as combining characters."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        out.append(base + "".join(c for c in parts if c in _TONE_MARKS))
    return "".join(out).encode("cp1258")


def test_decode_legacy_windows_1258_is_nfc():
    original = "Phường Thủy Xuân, ngập nước, Đà Nẵng"
    data = _as_windows_1258(original)
    assert data.decode("cp1258") != original  # decoded alone it stays decomposed
    decoded = decode_legacy(data)
    assert decoded == unicodedata.normalize("NFC", original)
    assert unicodedata.is_normalized("NFC", decoded)


@pytest.mark.parametrize(
    "data",
    [
        "Huế mưa".encode(),
        b"\xef\xbb\xbf" + "Huế mưa".encode(),
        "Huế mưa".encode("utf-16"),
        unicodedata.normalize("NFD", "Huế mưa").encode(),
    ],
)
def test_decode_legacy_unicode_forms(data):
    assert decode_legacy(data) == "Huế mưa"


def test_decode_legacy_never_fails():
    assert isinstance(decode_legacy(bytes(range(256))), str)
