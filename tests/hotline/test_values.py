"""Pure pieces: times, phones, categories, SMS splitting and the gateway body."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest

from channels.hotline.parse import map_category
from channels.hotline.records import BadValue, header_key, parse_caller, parse_time
from channels.hotline.sms import auth_header, render_body, sms_parts, unaccented

HUE = timezone(timedelta(hours=7))


@pytest.mark.parametrize(("raw", "expected"), [
    ("05/11/2026 14:02", datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
    ("5/11/2026 9:05:30", datetime(2026, 11, 5, 9, 5, 30, tzinfo=HUE)),
    ("05-11-2026 14:02", datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
    ("05.11.2026", datetime(2026, 11, 5, tzinfo=HUE)),
    ("05/11/2026 2:02 PM", datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
    # Excel in Vietnam: SA (sáng) and CH (chiều), any case, with dots or diacritics
    ("3/12/2026 9:30 SA", datetime(2026, 12, 3, 9, 30, tzinfo=HUE)),
    ("03/12/2026 2:30 CH", datetime(2026, 12, 3, 14, 30, tzinfo=HUE)),
    ("03/12/2026 12:05 SA", datetime(2026, 12, 3, 0, 5, tzinfo=HUE)),
    ("03/12/2026 12:05 CH", datetime(2026, 12, 3, 12, 5, tzinfo=HUE)),
    ("03/12/2026 9:30:15 sa", datetime(2026, 12, 3, 9, 30, 15, tzinfo=HUE)),
    ("03/12/2026 2:30 ch", datetime(2026, 12, 3, 14, 30, tzinfo=HUE)),
    ("03/12/2026 9:30 S.A.", datetime(2026, 12, 3, 9, 30, tzinfo=HUE)),
    ("03/12/2026 2:30 C.H.", datetime(2026, 12, 3, 14, 30, tzinfo=HUE)),
    ("03/12/2026 2:30 chiều", datetime(2026, 12, 3, 14, 30, tzinfo=HUE)),
    ("03/12/2026 9:30 Sáng", datetime(2026, 12, 3, 9, 30, tzinfo=HUE)),
    ("03/12/2026 2:30 Chie\u0300u", datetime(2026, 12, 3, 14, 30, tzinfo=HUE)),  # a combining mark
    ("03/12/2026 9:30 am", datetime(2026, 12, 3, 9, 30, tzinfo=HUE)),
    ("03/12/2026 12:30 P.M.", datetime(2026, 12, 3, 12, 30, tzinfo=HUE)),
    ("14h02 05/11/2026", datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
    ("14:02 ngày 05/11/2026", datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
    ("2026-11-05 14:02:00", datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
    ("2026-11-05T07:02:00Z", datetime(2026, 11, 5, 7, 2, tzinfo=UTC)),
    ("2026-11-05T14:02:00+07:00", datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
    ("46331.5", datetime(2026, 11, 5, 12, 0, tzinfo=HUE)),
    (46331.25, datetime(2026, 11, 5, 6, 0, tzinfo=HUE)),
    (1793847600, datetime(2026, 11, 5, 3, 0, tzinfo=UTC)),
    (datetime(2026, 11, 5, 14, 2), datetime(2026, 11, 5, 14, 2, tzinfo=HUE)),
])
def test_call_times(raw: object, expected: datetime) -> None:
    assert parse_time(raw, HUE) == expected


@pytest.mark.parametrize("raw", ["11/25/2026 10:00", "32/01/2026", "hôm qua", "2026-13-01", "",
                                 "05/11/2026 25:00", 12.5, "03/12/2026 14:30 CH",
                                 "03/12/2026 0:30 SA", "03/12/2026 2:30 XY", "03/12/2026 2:30 CHX"])
def test_unreadable_times(raw: object) -> None:
    with pytest.raises(BadValue):
        parse_time(raw, HUE)


@pytest.mark.parametrize(("raw", "expected"), [
    ("0905 123 456", "+84905123456"), ("0905.123.456", "+84905123456"),
    ("+84 905-123-456", "+84905123456"), ("84905123456", "+84905123456"),
    (905123456, "+84905123456"), (905123456.0, "+84905123456"),
    ("(0234) 3.822.123", "+842343822123"), ("054 3822123", "+842343822123"),
    ("01223 456 789", "+84773456789"), ("", None), ("Ẩn số", None), ("anonymous", None),
    # the trunk 0 kept after the country code, as many call logs write it
    ("+84 (0)905 333 444", "+84905333444"), ("0084 (0) 905 333 444", "+84905333444"),
])
def test_callers(raw: object, expected: str | None) -> None:
    assert parse_caller(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "0905 12", "1900 1234", "abc", "+84 12 345", "00905333444"])
def test_impossible_callers(raw: str) -> None:
    with pytest.raises(BadValue):
        parse_caller(raw)


def test_header_keys_fold_vietnamese() -> None:
    assert header_key("Số điện thoại") == header_key("so_dien_thoai") == "so dien thoai"
    assert header_key(" SĐT ") == "sdt"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Vệ sinh môi trường", "environment"), ("environment", "environment"),
    ("Trật tự xây dựng", "construction_order"), ("An ninh, trật tự xã hội", "public_order"),
    ("Hạ tầng đô thị", "urban_infrastructure"), ("giao thông", "traffic_infrastructure"),
    ("Du lịch", "tourism"), ("Cán bộ, thủ tục hành chính", "public_service"),
    ("Khác", "other"), ("Trật tự", None), ("", None), ("abc", None),
])
def test_categories(raw: str, expected: str | None) -> None:
    assert map_category(raw) == expected


TEXT = ("Phản ánh PA-2026-000123 đã được Công ty Cổ phần Môi trường và Công trình đô thị Huế xử lý "
        "xong. Kết quả: đã thu gom toàn bộ rác thải tồn đọng tại kiệt 12 Trần Phú. Mời bạn đánh "
        "giá mức độ hài lòng từ 1 đến 5.")


def test_short_text_is_one_sms() -> None:
    assert sms_parts("Phản ánh  PA-1 đã tiếp nhận.", 70) == ["Phản ánh PA-1 đã tiếp nhận."]


def test_long_text_splits_at_spaces_and_numbers_parts() -> None:
    parts = sms_parts(TEXT, 70, max_parts=5)
    assert all(len(p) <= 70 for p in parts) and len(parts) == 4
    assert parts[0].endswith(" (1/4)") and parts[-1].endswith(" (4/4)")
    assert " ".join(p.rsplit(" (", 1)[0] for p in parts) == TEXT


def test_text_beyond_the_last_part_is_trimmed() -> None:
    parts = sms_parts(TEXT, 70, max_parts=2)
    assert len(parts) == 2 and all(len(p) <= 70 for p in parts)
    assert parts[1].endswith("… (2/2)")
    single = sms_parts(TEXT, 160, max_parts=1)
    assert len(single) == 1 and len(single[0]) <= 160 and single[0].endswith("…")


def test_unaccented_sms() -> None:
    assert unaccented("Đã xử lý xong phản ánh") == "Da xu ly xong phan anh"
    assert sms_parts("Đường hỏng", 70, strip_accents=True) == ["Duong hong"]


def test_json_body_escapes_the_text() -> None:
    body, ctype = render_body('{"to": "{phone_digits}", "msg": {"text": "{text}", "ref": "{ref}"}}',
                              {"phone_digits": "84905123456", "text": 'Câu "trích"\nxuống dòng',
                               "ref": "outbox-1-1"})
    assert ctype == "application/json"
    assert json.loads(body) == {"to": "84905123456",
                                "msg": {"text": 'Câu "trích"\nxuống dòng', "ref": "outbox-1-1"}}


def test_form_body_is_url_encoded() -> None:
    body, ctype = render_body("to={phone_national}&content={text}",
                              {"phone_national": "0905123456", "text": "Đã xử lý & xong"})
    assert ctype == "application/x-www-form-urlencoded"
    assert parse_qs(body.decode()) == {"to": ["0905123456"], "content": ["Đã xử lý & xong"]}


def test_auth_header_forms() -> None:
    assert auth_header("X-Api-Key: s3cret") == {"X-Api-Key": "s3cret"}
    assert auth_header("Bearer abc") == {"Authorization": "Bearer abc"}
    assert auth_header("") == {}


def test_field_definitions_in_operator_category_words() -> None:
    # DESIGN.md "Categories": urban order (encroachment) is construction_order; noise and
    # karaoke are public_order; potholes are traffic; "đô thị" alone stays urban infrastructure.
    assert map_category("Trật tự đô thị") == "construction_order"
    assert map_category("Lấn chiếm vỉa hè") == "construction_order"
    assert map_category("Tiếng ồn karaoke") == "public_order"
    assert map_category("Ổ gà") == "traffic_infrastructure"
    assert map_category("Đô thị") == "urban_infrastructure"
    assert map_category("Di tích") == "tourism"


def test_a_link_is_never_cut_or_split_over_two_sms() -> None:
    """Vietnamese review: the rating link came last in a resolved SMS and was cut ('Đánh giá
    1-5: http://…?rate=D…') or split over two SMS. The template now puts it before the note,
    and a part ends before a link rather than inside it."""
    from router.messages import citizen_message

    url = "https://phananh.hue.gov.vn/r/PA-2026-000001?rate=Dq3kF9xZ2mLp7Wc1"
    note = ("Đơn vị đã cử cán bộ kiểm tra hiện trường, phối hợp tổ dân phố thu gom toàn bộ rác "
            "tồn đọng. ") * 3
    text = citizen_message("resolved", "hotline", {"code": "PA-2026-000001", "note": note,
                                                    "rate_url": url}).text
    for max_chars, max_parts in ((70, 3), (70, 5), (160, 3), (160, 1)):
        parts = sms_parts(text, max_chars, max_parts)
        assert all(len(p) <= max_chars for p in parts)
        whole = [p for p in parts if url in p or url.split("://")[1] in p]
        assert len(whole) == 1, (max_chars, max_parts, parts)  # the link whole, in one SMS
        if len(text) > max_chars * max_parts:  # the note's end is what went
            assert parts[-1].rsplit(" (", 1)[0].endswith("…")
    # a link at a part's boundary moves whole to the next part
    parts = sms_parts("Phản ánh PA-2026-000001 đã được tiếp nhận. Tra cứu: "
                      "http://hub.test/r/PA-2026-000001", 70, 3)
    assert parts[1].startswith("http://hub.test/r/PA-2026-000001"), parts


def test_an_sms_receipt_is_one_sms() -> None:
    """Vietnamese review: the receipt said the code twice (text and link, with its https://),
    two UCS-2 SMS for a message that fits in one."""
    from router.messages import citizen_message

    for template in ("ack", "in_progress"):
        text = citizen_message(template, "hotline", {
            "code": "PA-2026-000123",
            "status_url": "https://phananh.hue.gov.vn/r/PA-2026-000123"}).text
        assert sms_parts(text, 70, 3) == [text] and len(text) <= 70, text
        assert "phananh.hue.gov.vn/r/PA-2026-000123" in text and "https://" not in text
