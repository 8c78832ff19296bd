"""analyze(): the one call the inbox worker makes."""
import unicodedata

import pytest

from normalizer.analyze import Analysis, analyze
from normalizer.classify import CLASSIFIER_VERSION


def test_analyze_reads_category_place_and_contacts():
    a = analyze(
        "Đèn đường kiệt 34 Nguyễn Trường Tộ, p. Vĩnh Ninh hỏng cả tuần nay, tối om. "
        "SĐT 0905.123.456, email tran.b@gmail.com"
    )
    assert a == Analysis(
        category="urban_infrastructure",
        category_confidence=a.category_confidence,
        classifier_version=CLASSIFIER_VERSION,
        ward="Phường Thuận Hóa",
        place_source="text",
        place_matched="p. Vĩnh Ninh",
        phones=("+84905123456",),
        emails=("tran.b@gmail.com",),
        place_confidence=a.place_confidence,
        own_phones=("+84905123456",),  # "SĐT 0905…": the writer's own
        own_emails=("tran.b@gmail.com",),
    )
    assert 0.0 < a.category_confidence <= 1.0
    assert a.place_confidence >= 0.9


def test_analyze_nfd_text_without_diacritics_gives_the_same_answer():
    text = "Rác thải ùn ứ ở đầu kiệt, phường Thủy Biều, gọi 0234 3822 123"
    nfd = analyze(unicodedata.normalize("NFD", text))
    bare = analyze("rac thai un u o dau kiet, phuong thuy bieu, goi 0234 3822 123")
    assert nfd.ward == bare.ward == "Phường Thủy Xuân"
    assert nfd.category == bare.category == "environment"
    assert nfd.phones == bare.phones == ("+842343822123",)


def test_coordinates_come_first():
    a = analyze("ổ gà giữa đường, gần phường Vỹ Dạ", lat=16.4563, lon=107.5784)
    assert (a.ward, a.place_source) == ("Phường Thuận Hóa", "coordinates")


def test_address_field_before_description():
    a = analyze("cây xanh nghiêng ở phường An Cựu", address="12 Lê Lợi, P. Phú Hội, TP Huế")
    assert (a.ward, a.place_matched) == ("Phường Thuận Hóa", "P. Phú Hội")


def test_description_when_address_names_no_ward():
    a = analyze("cây xanh nghiêng ở phường An Cựu", address="12 Lê Lợi")
    assert (a.ward, a.place_source) == ("Phường An Cựu", "text")


def test_contacts_also_from_address():
    a = analyze("ổ gà", address="kiệt 5 Ngự Bình, ĐT 0912 345 678")
    assert a.phones == ("+84912345678",)


@pytest.mark.parametrize("text", [None, ""])
def test_empty_report(text):
    a = analyze(text)
    assert (a.category, a.category_confidence, a.ward, a.phones, a.emails) == ("other", 0.0, None, (), ())


def test_other_province_is_not_placed_in_hue():
    a = analyze("phường Hải Châu, Đà Nẵng: rác thải bốc mùi")
    assert a.ward is None and a.category == "environment"
