"""The citizen's name is masked where it names the citizen, not where one of its common middle
names ("Văn", "Thị", "Đức"...) stands in a street's or someone else's name: a citizen called Lê
Văn Hùng reporting a bar at "15 Chu Văn An" had "Chu *** An" published, and a search for the
street found nothing (walkthrough)."""
from __future__ import annotations

import html
import re
from typing import Any

import pytest

from store.serialize import public_text_for
from tests.portal.conftest import run_portal_jobs, seed_report

NAME = "Lê Văn Hùng"


@pytest.mark.parametrize("text", [
    "Quán nhậu ở 15 Chu Văn An, phường Thuận Hóa hát karaoke đến 2 giờ sáng",
    "Quán nhậu ở đường Chu Văn An",
    "Chu Văn An ồn quá, gần Chu Văn An có quán",  # "Chu" is a name, not "chú" typed bare
    "kiệt 3 Chu Văn An và Nguyễn Văn Cừ, trường THPT Chu Văn An",
    "nhà riêng 27 Ngô Đức Kế, đường Hữu Nghị",
    "Văn bản số 12, anh Văn hàng xóm cũng thấy",  # a lone middle name is no one in particular
    "Lê Văn phản ánh lần hai",  # family and middle names: shared by a great many people
    "hùng vĩ, Hùng Vương, cầu Hùng",
])
def test_a_middle_name_in_a_street_or_alone_is_kept(text: str) -> None:
    assert public_text_for(text, NAME) == text


@pytest.mark.parametrize(("text", "masked"), [
    ("Tôi là Lê Văn Hùng, ở 15 Chu Văn An", "Tôi là *** *** ***, ở 15 Chu Văn An"),
    ("Lê Văn Hùng ở 15 Chu Văn An", "*** *** *** ở 15 Chu Văn An"),
    ("Văn Hùng báo, Lê Hùng gọi lại", "*** *** báo, *** *** gọi lại"),  # part of the name with the given name
    ("le van hung phan anh", "*** *** *** phan anh"),
    ("nhờ anh Hùng xem, gặp anh hung", "nhờ anh *** xem, gặp anh ***"),  # the given name as a person
    ("Hùng gọi lại cho Văn Hùng", "*** gọi lại cho *** ***"),
    ("Chi Hung goi lai", "Chi *** goi lai"),  # typed bare: "Chi" is "chị"
])
def test_the_citizen_is_still_masked(text: str, masked: str) -> None:
    assert public_text_for(text, NAME) == masked


def test_a_given_name_first_profile_name() -> None:
    # a Messenger profile name "Minh Tran": Minh is the given name
    assert public_text_for("Minh gọi lại, anh Minh ở đường Hồ Chí Minh", "Minh Tran") == (
        "*** gọi lại, anh *** ở đường Hồ Chí Minh")


async def test_the_street_is_shown_and_found_and_the_citizen_is_not(portal: Any) -> None:
    client = portal
    code = await seed_report(client, name=NAME, phone="0905888999",
                             description="Tôi là Lê Văn Hùng. Quán nhậu ở 15 Chu Văn An, phường Thuận Hóa "
                                         "hát karaoke đến 2 giờ sáng",
                             address="15 Chu Văn An")
    await run_portal_jobs(client)
    page = html.unescape(await (await client.get(f"/r/{code}")).text())
    assert "15 Chu Văn An, phường Thuận Hóa" in page and "Tôi là *** *** ***" in page
    assert "Chu *** An" not in page and not re.search(r"Lê Văn Hùng|Văn Hùng|\bHùng\b", page)
    api = await (await client.get(f"/api/public/reports/{code}")).json()
    assert api["description"].startswith("Tôi là *** *** ***. Quán nhậu ở 15 Chu Văn An,")
    assert api["location"]["address"] == "15 Chu Văn An"
    for q in ("Chu Văn An", "chu van an"):
        assert code in await (await client.get("/reports", params={"q": q})).text(), q
    assert code not in await (await client.get("/reports", params={"q": "Văn Hùng"})).text()


@pytest.mark.parametrize(("text", "name", "masked"), [
    # Telegram profiles: first name "Lan", last name "Nguyễn Thị" (Telegram walkthrough)
    ("Chị Lan vui lòng cho biết thêm", "Lan Nguyễn Thị", "Chị *** vui lòng cho biết thêm"),
    ("Anh Hùng gửi thêm ảnh", "Hùng Phạm Văn", "Anh *** gửi thêm ảnh"),
    ("thị trấn Thuận An, đô thị Huế", "Lan Nguyễn Thị", "thị trấn Thuận An, đô thị Huế"),
    ("Minh gọi lại", "Minh Tran", "*** gọi lại"),
])
def test_a_given_name_first_profile_with_a_middle_name_last(text: str, name: str,
                                                             masked: str) -> None:
    assert public_text_for(text, name) == masked
