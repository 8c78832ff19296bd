"""A phone number written with the country code and the trunk zero ("+84 (0) 905 888 999") is
masked like any other +84 number, not garbled into "009******99" (walkthrough)."""
from __future__ import annotations

import pytest

from store.serialize import public_text_for


@pytest.mark.parametrize(("text", "masked"), [
    ("ĐT: +84 (0) 905 888 999", "ĐT: 090*****99"),
    ("ĐT: +84(0)905888999", "ĐT: 090*****99"),
    ("gọi +84 (0)905.888.999 nhé", "gọi 090*****99 nhé"),
    ("gọi +84 0905 888 999", "gọi 090*****99"),
    ("gọi 0084 905 888 999", "gọi 090*****99"),
    ("máy bàn +84 (0) 234 3822 111", "máy bàn 023******11"),
    ("gọi +84 905 888 999", "gọi 090*****99"),  # as before
    ("năm 2084 0905 888 999", "năm 2084 090*****99"),
])
def test_a_trunk_zero_after_the_country_code_is_masked_like_other_numbers(text: str, masked: str) -> None:
    assert public_text_for(text, None) == masked


def test_mask_personal_itself_reads_the_trunk_zero():
    """Every caller of mask_personal (an agency's reply is stored masked) gets the same mask."""
    from normalizer.phones import mask_personal

    assert mask_personal("Liên hệ +84 (0) 905 888 999") == "Liên hệ 090*****99"
