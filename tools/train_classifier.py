"""Train the report classifier (normalizer/data/classifier.json) on the TRAINING splits only.

    python tools/train_classifier.py                 # CV, calibrate, fit on the corpus, write the model
    python tools/train_classifier.py --cv-only       # just the cross-validation figures
    python tools/train_classifier.py --select        # compare the settings of SELECTION_GRID by repeated CV
    python tools/train_classifier.py --cv-only --repeats 5   # the shipped settings, 5 deals of the folds
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from normalizer import classify as classify_module  # noqa: E402
from normalizer import classify_train as ct  # noqa: E402

# --select: the settings compared by repeated 5-fold cross-validation on the training corpus
# (never on the held-out splits). The best on the real rows (coverage at the target precision
# plus accuracy, averaged over SELECT_REPEATS deals of the folds) goes into classify_train's
# REAL_WEIGHT, FEATURES and FIT.
SELECTION_GRID = [
    (real_weight, {"char_ngrams": [], "lex_scale": lex_scale, "tf": "log", "lead_boost": lead_boost},
     {"epochs": 30, "lr0": 0.5, "l2": l2})
    for real_weight in (3.0, 5.0) for lead_boost in (0.0, 0.5, 1.0, 1.5) for lex_scale in (0.15, 0.2, 0.3)
    for l2 in (5e-3, 1e-2, 2e-2)
] + [
    # character n-grams inside words and binary counts, compared on the fifth- and sixth-round
    # corpora (docs/classification.md): neither better
    (3.0, {"char_ngrams": [4, 5], "lex_scale": 0.2, "tf": "log", "lead_boost": 1.0}, {"epochs": 30, "lr0": 0.5, "l2": 1e-2}),
    (3.0, {"char_ngrams": [3, 4, 5], "lex_scale": 0.3, "tf": "log", "lead_boost": 0.0}, {"epochs": 30, "lr0": 0.5, "l2": 1e-2}),
    (3.0, {"char_ngrams": [], "lex_scale": 0.2, "tf": "binary", "lead_boost": 1.0}, {"epochs": 30, "lr0": 0.5, "l2": 1e-2}),
]
SELECT_REPEATS = 3


def _selection_key(line: dict) -> float:
    return line["coverage_at_target"] + line["cv_real"]["accuracy"]


def _cv_line(rows: list[dict], real_weight: float, config: dict, fit_kw: dict, repeats: int) -> dict:
    """Cross-validation figures of one setting; with repeats > 1 the mean over that many deals
    of the folds (the curve is the first deal's)."""
    vectors = ct._vectors(rows, config)
    runs = []
    for repeat in range(repeats):
        scored = ct.cross_validate(rows, config, fit_kw=fit_kw, repeat=repeat, vectors=vectors)
        real = [sc for sc, r in zip(scored, rows, strict=True) if r.get("real")]
        temperature = ct.fit_temperature(real)
        pairs = ct.predictions(real, temperature)
        threshold = ct.pick_threshold(pairs)
        runs.append({"cv": ct.figures(ct.predictions(scored, temperature), threshold),
                     "cv_real": ct.figures(pairs, threshold), "temperature": temperature,
                     "threshold": threshold, "coverage_at_target": ct.coverage_at(pairs),
                     "curve_real": ct.curve(pairs)})

    def mean(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return round(sum(values) / len(values), 4) if values else None

    line = {"real_weight": real_weight, "features": config, "fit": fit_kw, "repeats": repeats}
    for key in ("cv", "cv_real"):
        line[key] = {k: mean([run[key][k] for run in runs]) for k in runs[0][key]}
    for key in ("temperature", "threshold", "coverage_at_target"):
        line[key] = mean([run[key] for run in runs])
    line["curve_real"] = runs[0]["curve_real"]
    return line


def _write(model: dict, path: Path) -> None:
    classify_module.write_model_file(path, classify_module.model_text(model))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv-only", action="store_true", help="cross-validation figures of the shipped settings")
    ap.add_argument("--select", action="store_true",
                    help="cross-validate every setting of SELECTION_GRID (JSON line each) and name the best")
    ap.add_argument("--repeats", type=int, default=0,
                    help=f"deals of the 5 folds to average (default: 1 for --cv-only, {SELECT_REPEATS} for --select)")
    ap.add_argument("--corrections", type=Path, help="JSON lines of the center's labels")
    ap.add_argument("--recent-days", type=int, default=30)
    ap.add_argument("--dry-run", action="store_true", help="with --corrections: report, install nothing")
    ap.add_argument("--model", type=Path, default=classify_module.MODEL_FILE)
    args = ap.parse_args()
    rows = ct.corpus_rows(ROOT)
    trained_on = [ct.CORPUS["written"], ct.CORPUS["real"]]

    if args.cv_only or args.select:
        grid = SELECTION_GRID if args.select else [(ct.REAL_WEIGHT, ct.FEATURES, ct.FIT)]
        repeats = args.repeats or (SELECT_REPEATS if args.select else 1)
        results = []
        for real_weight, config, fit_kw in grid:
            line = _cv_line(ct.corpus_rows(ROOT, real_weight), real_weight, config, fit_kw, repeats)
            results.append(line)
            print(json.dumps(line), flush=True)
        if args.select:
            best = max(results, key=_selection_key)
            print(json.dumps({"best": {k: best[k] for k in ("real_weight", "features", "fit")}}))
        return

    if args.corrections:
        corrections = ct.read_rows(args.corrections)
        current = classify_module.Model.from_dict(json.loads(args.model.read_text(encoding="utf-8")))
        held_out = {name: ct.held_out_rows(ROOT, name) for name in ct.HELD_OUT}
        result = ct.retrain(rows, corrections, current, held_out,
                            recent=ct.recent_labels(corrections, args.recent_days),
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
