"""`hub demo`: the whole flow for a newcomer, with no credentials.

Sample messages go through each channel's real intake code — signed webhooks over HTTP for
Messenger, Zalo and Telegram, an Open311 form POST, a raw email as the IMAP poller stores it, a
hotline CSV through the importer — into reports that are classified, placed and routed; chat
citizens answer the intake questions. The center triages what the classifier was unsure of, the
agencies reply and resolve through the agency API, a citizen rates the result, and every message
the hub sends back is captured by loopback fakes of the channels' APIs (and an SMTP sink) and
printed. Everything lives in a temporary folder removed at the end (``--keep DIR`` keeps it,
with a settings file for ``hub export``).
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
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

# Citizen texts as people write them (a place in most; one too vague to classify → triage).
CHATS = {
    "messenger": "Rác thải tồn đọng lâu ngày ở kiệt 12 Nguyễn Trãi, phường Phú Xuân, bốc mùi hôi",
    "zalo": "Đèn chiếu sáng đường Lê Duẩn đoạn trước chợ Tây Lộc, phường Phú Xuân tắt cả tuần nay",
    "telegram": "Cho hỏi giấy này nộp ở đâu, chờ mãi không ai trả lời",
}
WEB = "Bãi đất trống cạnh trường học bị đổ xà bần và rác sinh hoạt, ruồi muỗi nhiều"
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
            {"id": "moi-truong", "name": "Công ty Cổ phần Môi trường và Công trình đô thị Huế",
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
            # The demo stores its mail as the poller would: no mailbox to fetch from.
            "enabled": True, "imap_enabled": False, "imap_host": "127.0.0.1", "imap_ssl": False,
            "username": "dttm", "password": "demo", "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port, "smtp_starttls": False,
            "from_address": "dttm@hue.example.vn"}}})
    data["base_dir"] = str(tmp)
    return Settings.model_validate(data)


async def _wait(check: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


def _dialogue_running(report: Any) -> bool:
    try:
        from hub.inbound.conversation import dialogue_done
    except ImportError:  # no intake dialogue in this version
        return False
    return report.status == "received" and not dialogue_done(report)


async def run_demo(keep: str | None = None) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if keep:
        folder = Path(keep).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return await _run(folder, keep=True)
    with tempfile.TemporaryDirectory(prefix="hub-demo-") as tmp:
        return await _run(Path(tmp), keep=False)


async def _run(tmp: Path, keep: bool) -> int:  # noqa: C901  (one linear story, printed as it goes)
    from hub.app import create_app
    from hub.demo.samples import messenger, telegram, zalo
    from hub.demo.samples import web as web_form
    from hub.keys import HUB_KEY
    from store.models import InboxEvent, OutboxMessage, Report
    from store.tokens import issue_token

    api = FakeAPI()
    await api.start()
    script_channel_answers(api, telegram.BOT_TOKEN)
    controller, mails = _smtp_sink()
    settings = demo_settings(tmp, api.url, controller.port if controller else None)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    hub = client.app[HUB_KEY]
    samples = {"messenger": messenger, "zalo": zalo, "telegram": telegram}
    citizen = {"messenger": 1, "zalo": 3, "telegram": 5}
    said = dict.fromkeys(samples, 0)

    async def say(channel: str, text: str) -> int:
        said[channel] += 1
        path, headers, body = samples[channel].message(citizen[channel], text, said[channel])
        return (await client.post(path, data=body, headers=headers)).status

    async def processed() -> bool:
        async with hub.sessions() as session:
            return not (await session.execute(select(func.count()).select_from(InboxEvent).where(
                InboxEvent.state.in_(("pending", "claimed"))))).scalar()

    async def drained() -> bool:
        async with hub.sessions() as session:
            return not (await session.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.state.in_(("pending", "sending"))))).scalar()

    async def all_reports() -> list[Report]:
        async with hub.sessions() as session:
            return list((await session.execute(select(Report).order_by(Report.id))).scalars())

    try:
        _print("1. Citizens write on their channels (each through the channel's real intake)")
        for channel, text in CHATS.items():
            status = await say(channel, text)
            print(f"  {channel:9} webhook → HTTP {status}: “{text}”")
        path, headers, body = web_form.message(WEB)
        resp = await client.post(path, data=body, headers=headers)
        print(f"  web       POST {path} → HTTP {resp.status}: “{WEB}”")
        if "email" in hub.channels:
            await hub.intake.submit("email", "<demo-1@example.vn>", {
                "raw": base64.b64encode(EMAIL.encode()).decode(), "uid": 1, "uidvalidity": 1,
                "mailbox": "INBOX", "external_id": "<demo-1@example.vn>"})
            print("  email     a mail, stored as the IMAP poller stores what it fetches")
        from channels.hotline.cli import run_import

        csv_path = tmp / "hotline.csv"
        csv_path.write_text(HOTLINE_CSV, encoding="utf-8")
        with open(csv_path.with_suffix(".log"), "w") as quiet:
            [summary] = await run_import(settings, [csv_path], stream=quiet)
        print(f"  hotline   import-hotline {csv_path.name}: imported {summary.imported}, "
              f"already imported {summary.duplicates}, rejected {summary.rejected}")
        await _wait(processed)
        # Chat citizens are asked what is missing (place, photo, phone); they skip the rest.
        for _ in range(4):
            waiting = {r.channel for r in await all_reports() if _dialogue_running(r)}
            if not waiting:
                break
            for channel in sorted(waiting & set(samples)):
                await say(channel, "bỏ qua")
                print(f"  {channel:9} the citizen answers the hub's question: “bỏ qua”")
            await _wait(processed)

        _print("2. Reports: classified, placed and routed (or left to the center to triage)")
        reports = await all_reports()
        for r in reports:
            print(f"  {r.code} [{r.channel:9}] {r.category or '-':22} "
                  f"{(r.category_confidence or 0):.2f}  ward={r.ward or '-':20} → "
                  f"{r.agency_id or 'TRIAGE (center)'} ({r.status})")
            print(f"      “{(r.description or '').splitlines()[0][:90]}”")

        _print("3. The center triages; agencies reply and resolve (agency API)")
        async with hub.sessions() as session, session.begin():
            tokens = {"center": await issue_token(session, "center")}
            for agency in settings.agencies:
                tokens[agency.id] = await issue_token(session, agency.id)

        def auth(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[who]}"}

        for r in reports:
            if r.agency_id is None:
                resp = await client.post(f"/api/v1/reports/{r.code}/route", headers=auth("center"),
                                         json={"agency": "so-noi-vu", "category": "public_service"})
                print(f"  {r.code}: the center triages it to so-noi-vu (public_service) → "
                      f"HTTP {resp.status}")
        reports = await all_reports()
        replied = False
        for r in reports:
            if r.agency_id is None:
                continue
            who = r.agency_id
            if not replied and r.channel == "telegram":
                text = "Thủ tục này nộp tại Trung tâm Phục vụ hành chính công, 01 Lê Lai; xin lỗi vì chậm trả lời."
                resp = await client.post(f"/api/v1/reports/{r.code}/reply", headers=auth(who),
                                         json={"text": text})
                print(f"  {r.code}: {who} replies to the citizen → HTTP {resp.status}")
                replied = True
            for status, note in (("in_progress", "Đã cử cán bộ kiểm tra hiện trường."),
                                 ("resolved", "Đã xử lý xong, hiện trường đã được khắc phục.")):
                resp = await client.post(f"/api/v1/reports/{r.code}/status", headers=auth(who),
                                         json={"status": status, "note": note})
                print(f"  {r.code}: {who} → {status:11} HTTP {resp.status}")
        await _wait(drained)

        _print("4. A citizen rates the result on Messenger")
        status = await say("messenger", "5 sao, cảm ơn các anh đã xử lý nhanh")
        print(f"  messenger webhook → HTTP {status}: “5 sao, cảm ơn các anh đã xử lý nhanh”")
        await _wait(processed)
        rated = [r for r in await all_reports() if r.rating_score]
        for r in rated:
            print(f"  {r.code}: rated {r.rating_score}/5 ({r.rating_comment or 'no comment'})")
        await _wait(drained)
        await asyncio.sleep(0.3)

        _print("5. What went back to each citizen, on the channel they came from")
        for call in api.calls:
            if call.method != "POST" or call.path.endswith(("/getMe", "/access_token")):
                continue
            try:
                body = call.json()
            except ValueError:  # form-encoded (python-telegram-bot may send either)
                from urllib.parse import parse_qsl

                body = dict(parse_qsl(call.body.decode()))
            if call.path == "/me/messages":
                print(f"  Messenger → {body['recipient']['id']}: {body['message'].get('text')!r}")
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
    finally:
        await client.close()
        await api.close()
        if controller is not None:
            controller.stop()
    if keep:
        cfg = tmp / "demo.toml"
        cfg.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp / "demo.db"}"\n'
                       f'[storage]\nmedia_dir = "{tmp / "media"}"\n', encoding="utf-8")
        print(f"\nThe demo's data is kept in {tmp}: try `.venv/bin/hub export --config {cfg}`")
    else:
        print("\nThe demo's temporary data is removed. Your own hub: `make run` (or "
              "`.venv/bin/hub serve`); see docs/deploy.md for a live HTTPS service.")
    return 0
