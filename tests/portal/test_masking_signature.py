"""A mail's signature (the citizen's name, title, employer, home address, phone) is dropped
from a report's public text; the stored description keeps it for staff (walkthrough: "Phó
phòng Kỹ thuật - Công ty ABC" and "Nhà riêng: 27 Ngô Đức Kế" were on /r/PA-… and in its meta
description)."""
from __future__ import annotations

import html
from typing import Any

import pytest

from store.serialize import public_text_for
from tests.portal.conftest import run_portal_jobs, seed_report
from tests.router.helpers import token

BODY = "Kính gửi Trung tâm,\nQuán nhậu ở 15 Chu Văn An, phường Thuận Hóa hát karaoke đến 2 giờ sáng."
SIGNATURE = ("Lê Văn Hùng\nPhó phòng Kỹ thuật - Công ty ABC\nNhà riêng: 27 Ngô Đức Kế\n"
             "ĐT: 0905 888 999")
MAIL = f"{BODY}\n\nTrân trọng,\n{SIGNATURE}"


@pytest.mark.parametrize("closing", [
    "Trân trọng,", "Trân trọng!", "Tran trong,", "TRÂN TRỌNG", "Trân trọng cảm ơn!", "Kính thư.",
    "Thân ái,", "Thân mến", "Best regards,", "Regards", "Sincerely,", "Thanks,", "Cảm ơn,",
    "Cám ơn!", "-- ", "--"])
@pytest.mark.parametrize("name", ["Lê Văn Hùng", None])
def test_a_signature_block_is_dropped(closing: str, name: str | None) -> None:
    text = f"{BODY}\n\n{closing}\n{SIGNATURE}"
    assert public_text_for(text, name) == BODY
    assert public_text_for(text.replace("\n", "\r\n"), name) == BODY.replace("\n", "\r\n")


@pytest.mark.parametrize("text", [
    "Đèn hỏng ở kiệt 5.\nCảm ơn,\nmong sửa sớm.",  # thanks, then more of the report
    "Đèn hỏng ở kiệt 5.\nCảm ơn\nMong sửa sớm",
    "Đèn hỏng ở kiệt 5. Trân trọng cảm ơn các anh\nđã sửa nhanh",  # not alone on its line
    "Trân trọng,\nBáo đèn hỏng ở kiệt 5",  # nothing above it
    "Đèn hỏng ở kiệt 5.\nTrân trọng,",  # nothing under it
    "Đèn hỏng.\nTrân trọng,\n" + "\n".join(f"dòng {i}" for i in range(9)),  # too long a block
    "Đèn hỏng.\n--\n" + "Một dòng rất dài của bức thư, không phải chữ ký của ai cả, " * 2,
])
def test_no_signature_no_cut(text: str) -> None:
    assert public_text_for(text, None) == text


async def test_the_public_page_api_and_open311_show_no_signature(portal: Any) -> None:
    client = portal
    code = await seed_report(client, name="Lê Văn Hùng", email="hung@abc.vn", description=MAIL)
    await run_portal_jobs(client)
    page = html.unescape(await (await client.get(f"/r/{code}")).text())
    assert "15 Chu Văn An" in page
    for shown in ("Phó phòng", "Công ty ABC", "Nhà riêng", "Ngô Đức Kế", "Trân trọng", "090*****99"):
        assert shown not in page, shown
    api = await (await client.get(f"/api/public/reports/{code}")).json()
    assert api["description"] == BODY
    [req] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert req["description"] == BODY
    # nor can the report be found by its signature
    assert code not in await (await client.get("/reports", params={"q": "Ngô Đức Kế"})).text()
    # staff still read the whole mail, phone included
    stored = await (await client.get(f"/api/v1/reports/{code}", headers=await token(client, "center"))).json()
    assert stored["description"] == MAIL
