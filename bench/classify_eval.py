"""Classifier figures on the held-out split, with and without diacritics. Prints ONE JSON line.

    .venv/bin/python bench/classify_eval.py [--threshold 0.5] [--split tests/fixtures/classify/test.jsonl]

accuracy and macro_f1 count every report; triage_rate is the share whose confidence is below
the threshold (sent to the center's triage queue); auto_precision is the accuracy of the rest
(the reports routed automatically). "folded" is the same split with diacritics removed
(normalizer.text.fold: lower case, no tone marks, đ→d), as citizens often type.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from normalizer.classify import DEFAULT_TRIAGE_THRESHOLD, classify  # noqa: E402
from normalizer.schema import CATEGORIES  # noqa: E402
from normalizer.text import fold  # noqa: E402

SPLIT = ROOT / "tests" / "fixtures" / "classify" / "test.jsonl"


def figures(pairs: list[tuple[str, str, float]], threshold: float) -> dict[str, float]:
    n = len(pairs)
    f1s = []
    for cat in CATEGORIES:
        tp = sum(g == cat and p == cat for g, p, _ in pairs)
        fp = sum(g != cat and p == cat for g, p, _ in pairs)
        fn = sum(g == cat and p != cat for g, p, _ in pairs)
        if tp + fp + fn == 0:
            continue
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    auto = [(g, p) for g, p, c in pairs if c >= threshold]
    return {
        "accuracy": round(sum(g == p for g, p, _ in pairs) / n, 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "triage_rate": round(1 - len(auto) / n, 4),
        "auto_precision": round(sum(g == p for g, p in auto) / len(auto), 4) if auto else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threshold", type=float, default=DEFAULT_TRIAGE_THRESHOLD)
    ap.add_argument("--split", type=Path, default=SPLIT)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.split.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    out: dict[str, object] = {}
    version = None
    for name, transform in (("diacritics", lambda s: s), ("folded", fold)):
        pairs = []
        for r in rows:
            c = classify(transform(r["text"]))
            version = c.version
            pairs.append((r["category"], c.category, c.confidence))
        for key, value in figures(pairs, args.threshold).items():
            out[f"{key}_{name}"] = value
    elapsed = time.perf_counter() - started
    out.update({"threshold": args.threshold, "n": len(rows), "version": version,
                "ms_per_report": round(1000 * elapsed / (2 * len(rows)), 3)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
