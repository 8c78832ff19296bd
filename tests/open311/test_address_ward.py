"""The Open311 ``address`` names the report's ward once: the ward is appended only when the
address does not already name it, compared without case or diacritics (the walkthrough saw
"số 7 Hùng Vương, phường Thuận Hóa, Phường Thuận Hóa")."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update

from hub.keys import HUB_KEY
from store.models import Report, utcnow
from tests.router.helpers import post_report

V2 = "/open311/v2"
FORM = {"service_code": "environment", "description": "Rác thải ùn ứ trước nhà",
        "address_string": "số 7 Hùng Vương, phường Thuận Hóa"}
WARD = "Phường Thuận Hóa"
CASES = [
    ("số 7 Hùng Vương, phường Thuận Hóa", "số 7 Hùng Vương, phường Thuận Hóa"),
    ("số 7 Hùng Vương, Phường Thuận Hóa", "số 7 Hùng Vương, Phường Thuận Hóa"),
    ("số 7 Hùng Vương, PHƯỜNG THUẬN HÓA", "số 7 Hùng Vương, PHƯỜNG THUẬN HÓA"),
    ("số 7 Hùng Vương, phuong Thuan Hoa", "số 7 Hùng Vương, phuong Thuan Hoa"),
    ("số 7 Hùng Vương, phường Thuận Hoà", "số 7 Hùng Vương, phường Thuận Hoà"),  # old tone placement
    ("số 7 Hùng Vương", f"số 7 Hùng Vương, {WARD}"),
    ("số 7 Hùng Vương, Thuận Hóa", f"số 7 Hùng Vương, Thuận Hóa, {WARD}"),
    # a longer name that begins with the ward's is another place (whole words only)
    ("số 7 Hùng Vương, Phường Thuận Hóa Tây", f"số 7 Hùng Vương, Phường Thuận Hóa Tây, {WARD}"),
    ("số 7 Hùng Vương, phường Thuận Hóa thành phố Huế", "số 7 Hùng Vương, phường Thuận Hóa thành phố Huế"),
    ("số 7 Hùng Vương (phường Thuận Hóa), Huế", "số 7 Hùng Vương (phường Thuận Hóa), Huế"),
]


async def test_ward_is_appended_only_when_the_address_does_not_name_it(portal: Any) -> None:
    client = portal
    code = await post_report(client, FORM)
    for address, expected in CASES:
        async with client.app[HUB_KEY].sessions() as session, session.begin():
            await session.execute(update(Report).where(Report.code == code).values(
                address=address, ward=WARD, agency_id="moi-truong", forwarded_at=utcnow()))
        [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
        assert req["address"] == expected, address
        xml = await (await client.get(f"{V2}/requests/{code}.xml")).text()
        assert xml.count("Thu") == expected.count("Thu"), address
