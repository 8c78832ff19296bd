"""The report page, ``/console/reports/{code}``: what happened, where, who said what, and
whether our messages reached the citizen. Read-only for now; the actions (route, status, reply,
merge, reject) come with the router's narrow context.

An agency officer asking for another agency's report gets the same 404 as for a code that does
not exist, so codes cannot be probed.
"""
from __future__ import annotations

from aiohttp import web

from store.accounts import known_agencies
from store.models import utcnow
from store.report_detail import report_detail
from web.console.keys import CONFIG_KEY, SESSIONS_KEY, USER_KEY
from web.console.queue import sla_state
from web.console.render import render

ATTACHMENT_KINDS = {"image": "Ảnh", "video": "Video", "audio": "Ghi âm", "file": "Tệp",
                    "location": "Vị trí"}
EVENT_KINDS = {"status": "Trạng thái", "message": "Tin nhắn", "note": "Ghi chú", "reply": "Trả lời",
               "notification": "Thông báo", "delivery": "Chuyển đơn vị", "classification": "Phân loại"}
ACTORS = {"system": "Hệ thống", "citizen": "Người phản ánh", "center": "Trung tâm"}
DELIVERY_STATES = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "retry": "Sẽ gửi lại",
                   "dead": "Không gửi được", "paused": "Tạm dừng"}


async def report_page(request: web.Request) -> web.Response:
    user = request[USER_KEY]
    config = request.config_dict[CONFIG_KEY]
    code = request.match_info["code"].strip().upper()
    async with request.config_dict[SESSIONS_KEY]() as session:
        detail = await report_detail(session, code,
                                     agency_id=(user.agency_id or "") if user.role == "agency" else None)
        agencies = await known_agencies(session)
    if detail is None:
        return render(request, "console/error.html", {
            "title": "Không tìm thấy", "message": f"Không có phản ánh {code} trong phạm vi của bạn."},
            status=404)
    now = utcnow()

    def actor(name: str) -> str:
        return detail.officers.get(name) or ACTORS.get(name) or agencies.get(name, name)

    return render(request, "console/report.html", {
        "title": f"Phản ánh {code}", "d": detail, "r": detail.report, "sla": sla_state(
            detail.report.due_at, detail.report.status, now),
        "tile_url": config.tile_url, "tile_attribution": config.tile_attribution,
        "attachment_kinds": ATTACHMENT_KINDS, "event_kinds": EVENT_KINDS,
        "delivery_states": DELIVERY_STATES, "actor": actor})


def routes() -> list[web.RouteDef]:
    return [web.get("/reports/{code}", report_page)]
