"""Public answers carry no citizen name, also where a reference spells it (address_id), and the
two formats carry the same data, control characters included (XML cannot hold them)."""
from __future__ import annotations

from typing import Any

from channels.open311.requests import public_reference
from tests.open311.spec import check_json, check_xml
from tests.open311.test_public_fields import _public
from tests.router.helpers import post_report

V2 = "/open311/v2"


def test_a_reference_spelling_the_name_is_not_given_back() -> None:
    for ref in ("TranThiMai", "tran.thi.mai", "tranthimai", "TRAN_THI_MAI", "ThiMai"):
        assert public_reference(ref, "Trần Thị Mai") is None, ref
    for ref in ("HUE-12345", "49000", "TranThiMai"):
        assert public_reference(ref, "Nguyễn Văn An") == ref


async def test_address_id_naming_the_citizen_is_masked_in_answers(portal: Any) -> None:
    client = portal
    code = await post_report(client, {
        "service_code": "environment", "address_string": "chợ Đông Ba, phường Phú Xuân",
        "description": "Rác ở chợ Đông Ba", "address_id": "TranThiMai",
        "last_name": "Trần", "first_name": "Thị Mai"})
    await _public(client, code)
    for path in (f"{V2}/requests/{code}.json", f"{V2}/requests/{code}.xml", f"{V2}/requests.json"):
        resp = await client.get(path)
        body = await resp.read()
        assert resp.status == 200 and b"Tran" not in body and "Trần".encode() not in body, path
        check = check_json if path.endswith(".json") else check_xml
        [req] = [r for r in check("requests", body, resp.headers["Content-Type"])
                 if r["service_request_id"] == code]
        assert req["address_id"] in (None, "")


async def test_control_characters_are_left_out_of_both_formats_alike(portal: Any) -> None:
    from tests.open311.spec import same_data

    client = portal
    text = "Rác\x01 ở chợ\x0b Đông\x1b[31m Ba\tcuối\nkiệt"
    code = await post_report(client, {"service_code": "environment", "description": text,
                                      "address_string": "chợ Đông Ba\x07, phường Phú Xuân"})
    await _public(client, code)
    got = {}
    for fmt, check in (("json", check_json), ("xml", check_xml)):
        resp = await client.get(f"{V2}/requests/{code}.{fmt}")
        [got[fmt]] = check("requests", await resp.read(), resp.headers["Content-Type"])
    same_data(got["xml"], got["json"])
    for fmt in ("json", "xml"):
        description = got[fmt]["description"]
        assert not any(c in description for c in "\x01\x0b\x1b"), (fmt, description)
        assert "Đông" in description and "\x07" not in got[fmt]["address"]
    assert got["json"]["description"] == got["xml"]["description"]
