"""`python main.py demo`: the whole flow for a newcomer, with no credentials.

Sample messages go through each channel's real intake code — signed webhooks over HTTP for
Messenger, Zalo and Telegram, an Open311 form POST, a raw email as the IMAP poller stores it, a
hotline CSV through the importer — into reports that are classified, placed and routed. The
monitoring center then moves each report along through the agency API, and every message the hub
sends back is captured by loopback fakes of the channels' APIs (and an SMTP sink) and printed.
"""
from __future__ import annotations

import asyncio
import base64
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from hub.demo.fakeapi import FakeAPI

EMAIL = """From: Trần Thị Mai <mai.tran@example.vn>
To: dttm@hue.example.vn
Subject: Cây xanh gãy đổ chắn đường
Message-ID: <demo-1@example.vn>
Date: Mon, 30 Nov 2026 08:00:00 +0700
Content-Type: text/plain; charset=utf-8

Kính gửi Trung tâm,
Cây xanh trên đường Lê Lợi, phường Thuận Hóa bị gãy đổ sau mưa, chắn ngang vỉa hè.
Số điện thoại liên hệ: 0905 123 456.
"""

HOTLINE_CSV = (
    "mã cuộc gọi,thời gian,số điện thoại,điện thoại viên,nội dung,địa chỉ\n"
    "CALL-0001,30/11/2026 08:15,0914 222 333,ĐTV Hoa,"
    "Công trình xây dựng không phép lấn chiếm vỉa hè,12 kiệt 5 Nguyễn Huệ phường Thuận Hóa\n"
)


def _print(title: str) -> None:
    print(f"\n== {title}")


def script_channel_answers(api: FakeAPI, bot_token: str) -> None:
    """Make a FakeAPI answer like Graph, Zalo (API + OAuth), Telegram and an SMS gateway do when
    all goes well (the demo and the intake benchmark use it)."""
    async def graph(request: web.Request, body: bytes) -> web.Response:
        recipient = json.loads(body)["recipient"]["id"]
        return web.json_response({"recipient_id": recipient, "message_id": f"m_{time.time_ns()}"})

    async def telegram_send(request: web.Request, body: bytes) -> web.Response:
        data = json.loads(body) if body.startswith(b"{") else dict(await request.post())
        return web.json_response({"ok": True, "result": {
            "message_id": 1, "date": int(time.time()), "text": data.get("text", ""),
            "chat": {"id": int(data["chat_id"]), "type": "private"}}})

    api.on("POST", "/me/messages", default=graph)
    api.on("POST", "/v3.0/oa/message/cs", default={"error": 0, "message": "Success",
                                                    "data": {"message_id": "zalo-msg-1"}})
    api.on("POST", "/v4/oa/access_token", default={"access_token": "demo-access-2",
                                                   "refresh_token": "demo-refresh-2",
                                                   "expires_in": "90000"})
    api.on("POST", f"/bot{bot_token}/getMe", default={"ok": True, "result": {
        "id": 7000000001, "is_bot": True, "first_name": "Phản ánh Huế", "username": "phananh_bot"}})
    api.on("POST", f"/bot{bot_token}/sendMessage", default=telegram_send)
    api.on("POST", "/sms", default={"status": "queued"})


