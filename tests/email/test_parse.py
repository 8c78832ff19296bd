"""Mail text handling beyond the fixtures (tests/test_channel_fixtures.py runs every .eml in
tests/fixtures/email through the email channel's parse against its .expected.json): quoted
history, HTML, subjects."""
from __future__ import annotations

import pytest

from channels.email.adapter import clean_subject
from channels.email.text import html_to_text, strip_quoted


@pytest.mark.parametrize("quoted, new", [
    ("Đã dọn chưa?\n\nOn Mon, Jul 7, 2025 at 10:00 AM Trung tâm <a@b.vn> wrote:\n> cũ", "Đã dọn chưa?"),
    ("Mới\n-----Original Message-----\nFrom: x", "Mới"),
    ("Mới\n\n-------- Thư gốc --------\ncũ", "Mới"),
    ("Mới\n> cũ\n>> cũ hơn\nthêm", "Mới\nthêm"),
    ("Le 17 juil. 2025 à 07:00, Centre <a@b.vn> a écrit :\n> vieux", ""),
    ("Chữ ký\n--\nNguyễn Văn A\n0905123456", "Chữ ký\n--\nNguyễn Văn A\n0905123456"),
])
def test_strip_quoted(quoted: str, new: str) -> None:
    assert strip_quoted(quoted) == new


def test_html_to_text_keeps_structure_and_marks_quotes() -> None:
    text = html_to_text("<p>Một</p><ul><li>hai</li></ul><blockquote>ba</blockquote>&nbsp;bốn")
    assert text.splitlines()[:2] == ["Một", ""] and "- hai" in text and "> ba" in text


@pytest.mark.parametrize("subject, clean", [
    ("Re: [#PA-2026-000001] Đã tiếp nhận", "Đã tiếp nhận"),
    ("TL: Fwd: Rác", "Rác"), ("Trả lời: Chuyển tiếp: Ổ gà", "Ổ gà"), ("Rác thải", "Rác thải"),
])
def test_clean_subject(subject: str, clean: str) -> None:
    assert clean_subject(subject) == clean
