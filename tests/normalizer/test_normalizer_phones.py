"""Phone numbers and e-mails: every format citizens write, strict validity in free text, masking."""
import pytest

from normalizer.phones import extract_emails, extract_phones, mask_personal, normalize_phone


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0905123456", "+84905123456"),  # mobile, national
        ("0905 123 456", "+84905123456"),  # spaces
        ("0905.123.456", "+84905123456"),  # dots
        ("0905-123-456", "+84905123456"),  # dashes
        ("+84 905 123 456", "+84905123456"),  # international
        ("+84905123456", "+84905123456"),
        ("84905123456", "+84905123456"),  # country code without +
        ("0084905123456", "+84905123456"),  # 00 prefix
        ("(+84) 905-123-456", "+84905123456"),
        ("0393 123 456", "+84393123456"),  # Viettel 03x
        ("0866123456", "+84866123456"),
        ("0589123456", "+84589123456"),
        ("0234 3822 123", "+842343822123"),  # Huế landline
        ("(0234) 3.822.123", "+842343822123"),
        ("02343822123", "+842343822123"),
        ("84 234 3822123", "+842343822123"),
        ("024 3825 1234", "+842438251234"),  # Hà Nội landline
        ("01223456789", "+84773456789"),  # 11-digit mobile renumbered in 2018
        ("0168 123 4567", "+84381234567"),
        ("+84 1223456789", "+84773456789"),
        ("054 3822123", "+842343822123"),  # Huế landline before 0234
    ],
)
def test_normalize_phone(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        None, "", "abc", "0905 123 45",  # too short
        "20250712",  # a date
        "1.500.000",  # an amount
        "1900 1234", "1800 599 920",  # business numbers, not a citizen's phone
        "113", "0123456789", "+1 650 253 0000" + "x" * 40,
    ],
)
def test_normalize_phone_rejects(raw):
    assert normalize_phone(raw) is None


def test_extract_phones_strict_in_free_text():
    text = (
        "Ngày 20250712 tôi gọi 0905.123.456 và 0234 3822 123, số tiền 1.500.000 đồng, "
        "sdt 0912345678 hoặc +84 905 123 457, tổng đài 1900 1234, hẹn 12/07/2025."
    )
    assert extract_phones(text) == ["+84905123456", "+842343822123", "+84912345678", "+84905123457"]


def test_extract_phones_deduplicates():
    assert extract_phones("0905123456 hay 0905 123 456") == ["+84905123456"]
    assert extract_phones(None) == []


def test_extract_emails():
    text = "Liên hệ Nguyen.Van.A@Gmail.COM hoặc tran_b+pa@hue.gov.vn. Không phải email: a@b, @abc"
    assert extract_emails(text) == ["Nguyen.Van.A@gmail.com", "tran_b+pa@hue.gov.vn"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("gọi 0905123456 nhé", "gọi 090*****56 nhé"),
        ("gọi +84 905 123 456 nhé", "gọi 090*****56 nhé"),
        ("máy bàn 0234 3822 123", "máy bàn 023******23"),
        ("mail nguyenvana@gmail.com", "mail n***@gmail.com"),
        ("số thiếu 0905 123 45", "số thiếu 090****45"),  # mistyped, still personal: masked
        ("mã 0905 123", "mã 0905 123"),  # too short to be a phone: left alone
        ("ngày 20250712, 1.500.000 đồng", "ngày 20250712, 1.500.000 đồng"),
        ("số lạ 0999999999", "số lạ 099*****99"),  # phone-shaped but invalid: masked anyway
        ("", ""),
    ],
)
def test_mask_personal(text, masked):
    assert mask_personal(text) == masked


@pytest.mark.parametrize("text,masked", [
    # walkthrough: "chị Trần Thị Mai (0905 999 888, …" was published without its bracket
    ("liên hệ chị Mai (0905 999 888, nhà số 5)", "liên hệ chị Mai (090*****88, nhà số 5)"),
    ("gọi (0905 999 888)", "gọi (090*****88)"),
    ("[0905999888] ở kiệt 5", "[090*****88] ở kiệt 5"),
    # a bracket the number closes itself is part of the number, masked with it
    ("sđt: (0234) 3822 111", "sđt: 023******11"),
])
def test_mask_personal_keeps_the_texts_own_brackets(text, masked):
    assert mask_personal(text) == masked
