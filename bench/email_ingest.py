"""Email ingest benchmark: 1,000 mails in a real Dovecot → the hub's IMAP poller → reports →
one threaded acknowledgement each at an aiosmtpd sink.

The mix: citizen mails (distinct senders, Vietnamese text, some with a photo), auto-replies
(Auto-Submitted, X-Autoreply, Exchange OOF), bulk mail (Precedence, List-Unsubscribe) and bounces
(DSN). Mail is delivered into the Maildir before the hub starts; the clock runs from the hub's
start until every mail is in a report or skipped, and until every acknowledgement is at the sink.

    .venv/bin/python bench/email_ingest.py [--mails 1000] [--seed 7]

Prints one JSON line: mails/s, reports, skipped by reason, acks at the sink, lost, doubled.
Needs Dovecot (Debian: dovecot-imapd).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from tests.email.dovecot import Dovecot, available  # noqa: E402
from tests.email.smtp_sink import SmtpSink  # noqa: E402

CENTER = "phananh@hue.gov.vn"
PROBLEMS = ["Rác thải tồn đọng", "Đèn đường không sáng", "Ổ gà lớn trên mặt đường",
            "Lấn chiếm vỉa hè bán hàng", "Nước thải chảy tràn", "Xây dựng không phép",
            "Cây xanh gãy đổ", "Xích lô chặt chém khách du lịch"]
STREETS = ["Lê Lợi", "Hùng Vương", "Trần Hưng Đạo", "Nguyễn Huệ", "Điện Biên Phủ", "Bà Triệu"]
PHOTO = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x10" * 2000 + b"\xff\xd9").decode()


def citizen_mail(i: int, rnd: random.Random) -> bytes:
    problem, street = rnd.choice(PROBLEMS), rnd.choice(STREETS)
    head = (f"From: Công dân {i} <citizen{i}@gmail.com>\r\nTo: {CENTER}\r\n"
            f"Subject: {problem} đường {street}\r\nMessage-ID: <bench.{i}@mail.gmail.com>\r\n"
            f"Date: Mon, 07 Jul 2025 08:00:00 +0700\r\nMIME-Version: 1.0\r\n")
    text = f"{problem} tại số {i} đường {street}, phường Thuận Hóa. SĐT 0905{i:06d}"
    if i % 5:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n").encode()
    return (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n--b\r\n"
            'Content-Type: image/jpeg\r\nContent-Disposition: attachment; filename="anh.jpg"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + PHOTO + "\r\n--b--\r\n").encode()


def machine_mail(i: int, kind: str) -> bytes:
    headers = {"auto-submitted": "Auto-Submitted: auto-replied\r\n",
               "x-autoreply": "X-Autoreply: yes\r\n",
               "oof": "X-Auto-Response-Suppress: All\r\n",
               "precedence": "Precedence: bulk\r\n",
               "list": "List-Unsubscribe: <mailto:u@shop.vn>\r\n"}
    if kind == "bounce":
        return (f"From: MAILER-DAEMON@mx.example.org\r\nTo: {CENTER}\r\nSubject: Undelivered\r\n"
                f"Message-ID: <bounce.{i}@mx.example.org>\r\nMIME-Version: 1.0\r\n"
                'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
                "--d\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--d\r\n"
                "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
                f"Final-Recipient: rfc822; x{i}@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
                f"--d\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <other.{i}@example.org>\r\n"
                "\r\n--d--\r\n").encode()
    return (f"From: auto{i}@company.vn\r\nTo: {CENTER}\r\nSubject: Trả lời: thông báo\r\n"
            f"Message-ID: <auto.{i}@company.vn>\r\n{headers[kind]}"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nTôi đang nghỉ phép.\r\n").encode()


def make_mix(n: int, seed: int) -> tuple[list[bytes], int, Counter[str]]:
    rnd = random.Random(seed)
    kinds = ["auto-submitted", "x-autoreply", "oof", "precedence", "list", "bounce"]
    mails, machine = [], Counter()
    citizens = 0
    for i in range(n):
        if i % 10 == 9:  # one in ten is machine mail
            kind = kinds[(i // 10) % len(kinds)]
            machine[kind] += 1
            mails.append(machine_mail(i, kind))
        else:
            citizens += 1
            mails.append(citizen_mail(i, rnd))
    return mails, citizens, machine


async def run(n: int, seed: int) -> dict[str, Any]:
    from aiohttp import web

    from hub.app import create_app
    from hub.keys import HUB_KEY
    from hub.settings import Settings
    from store.models import InboxEvent, OutboxMessage, Report

    mails, citizens, _ = make_mix(n, seed)
    dovecot = Dovecot()
    dovecot.start()
    sink = SmtpSink().start()
    tmp = Path(tempfile.mkdtemp(prefix="email-bench-"))
    try:
        dovecot.deliver_maildir(mails)
        settings = Settings.model_validate({
            "database": {"url": f"sqlite+aiosqlite:///{tmp / 'hub.db'}"},
            "storage": {"media_dir": str(tmp / "media")}, "log_format": "text", "log_level": "WARNING",
            "workers": {"poll_seconds": 0.2},
            "channels": {"email": {
                "enabled": True, "imap_host": "127.0.0.1", "imap_port": dovecot.port,
                "imap_ssl": False, "username": dovecot.user, "password": dovecot.password,
                "smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_starttls": False,
                "from_address": CENTER, "fetch_batch": 100}},
            "base_dir": str(tmp)})
        app = create_app(settings)
        runner = web.AppRunner(app)
        started = time.perf_counter()
        await runner.setup()
        hub = app[HUB_KEY]
        t_inbox = t_done = t_acks = None
        deadline = started + 600
        while time.perf_counter() < deadline:
            async with hub.sessions() as session:
                states = dict((await session.execute(
                    select(InboxEvent.state, func.count()).group_by(InboxEvent.state))).all())
            now = time.perf_counter()
            if t_inbox is None and sum(states.values()) >= n:
                t_inbox = now - started
            if t_done is None and states.get("done", 0) + states.get("ignored", 0) >= n:
                t_done = now - started
            if t_done is not None and len(sink.received) >= citizens:
                t_acks = now - started
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # anything extra (a doubled ack) gets a chance to show
        async with hub.sessions() as session:
            reports = (await session.execute(select(Report.external_ids))).scalars().all()
            outbox_states = dict((await session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))).all())
        poller = hub.channels["email"].poller.stats
        skipped = {labels["reason"]: int(value) for labels, value in _samples(hub, "hub_skipped_events")}
        await runner.cleanup()
        report_ids = Counter(i for ids in reports for i in ids)
        expected = {f"<bench.{i}@mail.gmail.com>" for i in range(n) if i % 10 != 9}
        acks = Counter(r.rcpt_tos[0] for r in sink.received)
        threaded = sum(1 for r in sink.received if (r.message["In-Reply-To"] or "").startswith("<bench."))
        return {
            "bench": "email_ingest", "mails": n, "citizen_mails": citizens,
            "seconds_to_inbox": round(t_inbox or -1, 2), "seconds_to_processed": round(t_done or -1, 2),
            "seconds_to_acks": round(t_acks or -1, 2),
            "mails_per_s": round(n / t_done, 1) if t_done else 0,
            "imap_to_inbox_per_s": round(n / t_inbox, 1) if t_inbox else 0,
            "acks_per_s": round(citizens / t_acks, 1) if t_acks else 0,
            "reports": len(reports), "skipped": dict(sorted(skipped.items())),
            "acks_at_sink": len(sink.received), "threaded_acks": threaded,
            "outbox": outbox_states, "imap_sessions": poller.sessions,
            "lost": len(expected - set(report_ids)),
            "doubled": sum(1 for c in report_ids.values() if c > 1) + sum(1 for c in acks.values() if c > 1),
        }
    finally:
        sink.stop()
        dovecot.cleanup()


def _samples(hub: Any, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for metric in hub.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == f"{name}_total" and sample.labels.get("channel") == "email":
                out.append((sample.labels, sample.value))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not available():
        print(json.dumps({"bench": "email_ingest", "skipped": "Dovecot is not installed"}))
        return
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(run(args.mails, args.seed)), ensure_ascii=False))


if __name__ == "__main__":
    main()
