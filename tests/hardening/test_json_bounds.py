"""Probe 1: a JSON body nested 100,000 deep (or merely deeper than any provider sends) is a clean
400 on every route that parses JSON — unsigned on Zalo, signed on Messenger and Telegram, after
auth on the agency API — and a cut-off multipart body on Open311 is a 400, never a 500."""
from __future__ import annotations

import json

import pytest

from normalizer.jsonsafe import MAX_DEPTH, JSONRefused, json_depth_ok, loads_bounded

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJ = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def just_too_deep(kind: str = "[") -> bytes:
    close = "]" if kind == "[" else "}"
    opener = "[" if kind == "[" else '{"k":'
    return (opener * (MAX_DEPTH + 1) + "1" + close * (MAX_DEPTH + 1)).encode()


@pytest.mark.parametrize("raw, ok", [
    (b"[]", True), (b'{"a":[1,{"b":"[[[[["}]}', True),
    (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, True),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), False),
    (b'"' + b"[" * 10_000 + b'"', True),  # brackets inside a string do not nest
    (b'["\\"' + b"[" * 10_000 + b'"]', True),  # nor after an escaped quote
    (DEEP, False), (DEEP_OBJ, False),
    (b"[" * 100 + b"}" * 100, False),
])
def test_depth_scan(raw, ok):
    assert json_depth_ok(raw) is ok


def test_loads_bounded_refuses_cleanly():
    for raw in (DEEP, DEEP_OBJ, just_too_deep("{"), b"{", b"\xff\xfe", b""):
        with pytest.raises(JSONRefused):
            loads_bounded(raw)
    with pytest.raises(JSONRefused):
        loads_bounded(b"[1]" * 10, max_bytes=5)
    assert loads_bounded(b'{"a": [1, 2]}') == {"a": [1, 2]}


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJ, just_too_deep("["), just_too_deep("{")],
                         ids=["arrays_100k", "objects_100k", "arrays_65", "objects_65"])
async def test_deep_json_is_a_400_on_every_route(channels_hub, body):
    hub = await channels_hub(run_workers=False)
    # Zalo: no signature is even needed to reach the parser (its URL check reads the body).
    resp = await hub.zalo(body, headers={"Content-Type": "application/json"})
    assert resp.status in (400, 401), (resp.status, await resp.text())
    resp = await hub.zalo(body, headers={"Content-Type": "application/json",
                                         "X-ZEvent-Signature": "mac=00"})
    assert resp.status == 400, await resp.text()
    resp = await hub.messenger(body)
    assert resp.status == 400, await resp.text()
    resp = await hub.telegram(body)
    assert resp.status == 400, await resp.text()
    for path in ("/api/v1/reports/HUE-1/status", "/api/v1/reports/HUE-1/reply",
                 "/api/v1/reports/HUE-1/route", "/api/v1/reports/HUE-1/note"):
        resp = await hub.agency(path, body)
        assert resp.status == 400, (path, resp.status, await resp.text())
        assert "error" in json.loads(await resp.text())


async def test_ordinary_bodies_still_accepted(channels_hub):
    from tests.hardening.conftest import zalo_event

    hub = await channels_hub(run_workers=False)
    resp = await hub.zalo(zalo_event())
    assert resp.status == 200, await resp.text()
    resp = await hub.telegram(json.dumps({"update_id": 5, "message": {
        "message_id": 1, "date": 1767600000, "chat": {"id": 9, "type": "private"},
        "text": "Đèn đường hỏng"}}).encode())
    assert resp.status == 200


@pytest.mark.parametrize("body", [
    b'--zz\r\nContent-Dispos',
    b'--zz\r\nContent-Disposition: form-data; name="description"\r\n',
    b'--zz\r\nContent-Disposition: form-data; name="description"\r\n\r\nR\xc3\xa1c',
    b'--zz\r\nX: ' + b"a" * 9000,
    b'--zz\r\n\r\nabc',
    b'--zz--',
])
async def test_cut_off_multipart_is_a_400(settings_factory, hub_client, body):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    resp = await client.post("/open311/v2/requests.json", data=body,
                             headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert resp.status == 400, (resp.status, await resp.text())
