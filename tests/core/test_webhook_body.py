"""The shared webhook handler parses a body at most once, whichever step needs it first."""
from __future__ import annotations

import pytest

from channels.webhook import Body, Refused, loads


def test_json_is_decoded_once_and_a_refusal_is_remembered() -> None:
    calls: list[bytes] = []

    def counting(raw: bytes):
        calls.append(raw)
        return loads(raw)

    body = Body(b'{"app_id": "1", "event_name": "user_send_text"}', counting)
    assert body.json() is body.json()  # precheck, authenticate and split share one parse
    assert len(calls) == 1

    broken = Body(b"{not json", counting)
    for _ in range(2):
        with pytest.raises(Refused) as err:
            broken.json()
        assert err.value.status == 400
    assert len(calls) == 2
