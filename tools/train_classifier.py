"""Train the report classifier (normalizer/data/classifier.json) on the TRAIN split only.

    python tools/train_classifier.py            # 5-fold CV on train, then fit and write the model
    python tools/train_classifier.py --cv-only  # just the cross-validation figures

Multinomial logistic regression, plain SGD with L2, pure Python (no numpy), deterministic
(fixed seed). The cross-validation picks the triage threshold: the lowest confidence at which
the auto-routed reports of the held-out folds reach the target precision. The held-out test
split (tests/fixtures/classify/test.jsonl) is never read here; bench/classify_eval.py reports
on it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from normalizer.classify import MODEL_FILE, features  # noqa: E402
from normalizer.schema import CATEGORIES  # noqa: E402

TRAIN = ROOT / "tests" / "fixtures" / "classify" / "train.jsonl"
LABELS = tuple(CATEGORIES)
SEED = 20260701


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fit(rows: list[tuple[dict[str, float], int]], epochs: int = 40, lr0: float = 0.5,
        l2: float = 1e-4, min_df: int = 1) -> dict[str, list[float]]:
    k_count = len(LABELS)
    df: dict[str, int] = {}
    for x, _ in rows:
        for f in x:
            df[f] = df.get(f, 0) + 1
    keep = {f for f, n in df.items() if n >= min_df or f.startswith("lex:") or f == "bias"}
    data = [({f: v for f, v in x.items() if f in keep}, y) for x, y in rows]
    weights: dict[str, list[float]] = {f: [0.0] * k_count for f in keep}
    rng = random.Random(SEED)
    order = list(range(len(data)))
    for epoch in range(epochs):
        rng.shuffle(order)
        lr = lr0 / (1.0 + 0.2 * epoch)
        decay = 1.0 - lr * l2
        for i in order:
            x, y = data[i]
            scores = [0.0] * k_count
            for f, v in x.items():
                w = weights[f]
                for k in range(k_count):
                    scores[k] += w[k] * v
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            grads = [e / total for e in exps]
            grads[y] -= 1.0
            for f, v in x.items():
                w = weights[f]
                for k in range(k_count):
                    w[k] = w[k] * decay - lr * grads[k] * v
    return weights


def predict(weights: dict[str, list[float]], x: dict[str, float]) -> tuple[int, float]:
    scores = [0.0] * len(LABELS)
    for f, v in x.items():
        w = weights.get(f)
        if w:
            for k in range(len(LABELS)):
                scores[k] += w[k] * v
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    best = max(range(len(LABELS)), key=scores.__getitem__)
    return best, exps[best] / sum(exps)


def cross_validate(rows: list[dict], folds: int = 5, **kw) -> list[tuple[int, int, float]]:
    """(gold, predicted, confidence) for every training row, each predicted by a model that
    did not see it. Folds are stratified by category."""
    by_cat: dict[str, list[dict]] = {}
    for r in rows:
        by_cat.setdefault(r["category"], []).append(r)
    fold_of = {}
    for cat_rows in by_cat.values():
        for n, r in enumerate(sorted(cat_rows, key=lambda r: r["id"])):
            fold_of[r["id"]] = n % folds
    out = []
    for f in range(folds):
        train = [(features(r["text"]), LABELS.index(r["category"])) for r in rows if fold_of[r["id"]] != f]
        weights = fit(train, **kw)
        for r in rows:
            if fold_of[r["id"]] == f:
                p, c = predict(weights, features(r["text"]))
                out.append((LABELS.index(r["category"]), p, c))
    return out


def report(results: list[tuple[int, int, float]], threshold: float) -> dict[str, float]:
    n = len(results)
    acc = sum(g == p for g, p, _ in results) / n
    f1s = []
    for k in range(len(LABELS)):
        tp = sum(g == k and p == k for g, p, _ in results)
        fp = sum(g != k and p == k for g, p, _ in results)
        fn = sum(g == k and p != k for g, p, _ in results)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    auto = [(g, p) for g, p, c in results if c >= threshold]
    return {
        "accuracy": round(acc, 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "triage_rate": round(1 - len(auto) / n, 4),
        "auto_precision": round(sum(g == p for g, p in auto) / len(auto), 4) if auto else 1.0,
    }


def pick_threshold(results: list[tuple[int, int, float]], target: float = 0.95) -> float:
    """Lowest threshold (step 0.05) whose auto-routed precision reaches the target."""
    for step in range(0, 20):
        t = round(step * 0.05, 2)
        if report(results, t)["auto_precision"] >= target:
            return t
    return 0.95


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv-only", action="store_true")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--min-df", type=int, default=1)
    args = ap.parse_args()
    rows = load(TRAIN)
    kw = {"epochs": args.epochs, "l2": args.l2, "min_df": args.min_df}
    results = cross_validate(rows, **kw)
    threshold = pick_threshold(results)
    print(json.dumps({"cv": report(results, threshold), "threshold": threshold,
                      "curve": {t: report(results, t) for t in (0.3, 0.4, 0.5, 0.6, 0.7)}}))
    if args.cv_only:
        return
    weights = fit([(features(r["text"]), LABELS.index(r["category"])) for r in rows], **kw)
    kept = {f: [round(v, 4) for v in w] for f, w in sorted(weights.items())
            if max(abs(v) for v in w) >= 0.002}
    body = json.dumps({"labels": LABELS, "weights": kept}, ensure_ascii=False, sort_keys=True)
    version = "lr-" + hashlib.sha256(body.encode()).hexdigest()[:10]
    model = {"version": version, "labels": LABELS, "trained_on": TRAIN.relative_to(ROOT).as_posix(),
             "train_rows": len(rows), "cv_threshold": threshold, "weights": kept}
    MODEL_FILE.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n",
                          encoding="utf-8")
    print(f"{MODEL_FILE.relative_to(ROOT)}: {version}, {len(kept)} features, "
          f"{MODEL_FILE.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
