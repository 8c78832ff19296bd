"""Zalo parsing rules beyond the fixtures (tests/test_channel_fixtures.py runs every webhook body
in tests/fixtures/zalo against its .expected.json): exact big ids, reply addresses, stable keys,
the handler table."""
from __future__ import annotations

from channels.zalo.parse import SUPPORTED_EVENTS, external_id, loads, parse_event
from tests.zalo.support import USER, fixture_bytes


def test_ids_beyond_2_53_stay_exact_strings() -> None:
    payload = loads(fixture_bytes("user_send_text__numeric_ids"))
    assert payload["sender"]["id"] == "2468458835291979221"  # a float would give ...9200
    assert payload["timestamp"] == "1767253100005"
    assert payload["user_id_by_app"] == "5521772797175877301"


def test_reply_address_is_sender_id_never_user_id_by_app() -> None:
    [msg] = parse_event(loads(fixture_bytes("user_send_text__report")))
    assert msg.sender_id == USER and "reply_address" not in msg.meta
    assert msg.sender_id != loads(fixture_bytes("user_send_text__report"))["user_id_by_app"]


def test_events_without_msg_id_get_a_stable_key_that_ignores_key_order() -> None:
    a = loads(fixture_bytes("follow__docs_sample"))
    b = dict(reversed(list(a.items())))
    assert external_id(a) == external_id(b) and external_id(a).startswith("follow:h:")
    assert external_id({**a, "timestamp": "154397978275"}) != external_id(a)


def test_receipt_never_collides_with_the_echo_of_the_same_message() -> None:
    keys = {external_id(loads(fixture_bytes(n))) for n in
            ("oa_send_text__echo", "user_received_message__basic", "user_seen_message__basic")}
    assert len(keys) == 3


def test_supported_set_is_derived_from_the_handler_table() -> None:
    for kind in ("text", "image", "link", "audio", "video", "sticker", "gif", "location", "file",
                 "business_card"):
        assert f"user_send_{kind}" in SUPPORTED_EVENTS
    assert {"follow", "unfollow", "user_submit_info", "user_received_message",
            "user_seen_message"} <= SUPPORTED_EVENTS
