"""`python main.py reclassify`: re-run classification and place finding on stored reports (after
a new classifier version or gazetteer), record what changed, and route triage reports that the
new result makes routable."""
from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub.settings import load_settings
from router.assign import CENTER_LABEL


def register(sub: Any, add: Any) -> None:
    p = add("reclassify", run, "re-run classification and place finding on stored reports")
    p.add_argument("--since", help="only reports created since this ISO time")
    p.add_argument("--only-older", action="store_true",
                   help="only reports classified by another classifier version")
    p.add_argument("--dry-run", action="store_true", help="report what would change, store nothing")
    p.add_argument("--route", action="store_true",
                   help="forward triage reports that the new classification makes routable")
    p.add_argument("--triage-only", action="store_true",
                   help="only reports waiting in the center's triage queue")
    c = add("corrections", export_corrections,
            "write the center's category labels as JSON lines (`retrain` reads them from the "
            "database itself)")
    c.add_argument("file", help="output file (JSON lines: text, category, time)")
    from hub import retrain

    retrain.register(sub, add)


def run(args: argparse.Namespace) -> int:
    from hub.outbox_cli import when_arg

    since = when_arg(args.since, "since")
    settings = load_settings(args.config)
    summary = asyncio.run(reclassify(settings, since=since, only_older=args.only_older,
                                     dry_run=args.dry_run, route=args.route,
                                     triage_only=args.triage_only))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


async def reclassify(settings: Any, *, since: datetime | None = None, only_older: bool = False,
                     dry_run: bool = False, route: bool = False,
                     triage_only: bool = False) -> dict[str, Any]:
    """The center's own labels (classifier_version "center") are kept: only the place is found
    again for those reports."""
    from hub.app import close_hub, open_hub
    from router import lifecycle
    from router.assign import analyze_report, route_new_report
    from store.models import Report

    # No channel starts (a batch command makes no outbound call); this host's model file is
    # brought to the installed model.
    hub = await open_hub(settings, channels=False)
    from normalizer.classify import CLASSIFIER_VERSION

    seen = changed = routed = 0
    try:
        last_id = 0
        while True:
            async with hub.sessions() as session:
                query = select(Report).where(Report.id > last_id, Report.code.is_not(None))
                if since:
                    query = query.where(Report.created_at >= since)
                if only_older:
                    query = query.where((Report.classifier_version != CLASSIFIER_VERSION)
                                        | Report.classifier_version.is_(None))
                if triage_only:
                    query = query.where(Report.status == "triage")
                reports = list((await session.execute(query.order_by(Report.id).limit(200))).scalars())
                if not reports:
                    break
                for report in reports:
                    seen += 1
                    before = (report.category, report.ward)
                    hint = (report.extra or {}).get("category_hint")
                    labelled = (report.classifier_version == CENTER_LABEL and
                                (report.category, report.category_confidence))
                    analyze_report(hub, report, hint)
                    if labelled:
                        report.category, report.category_confidence = labelled
                        report.classifier_version = CENTER_LABEL
                    after = (report.category, report.ward)
                    if after != before:
                        changed += 1
                        lifecycle.record(session, report, actor="system", kind="classification",
                                         note=f"phân loại lại: {before[0]}/{before[1]} → "
                                              f"{after[0]}/{after[1]} ({report.classifier_version})",
                                         public=False)
                    if route and report.status == "triage" and report.agency_id is None:
                        if await route_new_report(hub, session, report, from_triage=True):
                            routed += 1
                last_id = reports[-1].id
                if dry_run:
                    await session.rollback()
                else:
                    await session.commit()
    finally:
        await close_hub(hub)
    return {"reports": seen, "changed": changed, "routed": routed, "dry_run": dry_run,
            "classifier_version": CLASSIFIER_VERSION}


def export_corrections(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    count = asyncio.run(write_corrections(settings, args.file))
    print(f"{count} labels written to {args.file} (phone numbers, e-mail addresses and the "
          f"citizen's name masked); retrain with: python main.py retrain "
          f"(reads them from the database) or tools/train_classifier.py --corrections {args.file}")
    return 0


async def write_corrections(settings: Any, path: str) -> int:
    """The center's labels (hub.retrain.center_labels: every report whose category the center
    set or confirmed when routing) as JSON lines: the report's text (phones, e-mails and the
    citizen's own name replaced by placeholders: hub.retrain.mask_for_training), the category and
    the time of its latest classification event."""
    from hub.retrain import center_labels

    labels = await center_labels(settings)
    with open(path, "w", encoding="utf-8") as out:
        for label in labels:
            out.write(json.dumps({"text": label["text"], "category": label["category"],
                                  "time": label["time"]}, ensure_ascii=False) + "\n")
    return len(labels)
