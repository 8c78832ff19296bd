"""Train the report classifier (normalizer/data/classifier.json) on the TRAINING splits only.

    python tools/train_classifier.py                 # CV, calibrate, fit on the corpus, write the model
    python tools/train_classifier.py --cv-only       # just the cross-validation figures
    python tools/train_classifier.py --corrections center.jsonl [--recent-days 30] [--dry-run]
                                                     # retrain with the center's corrections and install
                                                     # the result only if it is not worse

The corpus is the written split (tests/fixtures/classify/train.jsonl) plus the real citizens'
reports (tests/fixtures/classify/real/train.jsonl, weighted REAL_WEIGHT). The held-out splits
(test.jsonl, real/test.jsonl) are never trained on: the first run only reports them
(bench/classify_eval.py does that in full), and ``--corrections`` compares the candidate with
the installed model on them.

Corrections are JSON lines {"text": ..., "category": ..., "time": ISO-8601 (optional)}: every
category the center set or confirmed. Those of the last ``--recent-days`` are also the
"recent" set the candidate must not do worse on than the installed model. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from normalizer import classify as classify_module  # noqa: E402
from normalizer import classify_train as ct  # noqa: E402


def _recent(corrections: list[dict], days: int) -> list[dict]:
    since = datetime.now(UTC) - timedelta(days=days)
    out = []
    for c in corrections:
        when = c.get("time")
        if not when:
            continue
        t = datetime.fromisoformat(when.replace("Z", "+00:00"))
        if (t if t.tzinfo else t.replace(tzinfo=UTC)) >= since:
            out.append(c)
    return out


def _write(model: dict, path: Path) -> None:
    path.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv-only", action="store_true")
    ap.add_argument("--corrections", type=Path, help="JSON lines of the center's labels")
    ap.add_argument("--recent-days", type=int, default=30)
    ap.add_argument("--dry-run", action="store_true", help="with --corrections: report, install nothing")
    ap.add_argument("--model", type=Path, default=classify_module.MODEL_FILE)
    args = ap.parse_args()
    rows = ct.corpus_rows(ROOT)
    trained_on = [ct.CORPUS["written"], ct.CORPUS["real"]]

    if args.cv_only:
        scored = ct.cross_validate(rows)
        temperature = ct.fit_temperature(scored)
        pairs = ct.predictions(scored, temperature)
        threshold = ct.pick_threshold(pairs)
        real = [p for p, r in zip(pairs, rows, strict=True) if r.get("weight", 1.0) != 1.0]
        print(json.dumps({"cv": ct.figures(pairs, threshold), "cv_real": ct.figures(real, threshold),
                          "temperature": temperature, "threshold": threshold, "curve": ct.curve(pairs)}))
        return

    if args.corrections:
        corrections = ct.read_rows(args.corrections)
        current = classify_module.Model.from_dict(json.loads(args.model.read_text(encoding="utf-8")))
        held_out = {name: ct.held_out_rows(ROOT, name) for name in ct.HELD_OUT}
        result = ct.retrain(rows, corrections, current, held_out,
                            recent=_recent(corrections, args.recent_days),
                            trained_on=[*trained_on, str(args.corrections)])
        installed = result.install and not args.dry_run
        if installed:
            _write(result.model, args.model)
        print(json.dumps({"installed": installed, "version": result.model["version"],
                          "current": current.version, "reasons": result.reasons, "figures": result.figures}))
        return

    model, report = ct.build_model(rows, trained_on=trained_on)
    _write(model, args.model)
    print(json.dumps({**report, "version": model["version"], "features": len(model["weights"]),
                      "kib": args.model.stat().st_size // 1024}))


if __name__ == "__main__":
    main()
