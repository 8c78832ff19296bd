"""Cost of normalizer.analyze.analyze() per report, and of the classifier inside it. Prints ONE
JSON line.

    .venv/bin/python bench/analyze_speed.py [--repeat 7] [--texts seed|real|all]

Texts: the hotline and console texts of bench/seed.py (CALL_TEXTS and TEXTS, filled in with
numbers and streets: short, typical) and the real citizens' reports of
tests/fixtures/classify/real (longer, formal), each as written and folded (no diacritics).
Each text is timed ``--repeat`` times in CPU time (time.process_time) after a warm-up (the model
and gazetteer loaded, the per-word caches filled as a serving process has them) and its fastest
time is kept, so that other processes on the machine disturb the figures less; the figures are the mean, median and
95th percentile over the texts, in microseconds, for analyze() and for classify() alone, and
the reports per second one core analyzes at the mean.
``load`` is the machine's 1-minute load average when the run ended (a loaded machine gives
slower figures).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.seed import CALL_TEXTS, STREETS, TEXTS  # noqa: E402
from normalizer.analyze import analyze  # noqa: E402
from normalizer.classify import classify  # noqa: E402
from normalizer.classify_train import read_rows  # noqa: E402
from normalizer.text import fold  # noqa: E402

REAL = ROOT / "tests" / "fixtures" / "classify" / "real"


def seed_texts() -> list[str]:
    out = []
    for i, template in enumerate(CALL_TEXTS + TEXTS):
        for k in range(3):
            out.append(template.format(n=12 + 7 * i + k, street=STREETS[(i + k) % len(STREETS)]))
    return out


def real_texts() -> list[str]:
    return [r["text"] for name in ("train.jsonl", "test.jsonl") for r in read_rows(REAL / name)]


def timings(fn, texts: list[str], repeat: int) -> list[float]:  # noqa: ANN001
    out = []
    clock = time.process_time  # CPU time: what the report costs, not how long it waited for a core
    for text in texts:
        best = float("inf")
        for _ in range(repeat):
            started = clock()
            fn(text)
            best = min(best, clock() - started)
        out.append(best * 1e6)
    return out


def summary(us: list[float]) -> dict[str, float]:
    s = sorted(us)
    return {"mean": round(sum(s) / len(s), 1), "p50": round(s[len(s) // 2], 1),
            "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--texts", choices=("seed", "real", "all"), default="all")
    args = ap.parse_args()
    sets = {}
    if args.texts in ("seed", "all"):
        sets["seed"] = seed_texts()
    if args.texts in ("real", "all"):
        sets["real"] = real_texts()
    out: dict[str, object] = {}
    for name, texts in sets.items():
        texts = texts + [fold(t) for t in texts]
        for t in texts:  # warm-up: model, gazetteer, per-word caches
            analyze(t)
        analyze_us = summary(timings(analyze, texts, args.repeat))
        out[name] = {"n": len(texts), "chars": round(sum(map(len, texts)) / len(texts)),
                     "analyze_us": analyze_us, "classify_us": summary(timings(classify, texts, args.repeat)),
                     "analyze_per_s_one_core": round(1e6 / analyze_us["mean"])}
    out["load"] = round(os.getloadavg()[0], 2)
    out["cpus"] = os.cpu_count()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
