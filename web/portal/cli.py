"""``hub public-hide``: the center keeps a report or one of its photos off the public pages
(and ``--show`` brings it back). Registered in main.py's EXTRA_COMMANDS."""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import Any


def register(sub: Any, add: Any) -> None:
    p = add("public-hide", run, "hide a report (or one photo) from the public portal; --show undoes it")
    p.add_argument("code", help="the report's code, e.g. PA-2026-000123")
    p.add_argument("--photo", metavar="SHA256", help="hide only this photo (its SHA-256, as in the report JSON)")
    p.add_argument("--show", action="store_true", help="make it public again")
    p.add_argument("--reason", help="why (kept with the decision, never shown)")
    p.add_argument("--actor", default="cli", help="who decided (kept with the decision)")


SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def run(args: argparse.Namespace) -> int:
    settings = args.load_settings(args.config)
    photo = args.photo.strip().lower() if args.photo else None
    if photo is not None and not SHA256_RE.match(photo):
        print(f"--photo {args.photo!r} is not a SHA-256 (64 hex digits, as in the report JSON)",
              file=sys.stderr)
        return 2

    async def apply() -> None:
        from store.db import make_engine, migrate, sessionmaker
        from store.public_reports import set_photo_hidden, set_report_hidden

        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            async with sessionmaker(engine)() as session, session.begin():
                if photo:
                    await set_photo_hidden(session, args.code.upper(), photo, not args.show,
                                           actor=args.actor)
                else:
                    await set_report_hidden(session, args.code.upper(), not args.show, actor=args.actor,
                                            reason=args.reason)
        finally:
            await engine.dispose()

    from store.public_reports import UnknownPhoto, UnknownReport

    try:
        asyncio.run(apply())
    except UnknownReport:
        print(f"no report {args.code!r}", file=sys.stderr)
        return 2
    except UnknownPhoto as exc:
        listed = ", ".join(exc.known) if exc.known else "none"
        print(f"report {args.code.upper()} has no photo {photo}; its photos: {listed}",
              file=sys.stderr)
        return 2
    what = f"photo {args.photo} of {args.code}" if args.photo else args.code
    print(f"{what}: {'public again' if args.show else 'hidden from the public portal'}")
    return 0
