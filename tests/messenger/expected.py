"""What each fixture in tests/fixtures/messenger must parse into (see summaries.summarize).

Fixture timestamps are 2026-01-01T00:00:00Z (1767225600000 ms) plus an offset. "HASH" stands
for a stable hash key (echoes, receipts, reactions, edits: events without a citizen ``mid``).
"""
# ruff: noqa: E501
from __future__ import annotations

from typing import Any

U1, U2, U3, PAGE = "6623480917364512", "7719302846152093", "5518273649201837", "104857600123456"
T0 = "2026-01-01T00:00:00+00:00"
CDN = "https://scontent.xx.fbcdn.net/v/t1.15752-9/"

EXPECTED: dict[str, list[dict[str, Any]]] = {
    "batch__several_entries": [
        {'kind': 'message', 'id': 'm_batch_1', 'sender': U1, 'text': 'Lấn chiếm vỉa hè trên đường Trần Hưng Đạo', 'sent_at': T0},
        {'kind': 'ignore', 'id': 'HASH', 'sender': PAGE, 'reason': 'echo of a page message'},
        {'kind': 'delivery', 'id': 'HASH', 'sender': U1, 'provider_ids': ['m_out_1'], 'delivery_state': 'delivered', 'watermark': '2026-01-01T00:00:00.020000+00:00'},
        {'kind': 'message', 'id': 'm_batch_2', 'sender': U2, 'text': 'Nước thải chảy tràn ra đường Phan Đình Phùng', 'sent_at': '2026-01-01T00:00:00.030000+00:00'},
        {'kind': 'ignore', 'id': 'HASH', 'sender': U2, 'reason': 'reaction'},
        {'kind': 'message', 'id': 'm_batch_3', 'sender': U3, 'text': 'Karaoke gây ồn sau 23 giờ', 'sent_at': '2026-01-01T00:00:00.050000+00:00', 'attachments': [('image', CDN + 'c.jpg')], 'standby': True},
    ],
    "changes__postback_user_ref": [
        {'kind': 'message', 'id': 'm_MESSAGE-ID', 'sender': 'user_ref:USER-REF-ID', 'text': 'Gửi phản ánh', 'sent_at': '2018-05-27T22:23:44+00:00', 'postback_payload': 'REPORT'},
    ],
    "delivery__mids": [
        {'kind': 'delivery', 'id': 'HASH', 'sender': U1, 'provider_ids': ['m_page_ack_001'], 'delivery_state': 'delivered', 'watermark': '2026-01-01T00:00:01+00:00'},
    ],
    "message__audio": [
        {'kind': 'message', 'id': 'm_aud_001', 'sender': U1, 'sent_at': T0, 'attachments': [('audio', 'https://cdn.fbsbx.com/v/t59.3654-21/voice.mp4')]},
    ],
    "message__empty": [
        {'kind': 'ignore', 'id': 'm_empty_001', 'sender': U1, 'reason': 'empty message'},
    ],
    "message__fallback_link": [
        {'kind': 'message', 'id': 'm_fb_001', 'sender': U1, 'text': 'Xem bài này https://example.vn/tin', 'sent_at': T0, 'attachments': [('link', 'https://example.vn/tin')]},
    ],
    "message__file": [
        {'kind': 'message', 'id': 'm_file_001', 'sender': U1, 'sent_at': T0, 'attachments': [('file', 'https://cdn.fbsbx.com/v/t59.2708-21/don-phan-anh.pdf')]},
    ],
    "message__image": [
        {'kind': 'message', 'id': 'm_img_001', 'sender': U1, 'sent_at': T0, 'attachments': [('image', CDN + 'photo1.jpg?_nc_cat=1&oh=abc')]},
    ],
    "message__location_fallback_map_link": [
        {'kind': 'message', 'id': 'm_loc_003', 'sender': U1, 'sent_at': T0, 'location': (16.4551, 107.5962, None)},
    ],
    "message__location_legacy": [
        {'kind': 'message', 'id': 'm_loc_001', 'sender': U1, 'sent_at': T0, 'location': (16.4637, 107.5909, None)},
    ],
    "message__location_named_place": [
        {'kind': 'message', 'id': 'm_loc_002', 'sender': U1, 'sent_at': T0, 'location': (16.4739, 107.5887, 'Chợ Đông Ba')},
    ],
    "message__quick_reply": [
        {'kind': 'message', 'id': 'm_qr_001', 'sender': U1, 'text': 'Môi trường', 'sent_at': T0, 'quick_reply_payload': 'CATEGORY_ENVIRONMENT', 'category_hint': 'environment'},
    ],
    "message__quick_reply_email": [
        {'kind': 'contact', 'id': 'm_qr_email', 'sender': U1, 'text': 'Citizen.Hue@example.com', 'sent_at': T0, 'contact': {'email': 'citizen.hue@example.com'}, 'quick_reply_payload': 'Citizen.Hue@example.com'},
    ],
    "message__quick_reply_phone": [
        {'kind': 'contact', 'id': 'm_qr_phone', 'sender': U1, 'text': '+84905123456', 'sent_at': T0, 'contact': {'phone': '+84905123456'}, 'quick_reply_payload': '+84905123456'},
    ],
    "message__reel": [
        {'kind': 'message', 'id': 'm_reel_001', 'sender': U1, 'sent_at': T0, 'attachments': [('video', 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1')]},
    ],
    "message__reply_to": [
        {'kind': 'message', 'id': 'm_reply_001', 'sender': U1, 'text': 'Đến nay vẫn chưa ai xử lý', 'sent_at': T0, 'reply_to_mid': 'm_page_ack_001'},
    ],
    "message__standby": [
        {'kind': 'message', 'id': 'm_sb_001', 'sender': U1, 'text': 'Tôi nhắn lúc nhân viên đang trực', 'sent_at': T0, 'standby': True},
    ],
    "message__status_command": [
        {'kind': 'command', 'id': 'm_cmd_001', 'sender': U1, 'text': 'Tra cứu PA-2026-000042', 'sent_at': T0, 'report_code': 'PA-2026-000042', 'command': 'status'},
    ],
    "message__sticker": [
        {'kind': 'contact', 'id': 'm_stk_001', 'sender': U1, 'sent_at': T0, 'attachments': [('sticker', 'https://scontent.xx.fbcdn.net/v/t39.1997-6/like.png')], 'reason': 'sticker only'},
    ],
    "message__text": [
        {'kind': 'message', 'id': 'm_text_001', 'sender': U1, 'text': 'Đường Lê Lợi trước số 12 có ổ gà rất lớn, xe máy dễ té ngã.', 'sent_at': T0},
    ],
    "message__text_nfd": [
        {'kind': 'message', 'id': 'm_text_nfd', 'sender': U1, 'text': 'Cây xanh ngã đổ chắn đường Hùng Vương', 'sent_at': T0},
    ],
    "message__text_string_timestamp": [
        {'kind': 'message', 'id': 'm_text_002', 'sender': U1, 'text': 'Rác thải ùn ứ ở chợ Đông Ba', 'sent_at': T0},
    ],
    "message__text_with_images": [
        {'kind': 'message', 'id': 'm_img_002', 'sender': U1, 'text': 'Đèn đường hỏng cả tuần nay', 'sent_at': T0, 'attachments': [('image', CDN + 'a.jpg'), ('image', CDN + 'b.jpg')]},
    ],
    "message__unknown_attachment": [
        {'kind': 'message', 'id': 'm_tpl_001', 'sender': U1, 'sent_at': T0, 'attachments': [('link', 'https://lookaside.fbsbx.com/story/1')]},
    ],
    "message__video": [
        {'kind': 'message', 'id': 'm_vid_001', 'sender': U1, 'sent_at': T0, 'attachments': [('video', 'https://video.xx.fbcdn.net/v/t42.3356-2/clip.mp4')]},
    ],
    "message_echo__text": [
        {'kind': 'ignore', 'id': 'HASH', 'sender': PAGE, 'reason': 'echo of a page message'},
    ],
    "message_edit__text": [
        {'kind': 'edit', 'id': 'HASH', 'sender': U1, 'text': 'Đường Lê Lợi trước số 14 có ổ gà rất lớn, xe máy dễ té ngã.', 'sent_at': '2026-01-01T00:01:00+00:00', 'edited_external_id': 'm_text_001'},
    ],
    "object__instagram": [
    ],
    "optin__notification_messages": [
        {'kind': 'ignore', 'id': 'HASH', 'sender': U1, 'reason': 'optin'},
    ],
    "postback__button": [
        {'kind': 'message', 'id': 'm_pb_001', 'sender': U1, 'text': 'Phản ánh vệ sinh môi trường', 'sent_at': T0, 'postback_payload': 'CATEGORY_ENVIRONMENT', 'category_hint': 'environment'},
    ],
    "postback__get_started": [
        {'kind': 'command', 'id': 'm_pb_002', 'sender': U1, 'sent_at': T0, 'command': 'start', 'postback_payload': 'GET_STARTED'},
    ],
    "reaction__react": [
        {'kind': 'ignore', 'id': 'HASH', 'sender': U1, 'reason': 'reaction'},
    ],
    "read__watermark": [
        {'kind': 'delivery', 'id': 'HASH', 'sender': U1, 'sent_at': '2026-01-01T00:00:02.500000+00:00', 'delivery_state': 'read', 'watermark': '2026-01-01T00:00:02+00:00'},
    ],
    "referral__shortlink": [
        {'kind': 'ignore', 'id': 'HASH', 'sender': U1, 'reason': 'referral'},
    ],
    "test__dashboard_minimal": [
        {'kind': 'ignore', 'id': 'HASH', 'sender': '', 'reason': 'malformed message'},
    ],
    "unknown__future_kind": [
        {'kind': 'ignore', 'id': 'HASH', 'sender': U1, 'reason': 'unknown event kind: message_template_status'},
    ],
}
