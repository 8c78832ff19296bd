"""One case per fixture: a Zalo webhook body → the InboundMessages the inbox worker applies."""
from __future__ import annotations

from typing import Any

import pytest

from channels.zalo.parse import SUPPORTED_EVENTS, external_id, loads, parse_event
from tests.zalo.support import USER, event_names, fixture_bytes

OA = "388613280878808645"
EXPECTED: dict[str, dict[str, Any]] = {
    "user_send_text__docs_sample": dict(kind="message", sender="246845883529197922",
                                        id="96d3cdf3af150460909", text="message"),
    "user_send_text__report": dict(kind="message", sender=USER, id="a1f0c3d9e2b74f0c8a11",
                                   text="Rác thải đổ trộm ven đường Tố Hữu, phường Xuân Phú mấy "
                                        "ngày nay bốc mùi", sent="2026-01-01T07:30:00.123000+00:00"),
    "user_send_text__numeric_ids": dict(kind="message", sender=USER, id="b4f3dac2f5a07e3d1b44",
                                        text="Cây xanh đổ chắn đường Lê Duẩn",
                                        sent="2026-01-01T07:38:20.005000+00:00"),
    "user_send_image__with_caption": dict(kind="message", text="Ổ gà lớn trước số 12 Lê Lợi",
                                          att=[("image", "https://f20-zpc.zdn.vn/1234567890/photo.jpg")]),
    "user_send_image__two_photos": dict(kind="message", text="", att=[
        ("image", "https://f21-zpc.zdn.vn/1/p1.jpg"), ("image", "https://f21-zpc.zdn.vn/2/p2.jpg")]),
    "user_send_gif__basic": dict(kind="message", att=[("image", "https://f22-zpc.zdn.vn/g/anim.gif")]),
    "user_send_link__basic": dict(kind="message", text="",
                                  att=[("link", "https://baothuathienhue.vn/bai-viet-123")]),
    "user_send_audio__voice": dict(kind="message", att=[("audio", "https://voice-talk.zdn.vn/v/voice.aac")]),
    "user_send_video__basic": dict(kind="message", text="Xe tải chở vật liệu rơi vãi",
                                   att=[("video", "https://video-talk.zdn.vn/v/clip.mp4")]),
    "user_send_file__pdf": dict(kind="message", att=[("file", "https://f23-zpc.zdn.vn/f/don-kien-nghi.pdf")]),
    "user_send_location__with_place_name": dict(
        kind="message", text="", loc=(16.4729431, 107.5882347, "Chợ Đông Ba, 2 Trần Hưng Đạo, Huế")),
    "user_send_location__coordinates_only": dict(kind="message", text="", loc=(16.4637, 107.5909, None)),
    "user_send_sticker__basic": dict(kind="ignore", id="e1b0adf9c2d74b0a8e11", reason="sticker"),
    "user_send_business_card__basic": dict(kind="message", text="Danh thiếp: Nhà thầu Minh Phát 0905123456",
                                           contact=None),
    "follow__docs_sample": dict(kind="contact", sender="24684588352919792", state="active"),
    "unfollow__basic": dict(kind="contact", sender=USER, state="unfollowed"),
    "user_submit_info__full": dict(kind="contact", sender=USER,
                                   contact=("Nguyễn Thị Lan", "+84905123456"),
                                   address="12 Nguyễn Trãi, Phường Phú Xuân, Thành phố Huế"),
    "user_received_message__basic": dict(kind="delivery", sender=USER, state="delivered",
                                         ids=["7f3a9c1e5b2d4a6c8e0f"]),
    "user_seen_message__basic": dict(kind="delivery", sender=USER, state="seen",
                                     ids=["7f3a9c1e5b2d4a6c8e0f", "8a4b0d2f6c3e5b7d9f1a"]),
    "oa_send_text__echo": dict(kind="ignore", id="oa_send_text:7f3a9c1e5b2d4a6c8e0f",
                               reason="echo of an OA message"),
    "anonymous_send_text__basic": dict(kind="message", sender="anonymous:an-7c1d2e3f4a5b",
                                       reply="anonymous:an-7c1d2e3f4a5b:cv-9f8e7d6c5b4a",
                                       text="Đèn đường hỏng cả tuần ở kiệt 5 Chi Lăng"),
    "user_reacted_message__heart": dict(kind="ignore", reason="reaction",
                                        id="user_reacted_message:7f3a9c1e5b2d4a6c8e0f"),
    "shop_has_order__unknown": dict(kind="ignore", reason="unknown event shop_has_order"),
}


def summary(msg: Any) -> dict[str, Any]:
    loc = msg.location
    return {
        "kind": msg.kind, "sender": msg.sender_id, "id": msg.external_id, "text": msg.text,
        "sent": msg.sent_at.isoformat() if msg.sent_at else None,
        "att": [(a.kind, a.url) for a in msg.attachments],
        "loc": (loc.lat, loc.lon, loc.address) if loc else None,
        "contact": (msg.contact.name, msg.contact.phone) if msg.contact else None,
        "state": msg.meta.get("contact_state") or msg.meta.get("delivery_state"),
        "ids": msg.meta.get("provider_ids"), "reason": msg.meta.get("reason"),
        "address": msg.meta.get("contact_address"), "reply": msg.meta.get("reply_address"),
    }


def test_every_fixture_has_an_expectation() -> None:
    assert set(event_names()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to(name: str) -> None:
    [msg] = parse_event(loads(fixture_bytes(name)))
    got = summary(msg)
    assert {k: got[k] for k in EXPECTED[name]} == EXPECTED[name]
    assert msg.channel == "zalo" and all(isinstance(v, str) for v in (msg.sender_id, msg.external_id))


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