def _smtp_sink() -> tuple[Any, list[Any]]:
    """An aiosmtpd sink when installed (it is with the test extras), else None."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        return None, []
    received: list[Any] = []

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            received.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, received


def demo_settings(tmp: Path, api_base: str, smtp_port: int | None) -> Any:
    from hub.demo.samples import messenger, telegram, zalo
    from hub.demo.samples import web as web_load
    from hub.settings import Settings, _deep_merge

    data: dict[str, Any] = {
        "log_level": "ERROR", "log_format": "text",
        "server": {"public_base_url": "http://127.0.0.1:8080"},
        "database": {"url": f"sqlite+aiosqlite:///{tmp / 'demo.db'}"},
        "storage": {"media_dir": str(tmp / "media")},
        "workers": {"poll_seconds": 0.05},
        "channels": {"hotline": {"enabled": True, "sms_gateway_url": api_base + "/sms"}},
        "agencies": [
            {"id": "qldt-thuan-hoa", "name": "Phòng Kinh tế, Hạ tầng và Đô thị phường Thuận Hóa",
             "categories": ["construction_order", "urban_infrastructure"], "areas": ["Phường Thuận Hóa"]},
            {"id": "so-xay-dung", "name": "Sở Xây dựng thành phố Huế",
             "categories": ["traffic_infrastructure", "urban_infrastructure", "construction_order"]},
            {"id": "moi-truong", "name": "Công ty Môi trường và Công trình đô thị Huế",
             "categories": ["environment"]},
            {"id": "cong-an", "name": "Công an thành phố Huế", "categories": ["public_order"]},
            {"id": "so-du-lich", "name": "Sở Du lịch thành phố Huế", "categories": ["tourism"]},
            {"id": "so-noi-vu", "name": "Sở Nội vụ thành phố Huế", "categories": ["public_service"]},
        ],
    }
    for load in (messenger, zalo, telegram, web_load):
        data = _deep_merge(data, load.settings(api_base))
    if smtp_port:
        data = _deep_merge(data, {"channels": {"email": {
            "enabled": True, "imap_host": "127.0.0.1", "imap_port": 1, "imap_ssl": False,
            "username": "dttm", "password": "demo", "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port, "smtp_starttls": False,
            "from_address": "dttm@hue.example.vn"}}})
    data["base_dir"] = str(tmp)
    return Settings.model_validate(data)


async def _wait(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)


async def run_demo() -> int:
    from hub.app import create_app
    from hub.demo.samples import messenger, telegram, zalo
    from hub.demo.samples import web as web_load
    from hub.keys import HUB_KEY
    from store.models import InboxEvent, OutboxMessage, Report
    from store.tokens import issue_token

    tmp = Path(tempfile.mkdtemp(prefix="hub-demo-"))
    api = FakeAPI()
    await api.start()
    script_channel_answers(api, telegram.BOT_TOKEN)
    controller, mails = _smtp_sink()
    settings = demo_settings(tmp, api.url, controller.port if controller else None)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    hub = client.app[HUB_KEY]
    try:
        _print("1. Citizens write on their channels (each through the channel's real intake)")
        now_ms = int(time.time() * 1000)
        requests = [("messenger", messenger.requests(1, timestamp_ms=now_ms)[0]),
                    ("zalo", zalo.requests(1, start=3)[0]), ("telegram", telegram.requests(1, start=5)[0]),
                    ("web", web_load.requests(1, start=7)[0])]
        for name, (path, headers, body) in requests:
            resp = await client.post(path, data=body, headers=headers)
            print(f"  {name:9} POST {path} → HTTP {resp.status}")
        if "email" in hub.channels:
            await hub.intake.submit("email", "<demo-1@example.vn>", {
                "raw": base64.b64encode(EMAIL.encode()).decode(), "uid": 1, "uidvalidity": 1,
                "mailbox": "INBOX", "external_id": "<demo-1@example.vn>"})
            print("  email     stored as the IMAP poller stores a fetched mail")
        from channels.hotline.cli import run_import

        csv_path = tmp / "hotline.csv"
        csv_path.write_text(HOTLINE_CSV, encoding="utf-8")
        [summary] = await run_import(settings, [csv_path], stream=open("/dev/null", "w"))  # noqa: SIM115
        print(f"  hotline   import-hotline {csv_path.name}: imported {summary.imported}, "
              f"already imported {summary.duplicates}, rejected {summary.rejected}")

        async def processed() -> bool:
            async with hub.sessions() as session:
                return not (await session.execute(select(func.count()).select_from(InboxEvent).where(
                    InboxEvent.state.in_(("pending", "claimed"))))).scalar()
        await _wait(processed)

        _print("2. Reports: classified, placed and routed")
        async with hub.sessions() as session:
            reports = list((await session.execute(select(Report).order_by(Report.id))).scalars())
        for r in reports:
            print(f"  {r.code} [{r.channel:9}] {r.category or '-':22} "
                  f"{(r.category_confidence or 0):.2f}  ward={r.ward or '-':20} → "
                  f"{r.agency_id or 'TRIAGE (center)'} ({r.status})")
            print(f"      “{(r.description or '').splitlines()[0][:90]}”")

        _print("3. The center and the agencies work the reports (agency API)")
        async with hub.sessions() as session, session.begin():
            token = await issue_token(session, "center")
        auth = {"Authorization": f"Bearer {token}"}
        for r in reports:
            if r.status == "triage":
                resp = await client.post(f"/api/v1/reports/{r.code}/route", headers=auth,
                                         json={"agency": "so-noi-vu", "category": "public_service"})
                print(f"  {r.code}: center routes it from triage → HTTP {resp.status}")
            for status, note in (("in_progress", "Đã cử cán bộ kiểm tra hiện trường."),
                                 ("resolved", "Đã xử lý xong, hiện trường đã được khắc phục.")):
                resp = await client.post(f"/api/v1/reports/{r.code}/status", headers=auth,
                                         json={"status": status, "note": note})
                print(f"  {r.code}: → {status:11} HTTP {resp.status}")

        async def drained() -> bool:
            async with hub.sessions() as session:
                return not (await session.execute(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.state.in_(("pending", "sending"))))).scalar()
        await _wait(drained)
        await asyncio.sleep(0.3)

        _print("4. What went back to each citizen, on the channel they came from")
        for call in api.calls:
            if call.method != "POST" or call.path.endswith(("/getMe", "/access_token")):
                continue
            try:
                body = call.json()
            except ValueError:  # form-encoded (python-telegram-bot may send either)
                from urllib.parse import parse_qsl

                body = dict(parse_qsl(call.body.decode()))
            if call.path == "/me/messages":
                print(f"  Messenger → {body['recipient']['id']}: {body['message']['text']!r}")
            elif call.path.endswith("/message/cs"):
                message = body["message"]
                shown = message.get("text") or "[thẻ yêu cầu chia sẻ thông tin: " + (
                    message["attachment"]["payload"]["elements"][0]["subtitle"] + "]")
                print(f"  Zalo OA   → {body['recipient']['user_id']}: {shown!r}")
            elif call.path.endswith("/sendMessage"):
                print(f"  Telegram  → chat {body.get('chat_id')}: {body.get('text')!r}")
            elif call.path == "/sms":
                print(f"  SMS       → {call.body.decode()[:200]}")
        for envelope in mails:
            from email import message_from_bytes
            from email.policy import default

            msg = message_from_bytes(envelope.content, policy=default)
            print(f"  Email     → {msg['To']}: {msg['Subject']!r}: "
                  f"{msg.get_body(('plain',)).get_content().strip().splitlines()[0]!r}")
        async with hub.sessions() as session:
            web_rows = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.channel == "web"))).scalars().all()
        for row in web_rows:
            print(f"  Web/app   → status page {settings.server.public_base_url}/r/… : "
                  f"{row.payload['text'].splitlines()[0]!r}")
        print(f"\nDemo database: {tmp / 'demo.db'} (try: python main.py export --config …)")
    finally:
        await client.close()
        await api.close()
        if controller is not None:
            controller.stop()
    return 0
