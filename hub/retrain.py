"""`python main.py retrain`: learn from the center's labels.

Every category the center set or confirmed (routing in the console or the API; the report's
classifier_version is "center") is a labelled example. retrain fits a candidate classifier on
the shipped corpus (classify_train.CORPUS) plus those labels, compares it with the installed
model on the held-out splits (real citizens' reports and the written split, with and without
diacritics) and on the labels of the last ``--recent-days`` days, and installs it only when it
is not worse (classify_train.retrain says what "worse" means). The report says why either way.

The model file is written atomically (a temporary file renamed over it), so `serve`, which
checks the file every minute (hub/app.py), reloads it whole. When it is the hub's own model file
(the default), the installed model is also recorded in the database, and every replica writes it
over its own file within a minute (hub/classifier_sync.py); every report keeps the version of
the model that classified it, and `reclassify --only-older --triage-only --route` re-runs the
waiting reports with the new one.
"""
from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from hub.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]  # the shipped corpus is read relative to it


def register(sub: Any, add: Any) -> None:
    from normalizer.classify import MODEL_FILE

    p = add("retrain", run, "retrain the classifier with the center's labels; install it only "
                            "if it is not worse on the held-out splits and recent labels")
    p.add_argument("--model", type=Path, default=MODEL_FILE,
                   help=f"model file to compare with and replace (default: {MODEL_FILE})")
    p.add_argument("--recent-days", type=int, default=30,
                   help="labels of these last days must not get worse (default 30)")
    p.add_argument("--dry-run", action="store_true", help="report only, install nothing")
    p.add_argument("--json", action="store_true", help="print the report as one JSON line")


def run(args: argparse.Namespace) -> int:
    from normalizer.classify import MODEL_FILE

    settings = load_settings(args.config)
    missing = [str(ROOT / f) for f in (*_corpus_files(), *_held_out_files()) if not (ROOT / f).is_file()]
    if missing:
        print(f"retrain: the shipped corpus is missing ({', '.join(missing)}); run it from the "
              "hub's source tree")
        return 2
    if not args.model.is_file():
        print(f"retrain: no model file at {args.model}")
        return 2
    # The hub's own model file is what every replica runs: bring it to the model installed last
    # (maybe on another host) before comparing with it, and record what this run installs.
    serving = args.model.resolve() == MODEL_FILE.resolve()
    labels = asyncio.run(center_labels(settings, sync=args.model if serving else None))
    report = retrain(labels, args.model, recent_days=args.recent_days, dry_run=args.dry_run)
    if report["installed"] and serving:
        from hub.classifier_sync import record_install
        from store.db import with_database

        text = args.model.read_text(encoding="utf-8")  # the file as written, byte for byte
        asyncio.run(with_database(settings.database_url, lambda sessions: record_install(
            sessions, report["version"], text, report["current"], report["reasons"])))
        report["reasons"].append("recorded in the database: every replica installs it within a minute")
    print(json.dumps(report, ensure_ascii=False) if args.json else format_report(report))
    return 0


def _corpus_files() -> list[str]:
    from normalizer.classify_train import CORPUS

    return list(CORPUS.values())


def _held_out_files() -> list[str]:
    from normalizer.classify_train import HELD_OUT

    return list(HELD_OUT.values())


# What stands in for a citizen's phone number, e-mail address or own name in training text.
# Nothing of the value is kept (the public pages' "093*****88" / "l***@example.net" keep five
# digits and the domain: fine for one page, not for a data set that is copied and kept), and the
# classifier's features drop both exactly as they drop the real values (digit runs and
# @-tokens are no features: normalizer.classify.features), so masked text trains the same model.
PHONE_PLACEHOLDER = "***"
EMAIL_PLACEHOLDER = "***@***"


def mask_for_training(text: str, names: tuple[str, ...] = (), region: str = "VN") -> str:
    """``text`` with phone numbers, e-mail addresses and the given names (the citizen's own,
    case-insensitively) replaced by placeholders. The same detection as the public pages'
    ``normalizer.phones.mask_personal``: any address-shaped e-mail, every valid personal number
    and any phone-shaped digit run."""
    from normalizer.phones import mask_personal

    return mask_personal(text, region, names, email=lambda _: EMAIL_PLACEHOLDER,
                         phone=lambda _: PHONE_PLACEHOLDER)


