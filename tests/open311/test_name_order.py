"""Vietnamese names are family name first. An Open311 request's first_name (given) and
last_name (family) make "last first" ("Nguyễn Văn A"), and an agency reached over Open311 gets
them back split the same way: first_name "Văn A", last_name "Nguyễn"."""
from __future__ import annotations

import pytest

from channels.open311.adapter import parse_request
from router.open311_client import _given_family
from tests.conftest import wait_for
from tests.open311.fake_agency import FakeAgencyOpen311
from tests.open311.test_agency_route import _agencies, _sent_row
from tests.router.helpers import ROAD_FORM, post_report, report, token


@pytest.mark.parametrize(("name", "given", "family"), [
    ("Nguyễn Văn A", "Văn A", "Nguyễn"), ("Nguyễn Thị Lan", "Thị Lan", "Nguyễn"), ("Lan", "Lan", "")])
def test_the_name_round_trips_through_first_and_last_name(name, given, family):
    assert _given_family(name) == (given, family)
    form = {"service_code": "environment", "description": "Rác", "address_string": "Huế",
            "first_name": given, "last_name": family, "_token": "t"}
    assert parse_request(form).contact.name == name


def test_the_family_name_comes_first():
    form = {"service_code": "environment", "description": "Rác", "address_string": "Huế",
            "first_name": "Văn", "last_name": "Nguyễn", "_token": "t"}
    assert parse_request(form).contact.name == "Nguyễn Văn"
    assert parse_request({**form, "first_name": ""}).contact.name == "Nguyễn"
    assert parse_request({**form, "last_name": "  "}).contact.name == "Văn"


async def test_the_api_shows_and_the_agency_gets_the_name_in_order(settings_factory, hub_client):
    agency = await FakeAgencyOpen311().start()
    try:
        client = await hub_client(settings_factory(agencies=_agencies(agency.endpoint)))
        code = await post_report(client, {**ROAD_FORM, "first_name": "Văn A", "last_name": "Nguyễn"})
        center = await token(client, "center")
        if (await report(client, code)).status == "triage":
            resp = await client.post(f"/api/v1/reports/{code}/route", headers=center,
                                     json={"category": "traffic_infrastructure"})
            assert resp.status == 200, await resp.text()
        shown = await (await client.get(f"/api/v1/reports/{code}", headers=center)).json()
        assert shown["citizen"]["name"] == "Nguyễn Văn A", shown["citizen"]
        row = await _sent_row(client, code)
        assert row.state == "sent", row.last_error
        [form] = await wait_for(lambda: _posts(agency))
        assert (form["first_name"], form["last_name"]) == ("Văn A", "Nguyễn")
    finally:
        await agency.close()


async def _posts(agency):
    return agency.posts or None
