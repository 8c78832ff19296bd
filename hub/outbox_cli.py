"""``main.py outbox retry``: re-drive dead-lettered outbox rows once the cause is fixed (a
provider outage longer than the retry schedule, a token replaced, an agency's endpoint back).

Rows are selected by channel, report code and the time they were created; each selected row goes
back to ``pending`` with its attempts reset, and the running hub's outbox worker sends it within
a poll interval. A citizen message whose fallback (another contact point) was already sent is
skipped unless ``--include-fallen-back``: the citizen heard it once already. A row that died
because a setting is missing that is still missing (ZNS without ``channels.zalo.zns_template_id``)
is skipped too: requeued, it would die again at once.

    python main.py outbox retry [--channel zalo] [--report PA-2026-000123]
                                [--since ISO] [--until ISO] [--dry-run]

Prints one JSON line: ``{"selected": n, "requeued": n, "skipped_fallen_back": n,
"skipped_not_configured": n, "ids": [...]}``.
A ``--report`` code (any case) that no report has exits 2 with "no report …", like
``public-hide``: a typo must not read as "nothing to retry".
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import OutboxMessage, Report, utcnow
from store.queue import taken_over

# What the ZNS sender says without a template (channels/zalo/zns.py).
ZNS_NOT_CONFIGURED = "zns_template_id is not configured"


def when_arg(value: str | None, name: str) -> datetime | None:
    """A command's ISO date/time option (naive = local time); one error line when it is not one."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # exit 2, as argparse (and export) answer a bad option
        print(f"error: --{name} {value!r} is not an ISO date/time", file=sys.stderr)
        raise SystemExit(2) from None
    return parsed if parsed.tzinfo else parsed.astimezone()


async def retry_dead(engine: AsyncEngine, *, channel: str | None = None,
                     report_code: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, dry_run: bool = False,
                     include_fallen_back: bool = False, limit: int = 10_000,
                     still_unconfigured: tuple[str, ...] = ()) -> dict[str, Any]:
    """``still_unconfigured``: reasons (substrings of ``last_error``) of rows dead for a setting
    that is still missing; those rows are skipped."""
    conds = [OutboxMessage.state == "dead"]
    if channel:
        conds.append(OutboxMessage.channel == channel)
    if report_code:
        conds.append(OutboxMessage.report_id == select(Report.id).where(
            Report.code == report_code).scalar_subquery())
    if since is not None:
        conds.append(OutboxMessage.created_at >= since)
    if until is not None:
        conds.append(OutboxMessage.created_at < until)
    fallen_back = taken_over()
    async with engine.begin() as conn:
        rows = (await conn.execute(select(OutboxMessage.id, fallen_back, OutboxMessage.last_error)
                                   .where(and_(*conds)).order_by(OutboxMessage.id).limit(limit))).all()
        skipped = [r[0] for r in rows if r[1] and not include_fallen_back]
        unconfigured = [r[0] for r in rows if r[0] not in set(skipped)
                        and any(reason in (r[2] or "") for reason in still_unconfigured)]
        ids = [r[0] for r in rows if r[0] not in set(skipped) | set(unconfigured)]
        if ids and not dry_run:
            for start in range(0, len(ids), 500):
                await conn.execute(update(OutboxMessage).where(
                    OutboxMessage.id.in_(ids[start:start + 500]), OutboxMessage.state == "dead")
                    .values(state="pending", attempts=0, next_attempt_at=utcnow(),
                            claimed_by=None, claimed_until=None))
    return {"selected": len(rows), "requeued": 0 if dry_run else len(ids),
            "skipped_fallen_back": len(skipped), "skipped_not_configured": len(unconfigured),
            "dry_run": dry_run, "ids": ids[:100]}


def missing_settings(settings: Any) -> tuple[str, ...]:
    """The dead-letter reasons of settings this configuration still lacks."""
    zalo = getattr(settings.channels, "zalo", None)
    if zalo is not None and not zalo.zns_template_id:
        return (ZNS_NOT_CONFIGURED,)
    return ()


def run(args: argparse.Namespace) -> int:
    from store.db import make_engine, migrate

    if args.action != "retry":
        print("error: unknown action (only 'retry')", file=sys.stderr)
        return 2
    settings = args.load_settings(args.config)
    since, until = when_arg(args.since, "since"), when_arg(args.until, "until")

    code = args.report.strip().upper() if args.report else None

    async def go() -> dict[str, Any] | str | None:
        engine = make_engine(settings.database_url, sqlite_synchronous=settings.database.sqlite_synchronous)
        try:
            await migrate(engine)
            if code and not await report_exists(engine, code):
                return None
            if args.channel:
                from web.console.render import ROUTE_LABELS  # every sender the outbox has

                known = sorted(set(ROUTE_LABELS) | set(await outbox_channels(engine)))
                if args.channel not in known:  # a mistyped sender is not "nothing to retry"
                    return f"no sender {args.channel!r}; senders: {', '.join(known)}"
            return await retry_dead(engine, channel=args.channel, report_code=code,
                                    since=since, until=until, dry_run=args.dry_run,
                                    include_fallen_back=args.include_fallen_back,
                                    still_unconfigured=missing_settings(settings))
        finally:
            await engine.dispose()

    result = asyncio.run(go())
    if result is None:  # a mistyped code is not "nothing to retry" (as `public-hide` says)
        print(f"no report {args.report!r}", file=sys.stderr)
        return 2
    if isinstance(result, str):
        print(f"error: {result}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0


async def outbox_channels(engine: AsyncEngine) -> list[str]:
    """The senders the outbox has rows for, in any state."""
    async with engine.connect() as conn:
        return sorted((await conn.execute(select(OutboxMessage.channel).distinct())).scalars())


async def report_exists(engine: AsyncEngine, code: str) -> bool:
    async with engine.connect() as conn:
        return (await conn.execute(select(Report.id).where(Report.code == code))).first() is not None


def register(sub: Any, add: Any) -> None:
    p = add("outbox", run, "outbox maintenance: 'retry' re-sends dead-lettered messages")
    p.add_argument("action", choices=["retry"])
    p.add_argument("--channel", help="only rows of this sender (zalo, agency_webhook, …)")
    p.add_argument("--report", help="only rows of this report code")
    p.add_argument("--since", help="only rows created at or after this ISO time")
    p.add_argument("--until", help="only rows created before this ISO time")
    p.add_argument("--dry-run", action="store_true", help="count, change nothing")
    p.add_argument("--include-fallen-back", action="store_true",
                   help="also rows whose fallback message was already sent")