async def center_labels(settings: Any, sync: Path | None = None) -> list[dict[str, Any]]:
    """The center's labels, oldest report first: {"code", "text", "category", "time"} for every
    report whose category the center set or confirmed, with the time of its latest
    classification event (the report's last update when there is none). The text is the
    report's description with the citizen's phone numbers, e-mail addresses and own name
    masked (``mask_for_training``): labels become training data (``retrain``, the
    ``corrections`` file). ``sync``: a model file to bring to the model installed last
    (hub.classifier_sync) first."""
    from sqlalchemy import select

    from router.assign import CENTER_LABEL
    from store.db import with_database
    from store.models import Contact, Report, ReportEvent

    async def read(sessions: Any) -> list[dict[str, Any]]:
        if sync is not None:
            from hub.classifier_sync import sync_model_file

            await sync_model_file(sessions, sync)
        out = []
        async with sessions() as session:
            labelled = (select(Report, Contact.name)
                        .outerjoin(Contact, Contact.id == Report.contact_id)
                        .where(Report.classifier_version == CENTER_LABEL,
                               Report.category.is_not(None)).order_by(Report.id))
            for report, name in (await session.execute(labelled)).all():
                when = (await session.execute(
                    select(ReportEvent.at).where(ReportEvent.report_id == report.id,
                                                 ReportEvent.kind == "classification")
                    .order_by(ReportEvent.id.desc()).limit(1))).scalar() or report.updated_at
                text = mask_for_training(report.description or "", (name,) if name else ())
                out.append({"code": report.code, "text": text,
                            "category": report.category, "time": when.isoformat() if when else None})
        return out

    return await with_database(settings.database_url, read)


def retrain(labels: list[dict[str, Any]], model_path: Path, *, recent_days: int = 30,
            dry_run: bool = False) -> dict[str, Any]:
    """Fit, compare and (unless dry_run or worse) install; the report as a dict."""
    from normalizer import classify_train as ct
    from normalizer.classify import Model, model_text, write_model_file

    current = Model.from_dict(json.loads(model_path.read_text(encoding="utf-8")))
    corpus = ct.corpus_rows(ROOT)
    usable = [label for label in labels if (label.get("text") or "").strip()]
    latest = ct.recent_labels(usable, recent_days)
    held_out = {name: ct.held_out_rows(ROOT, name) for name in ct.HELD_OUT}
    result = ct.retrain(corpus, usable, current, held_out, recent=latest,
                        trained_on=[*ct.CORPUS.values(), f"center labels ({len(usable)})"])
    candidate = result.model["version"]
    install = result.install and candidate != current.version and not dry_run
    reasons = list(result.reasons)
    if result.install and candidate == current.version:
        reasons.append("the candidate is the installed model (same weights): nothing to install")
    elif result.install and dry_run:
        reasons.append("dry run: not installed")
    if install:
        write_model_file(model_path, model_text(result.model))
    return {"installed": install, "accepted": result.install, "model": str(model_path),
            "version": candidate, "current": current.version, "labels": len(usable),
            "recent_labels": len(latest), "corpus_rows": len(corpus), "reasons": reasons,
            "figures": result.figures}


def format_report(report: dict[str, Any]) -> str:
    def pct(v: Any) -> str:
        return "—" if v is None else f"{100 * v:.1f}%"

    def num(v: Any) -> str:
        return "—" if v is None else f"{v:.3f}"

    figs = report["figures"]
    lines = [f"retrain: candidate {report['version']} against installed {report['current']} "
             f"({report['model']})",
             f"  trained on {report['corpus_rows']} corpus rows + {report['labels']} center labels "
             f"({report['recent_labels']} of them recent)",
             f"  {'split':<16} {'n':>4}  {'accuracy':<15} {'auto precision':<15} triage"]
    for name, pair in figs.items():
        if not isinstance(pair, dict) or "current" not in pair:
            continue
        old, new = pair["current"], pair["candidate"]
        label = name.replace("_folded", " (folded)")
        lines.append(f"  {label:<16} {new['n']:>4}  {num(old['accuracy'])} → {num(new['accuracy'])}  "
                     f"{num(old['auto_precision'])} → {num(new['auto_precision'])}  "
                     f"{pct(old['triage_rate'])} → {pct(new['triage_rate'])}")
    verdict = "INSTALLED" if report["installed"] else "NOT INSTALLED"
    lines.append(f"{verdict}: " + "; ".join(report["reasons"]))
    return "\n".join(lines)
