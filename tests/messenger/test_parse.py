"""Messenger parsing beyond the fixtures (tests/test_channel_fixtures.py runs every POST body in
tests/fixtures/messenger against its .expected.json): keys, timestamps, malformed bodies, Meta's
own documentation examples."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from channels.messenger.adapter import MalformedBatch, split_batch
from channels.messenger.parse import EVENT_PARSERS, event_key, parse_payload, to_datetime

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "messenger"


def test_split_keys_are_message_ids_or_stable_hashes() -> None:
    body = json.loads((FIXTURES / "batch__several_entries.json").read_text(encoding="utf-8"))
    keys = [e.external_id for e in split_batch(body)]
    assert keys[0] == "m_batch_1" and keys[3] == "m_batch_2" and keys[5] == "m_batch_3"
    assert all(k.startswith("h:") for k in (keys[1], keys[2], keys[4]))
    # Redelivery (even re-serialized with another key order) gives the same keys.
    reordered = json.loads(json.dumps(body, sort_keys=True))
    assert [e.external_id for e in split_batch(reordered)] == keys
    # The stored payload carries its key, so parse() reports the inbox key as external_id.
    assert [e.payload["key"] for e in split_batch(body)] == keys


def test_edit_key_differs_from_the_edited_message() -> None:
    edit = {"sender": {"id": "1"}, "message_edit": {"mid": "m_1", "text": "x", "num_edit": 1}}
    again = {"sender": {"id": "1"}, "message_edit": {"mid": "m_1", "text": "y", "num_edit": 2}}
    assert event_key(edit) != "m_1" and event_key(edit) != event_key(again)


@pytest.mark.parametrize("body", [[], "text", 3, {"object": "page"}, {"entry": {"id": 1}}])
def test_malformed_batches_are_refused(body: object) -> None:
    with pytest.raises(MalformedBatch):
        split_batch(body)


@pytest.mark.parametrize(("value", "expected"), [
    (1767225600000, datetime(2026, 1, 1, tzinfo=UTC)),
    ("1767225600000", datetime(2026, 1, 1, tzinfo=UTC)),
    ("1767225600", datetime(2026, 1, 1, tzinfo=UTC)),
    (1767225600.5, datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ("2026-01-01T07:00:00+07:00", datetime(2026, 1, 1, tzinfo=UTC)),
    ("TIMESTAMP", None), (None, None), (True, None), (-5, None), ({"t": 1}, None),
])
def test_timestamps(value: object, expected: datetime | None) -> None:
    assert to_datetime(value) == expected


def test_supported_kinds_come_from_the_table() -> None:
    assert {"message", "message_edit", "postback", "delivery", "read", "reaction"} <= set(
        EVENT_PARSERS)


def _meta_examples() -> list[Path]:
    """Meta's published examples, copied into the repository (SOURCES.md says from where)."""
    return sorted((Path(__file__).resolve().parent.parent / "fixtures" / "messenger" / "meta_doc")
                  .glob("meta_doc_*.json"))


def test_meta_examples_are_in_the_repository() -> None:
    assert len(_meta_examples()) >= 14


@pytest.mark.parametrize("path", _meta_examples(), ids=lambda p: p.stem)
def test_meta_documentation_examples_never_crash(path: Path) -> None:
    """Meta's published examples, placeholders and all, parse into something (often ignore)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if "entry" in data:
        payloads = [e.payload for e in split_batch(data)]
    elif "messaging" in data:
        payloads = [e.payload for e in split_batch({"object": "page", "entry": [data]})]
    elif "value" in data:
        payloads = [{"event": data["value"]}]
    elif "error" in data:
        pytest.skip("a Send API error body, covered by the sender tests")
    else:
        payloads = [{"event": data}]
    for payload in payloads:
        messages = parse_payload(payload)
        assert messages and all(m.channel == "messenger" for m in messages)
