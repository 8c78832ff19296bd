"""The citizen's name is masked in public text, streets and places named like them are not:
"Lê Lợi" the citizen is masked in "Tôi là Lê Lợi" and kept in "đường Lê Lợi"."""
from __future__ import annotations

import html
import re
from typing import Any

import pytest

from store.serialize import public_text_for
from tests.portal.conftest import run_portal_jobs, seed_report


def words_left(text: str, name: str) -> str:
    return public_text_for(text, name)


@pytest.mark.parametrize(("name", "text", "masked"), [
    ("Lê Lợi", "Tôi là Lê Lợi, nhà gần chợ", "Tôi là *** ***, nhà gần chợ"),
    ("Lê Văn Lợi", "tên Lê Văn Lợi, 0905 123 456", "tên *** *** ***, 090*****56"),
    ("Lê Văn Lợi", "Lê Lợi báo: ổ gà", "*** *** báo: ổ gà"),  # family + given: still the citizen
    ("Lê Văn Lợi", "toi la le van loi, o ga to", "toi la *** *** ***, o ga to"),  # no diacritics
    ("Lê Văn Lợi", "LÊ VĂN LỢI phản ánh", "*** *** *** phản ánh"),
    ("Lợi Lê Văn", "Tôi là Lê Văn Lợi", "Tôi là *** *** ***"),  # Open311's first/last order
    ("Nguyễn Thị Lan", "Ổ gà, báo lại cho Nguyễn Thị Lan", "Ổ gà, báo lại cho *** *** ***"),
    ("Nguyễn Thị Lan", "nhà chị lan ở cuối kiệt", "nhà chị *** ở cuối kiệt"),
    ("Nguyễn Thị Lan", "Chào chị Lan, đã xử lý", "Chào chị ***, đã xử lý"),
    ("Nguyễn Thị Lan", "Thị Lan gọi lại", "*** *** gọi lại"),
    ("Nguyễn Thị Lan", "Gửi Lan: đã xong", "Gửi ***: đã xong"),
    ("Nguyễn Thị Lan", "Tôi là Nguyễn Thị Lan Anh", "Tôi là *** *** *** ***"),  # what follows "tôi là" is the citizen
    ("Nguyễn Thị Lan", "họ tên: Nguyễn Lan", "họ tên: *** ***"),
    ("Trần Hưng", "số 5 Trần Hưng Đạo, gọi Trần Hưng", "số 5 Trần Hưng Đạo, gọi *** ***"),
    ("Nguyễn Văn Linh", "Nguyễn Văn Linh Hùng phản ánh", "*** *** *** Hùng phản ánh"),
])
def test_the_citizen_is_masked(name: str, text: str, masked: str) -> None:
    assert words_left(text, name) == masked


@pytest.mark.parametrize(("name", "text"), [
    ("Lê Lợi", "Ổ gà lớn ở đường Lê Lợi"),
    ("Lê Lợi", "Đường Lê Lợi ngập sâu"),
    ("Lê Lợi", "kiệt 5 Lê Lợi, hẻm 12/3 Lê Lợi, ngõ 4 Lê Lợi, ngách 2 Lê Lợi"),
    ("Lê Lợi", "trước nhà 12 Lê Lợi có ổ gà"),
    ("Lê Lợi", "trường Lê Lợi, cầu Lê Lợi, phố Lê Lợi"),
    ("Lê Lợi", "ngã tư Lê Lợi và Hùng Vương"),
    ("Le Loi", "o ga o duong Le Loi, kiet 3 le loi"),
    ("Trần Hưng", "ổ gà trước số 5 Trần Hưng Đạo"),
    ("Trần Hưng", "Trần Hưng Đạo ngập, nước tràn vào Trần Hưng Đạo"),
    ("Lợi", "ổ gà trên Lê Lợi, gần chợ Đông Ba"),
    ("Lợi", "vì lợi ích chung"),
    ("Nguyễn Văn Linh", "cống vỡ trên đường Nguyễn Văn Linh"),
    ("Nguyễn Thị Lan", "rác ở đô thị, lan can cầu gãy"),
    ("Nguyễn Văn An", "an ninh trật tự, công văn số 12"),
    ("Đông Ba", "chợ Đông Ba, phường Phú Xuân"),
])
def test_streets_places_and_everyday_words_are_kept(name: str, text: str) -> None:
    assert words_left(text, name) == text


def test_the_same_name_is_masked_as_the_citizen_and_kept_as_the_street() -> None:
    assert words_left("Tôi là Lê Lợi, ổ gà ở đường Lê Lợi trước số 7 Lê Lợi", "Lê Lợi") == (
        "Tôi là *** ***, ổ gà ở đường Lê Lợi trước số 7 Lê Lợi")
    # a phone's digit groups before the name are not a house number
    assert words_left("liên hệ 0905 123 456 Lê Văn Lợi", "Lê Văn Lợi") == "liên hệ 090*****56 *** *** ***"
    assert words_left("0905 123 456 Lê Văn Lợi", "Lê Văn Lợi") == "090*****56 *** *** ***"


async def test_public_pages_keep_the_street_and_mask_the_citizen(portal: Any) -> None:
    client = portal
    code = await seed_report(client, name="Lê Lợi", phone="0905123456",
                             description="Tôi là Lê Lợi, ổ gà lớn trước số 5 Trần Hưng Đạo gần đường Lê Lợi",
                             address="kiệt 5 Lê Lợi", rating=4, rating_comment="Lê Lợi cảm ơn")
    await run_portal_jobs(client)
    page = html.unescape(await (await client.get(f"/r/{code}")).text())
    assert "Tôi là *** ***" in page and "số 5 Trần Hưng Đạo" in page and "đường Lê Lợi" in page
    assert "kiệt 5 Lê Lợi" in page and "*** *** cảm ơn" in page
    assert not re.search(r"là Lê Lợi|Lê Lợi cảm ơn", page)
    api = await (await client.get(f"/api/public/reports/{code}")).json()
    assert api["description"] == "Tôi là *** ***, ổ gà lớn trước số 5 Trần Hưng Đạo gần đường Lê Lợi"
    assert api["location"]["address"] == "kiệt 5 Lê Lợi"
    # the street's words are searchable, the citizen's masked mention is not there to find
    assert code in await (await client.get("/reports?q=duong le loi")).text()
