"""Classifier figures on the held-out splits, with and without diacritics. Prints ONE JSON line.

    .venv/bin/python bench/classify_eval.py [--threshold T] [--split FILE] [--model FILE]

Two held-out splits, never trained on: the real citizens' reports
(tests/fixtures/classify/real/test.jsonl, under "real") and the split written by us
(tests/fixtures/classify/test.jsonl, the top-level keys, as before). For each, "diacritics" is
the text as written and "folded" the same text with diacritics removed (normalizer.text.fold:
lower case, no tone marks, đ→d), as citizens often type.

accuracy and macro_f1 count every report; triage_rate is the share whose confidence is below
the threshold (sent to the center's triage queue); auto_precision is the accuracy of the rest
(the reports routed automatically). The threshold is the shipped model's
(DEFAULT_TRIAGE_THRESHOLD) unless --threshold is given. curve_* is the precision–coverage curve
(coverage = 1 − triage share) at thresholds 0.3…0.9; confusions_* counts the errors per
"gold>predicted" pair, as [errors, of which auto-routed]. precision_at_target_triage_* is the
precision of the most confident 85 % (the issue's ≤ 15 % triage), whatever threshold that
takes: an observation, never used to set the threshold. --split FILE evaluates that file alone,
under the top-level keys.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from normalizer import classify as classify_module  # noqa: E402
from normalizer.classify_train import HELD_OUT, MAX_TRIAGE, curve, figures, read_rows  # noqa: E402
from normalizer.text import fold  # noqa: E402


def evaluate(rows: list[dict], threshold: float) -> tuple[dict[str, object], int]:
    out: dict[str, object] = {}
    for name, transform in (("diacritics", lambda s: s), ("folded", fold)):
        pairs = []
        for r in rows:
            c = classify_module.classify(transform(r["text"]))
            pairs.append((r["category"], c.category, c.confidence))
        for key, value in figures(pairs, threshold).items():
            out[f"{key}_{name}"] = value
        out[f"curve_{name}"] = curve(pairs)
        # what the target's triage share would give: the most confident 85 % routed (an
        # observation: the shipped threshold is calibrated on the training rows, never here)
        ranked = sorted(pairs, key=lambda p: -p[2])[:round(len(pairs) * (1 - MAX_TRIAGE))]
        out[f"precision_at_target_triage_{name}"] = (
            round(sum(g == p for g, p, _ in ranked) / len(ranked), 4) if ranked else None)
        # the errors as "gold>predicted" pairs, most frequent first, and how many were auto-routed
        errors = Counter(f"{g}>{p}" for g, p, _ in pairs if g != p)
        routed = Counter(f"{g}>{p}" for g, p, c in pairs if g != p and c >= threshold)
        out[f"confusions_{name}"] = {k: [n, routed[k]] for k, n in errors.most_common()}
    out["n"] = len(rows)
    return out, 2 * len(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--split", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None, help="another model file than the shipped one")
    args = ap.parse_args()
    if args.model:
        model = classify_module.Model.from_dict(json.loads(args.model.read_text(encoding="utf-8")))
        classify_module._model = lambda: model  # classify(), CLASSIFIER_VERSION, the threshold
    started = time.perf_counter()
    classify_module.classify("ổ gà")  # load the model outside the per-report timing
    load_ms = (time.perf_counter() - started) * 1000
    threshold = classify_module.DEFAULT_TRIAGE_THRESHOLD if args.threshold is None else args.threshold
    started = time.perf_counter()
    if args.split:
        out, calls = evaluate(read_rows(args.split), threshold)
    else:
        out, calls = evaluate(read_rows(ROOT / HELD_OUT["written"]), threshold)
        real, real_calls = evaluate(read_rows(ROOT / HELD_OUT["real"]), threshold)
        out["real"] = real
        calls += real_calls
    elapsed = time.perf_counter() - started
    out.update({"threshold": threshold, "version": classify_module.CLASSIFIER_VERSION,
                "load_ms": round(load_ms, 1), "ms_per_report": round(1000 * elapsed / calls, 3)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
