"""Training, calibration, evaluation and retraining of the report classifier. Pure: rows in,
model dicts and figures out; reading and writing files is the caller's job
(tools/train_classifier.py, bench/classify_eval.py, the hub's retrain command).

A row is a dict with ``text`` and ``category`` and, optionally, ``weight`` (how much the example
counts in training; real reports weigh more than the written ones), ``real`` (a citizen's own
text: a real report or a center label; the confidence is calibrated on these) and ``id``.

Multinomial logistic regression, plain SGD with L2, deterministic (fixed seed), pure Python.
The confidence is calibrated by temperature scaling on cross-validated predictions of the real
reports (citizens' texts, not the written split, which is easier; three deals of the folds
pooled), and the triage threshold is the lowest one from which on those cross-validated
auto-routed reports reach the target precision. ``retrain`` adds the center's corrections to the corpus, fits a candidate,
and says whether it is at least as good as the current model (and why).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from normalizer.classify import Model, features
from normalizer.schema import CATEGORIES
from normalizer.text import fold

LABELS = tuple(CATEGORIES)
SEED = 20260701

# The feature settings and fit parameters chosen by cross-validation on the training rows
# (docs/classification.md has the comparison).
FEATURES: dict[str, Any] = {"char_ngrams": [], "lex_scale": 0.2, "tf": "log", "lead_boost": 0.5}
FIT: dict[str, Any] = {"epochs": 30, "lr0": 0.5, "l2": 1e-2}
# A real citizen's report counts this many times a written one in training (there are few).
REAL_WEIGHT = 5.0
# A center's label (a report of the hub's own traffic, labelled by the people who route it)
# counts twice a collected real report: with 771 real reports at weight 5, a dozen corrections
# at weight 5 no longer taught the model their pattern (tests/normalizer/test_retrain_cli.py).
CORRECTION_WEIGHT = 2 * REAL_WEIGHT

# The shipped corpus, relative to the repository root. The held-out files are never trained on.
CORPUS = {"written": "tests/fixtures/classify/train.jsonl", "real": "tests/fixtures/classify/real/train.jsonl"}
HELD_OUT = {"written": "tests/fixtures/classify/test.jsonl", "real": "tests/fixtures/classify/real/test.jsonl"}
TARGET_PRECISION = 0.95
MAX_TRIAGE = 0.15
# Fewer real rows than this in the corpus: calibrate on every row instead.
MIN_CALIBRATION_ROWS = 30
# Deals of the 5 folds whose cross-validated predictions are pooled for the calibration.
CALIBRATION_REPEATS = 3

Vector = dict[str, float]

# A folder where finished trainings are kept under a hash of everything that goes into them (the
# rows, the settings, this package's code and data, numpy's version), so the same training asked
# twice is done once. Unset (the default, and in production): no cache. The test suite sets it
# to a folder of its own run, where several tests retrain on the same corrections.
CACHE_ENV = "HUB_TRAIN_CACHE"


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus_rows(root: Path, real_weight: float | None = None) -> list[dict[str, Any]]:
    """The shipped training corpus: the written split, and the real reports weighted REAL_WEIGHT."""
    weight = REAL_WEIGHT if real_weight is None else real_weight
    rows = read_rows(root / CORPUS["written"])
    rows += [dict(r, weight=weight, real=True) for r in read_rows(root / CORPUS["real"])]
    return rows


def held_out_rows(root: Path, which: str = "real") -> list[dict[str, Any]]:
    return read_rows(root / HELD_OUT[which])


def fit(data: Sequence[tuple[Vector, int, float]], epochs: int = 30, lr0: float = 0.5,
        l2: float = 1e-4, seed: int = SEED) -> dict[str, list[float]]:
    """Weights of a multinomial logistic regression on (features, label index, weight) rows.

    Plain SGD in a fixed shuffled order; the L2 decay is applied to the weights of the features
    a row has when that row is seen. Each step is vectorised over the row's features and the
    labels (numpy); the result is the pure-Python loop's up to float rounding."""
    k_count = len(LABELS)
    names: dict[str, int] = {}
    rows = []
    for x, y, sample_weight in data:
        idx = np.fromiter((names.setdefault(f, len(names)) for f in x), np.intp, len(x))
        rows.append((idx, np.fromiter(x.values(), np.float64, len(x)), y, sample_weight))
    weights = np.zeros((len(names), k_count))
    rng = random.Random(seed)
    order = list(range(len(data)))
    for epoch in range(epochs):
        rng.shuffle(order)
        lr = lr0 / (1.0 + 0.2 * epoch)
        decay = 1.0 - lr * l2
        for i in order:
            idx, vals, y, sample_weight = rows[i]
            w = weights[idx]
            raw = vals @ w
            exps = np.exp(raw - raw.max())
            grads = exps / exps.sum()
            grads[y] -= 1.0
            w *= decay
            w -= np.outer(vals, (lr * sample_weight) * grads)
            weights[idx] = w
    return {f: weights[i].tolist() for f, i in names.items()}


def scores(weights: dict[str, list[float]], x: Vector) -> list[float]:
    out = [0.0] * len(LABELS)
    for f, v in x.items():
        w = weights.get(f)
        if w:
            for k in range(len(LABELS)):
                out[k] += w[k] * v
    return out


def softmax(raw: Sequence[float], temperature: float = 1.0) -> list[float]:
    scaled = [s / temperature for s in raw]
    top = max(scaled)
    exps = [math.exp(s - top) for s in scaled]
    total = sum(exps)
    return [e / total for e in exps]


def _vectors(rows: Iterable[dict[str, Any]], config: dict[str, Any]) -> list[tuple[Vector, int, float]]:
    return [(features(r["text"], config), LABELS.index(r["category"]), float(r.get("weight", 1.0))) for r in rows]


def _key(row: dict[str, Any]) -> str:
    return row.get("id") or hashlib.sha1(row["text"].encode()).hexdigest()


def cross_validate(rows: Sequence[dict[str, Any]], config: dict[str, Any] | None = None, folds: int = 5,
                   fit_kw: dict[str, Any] | None = None, repeat: int = 0,
                   vectors: Sequence[tuple[Vector, int, float]] | None = None) -> list[tuple[int, list[float]]]:
    """(gold label index, raw scores) for every row, each scored by a model that did not see it.
    Folds are stratified by category, in a fixed order; ``repeat`` > 0 deals the rows into folds
    in another fixed order (repeated cross-validation). ``vectors``: the rows' features, if
    already computed with ``config``."""
    config = FEATURES if config is None else config
    fit_kw = FIT if fit_kw is None else fit_kw
    by_cat: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_cat.setdefault(r["category"], []).append(i)

    def order(i: int) -> str:
        key = _key(rows[i])
        return hashlib.sha1(f"{key}/{repeat}".encode()).hexdigest() if repeat else key

    fold_of = {}
    for idx in by_cat.values():
        for n, i in enumerate(sorted(idx, key=order)):
            fold_of[i] = n % folds
    vectors = _vectors(rows, config) if vectors is None else vectors
    out: list[tuple[int, list[float]] | None] = [None] * len(rows)
    for f in range(folds):
        weights = fit([v for i, v in enumerate(vectors) if fold_of[i] != f], **fit_kw)
        for i, (x, y, _) in enumerate(vectors):
            if fold_of[i] == f:
                out[i] = (y, scores(weights, x))
    return [o for o in out if o is not None]


def fit_temperature(scored: Sequence[tuple[int, Sequence[float]]]) -> float:
    """The temperature that minimises the log-loss of the cross-validated scores."""
    best_t, best_loss = 1.0, math.inf
    for step in range(5, 81):
        t = step / 20
        loss = -sum(math.log(max(softmax(s, t)[y], 1e-12)) for y, s in scored)
        if loss < best_loss:
            best_t, best_loss = t, loss
    return best_t


def predictions(scored: Sequence[tuple[int, Sequence[float]]], temperature: float) -> list[tuple[str, str, float]]:
    """(gold, predicted, confidence) triples."""
    out = []
    for y, s in scored:
        probs = softmax(s, temperature)
        best = max(range(len(LABELS)), key=probs.__getitem__)
        out.append((LABELS[y], LABELS[best], probs[best]))
    return out


def figures(pairs: Sequence[tuple[str, str, float]], threshold: float) -> dict[str, float | None]:
    """accuracy and macro_f1 over every report; triage_rate = share below the threshold (sent to
    the center); auto_precision = accuracy of the rest (routed automatically)."""
    n = len(pairs)
    if not n:
        return {"accuracy": None, "macro_f1": None, "triage_rate": None, "auto_precision": None}
    f1s = []
    for cat in LABELS:
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


def curve(pairs: Sequence[tuple[str, str, float]], steps: Iterable[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
          ) -> list[dict[str, float | None]]:
    """Precision–coverage curve: auto-routed precision and coverage (1 − triage) per threshold."""
    out = []
    for t in steps:
        f = figures(pairs, t)
        out.append({"threshold": t, "coverage": round(1 - (f["triage_rate"] or 0.0), 4),
                    "auto_precision": f["auto_precision"]})
    return out


def coverage_at(pairs: Sequence[tuple[str, str, float]], target: float = TARGET_PRECISION) -> float:
    """The largest share of reports that a confidence threshold can route automatically with
    auto-routed precision >= target (1 - the smallest triage share that reaches it)."""
    ranked = sorted(pairs, key=lambda p: -p[2])
    best, right = 0.0, 0
    for i, (gold, predicted, confidence) in enumerate(ranked, 1):
        right += gold == predicted
        if right / i >= target and (i == len(ranked) or ranked[i][2] < confidence):
            best = i / len(ranked)
    return round(best, 4)


def pick_threshold(pairs: Sequence[tuple[str, str, float]], target: float = TARGET_PRECISION) -> float:
    """Lowest threshold (step 0.01) from which on the auto-routed precision reaches the target:
    at that threshold and at every higher one (so a lucky dip in the curve is not taken). On
    the cross-validated predictions, a threshold chosen this way on four folds gave the fifth
    about the target precision (docs/classification.md); 0.99 if no threshold does."""
    best = 0.99
    for step in range(98, -1, -1):
        t = round(step * 0.01, 2)
        precision = figures(pairs, t)["auto_precision"]
        if precision is not None and precision < target:
            break
        best = t
    return best


def _code_digest() -> str:
    """This package's code and data, the model file (an output) aside."""
    digest = hashlib.sha256(np.__version__.encode())
    here = Path(__file__).resolve().parent
    for path in sorted([*here.glob("*.py"), *(here / "data").rglob("*")]):
        if path.is_file() and path.name != "classifier.json":
            digest.update(str(path.relative_to(here)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_model(rows: Sequence[dict[str, Any]], config: dict[str, Any] | None = None,
                fit_kw: dict[str, Any] | None = None, trained_on: Sequence[str] = (),
                calibrate: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model dict ready for classifier.json, and the cross-validation report it was calibrated on."""
    config = dict(FEATURES if config is None else config)
    fit_kw = dict(FIT if fit_kw is None else fit_kw)
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return _build_model(rows, config, fit_kw, trained_on, calibrate)
    # trained_on only names the sources in the model file: not part of the key
    key = hashlib.sha256(json.dumps([_code_digest(), list(rows), config, fit_kw, calibrate],
                                    ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()
    cache = Path(folder)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{key}.json"
    with open(cache / f"{key}.lock", "w") as lock:
        try:  # a second process asking for the same training waits for the first one's result
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # no flock (Windows): at worst both train
            pass
        if path.exists():
            kept = json.loads(path.read_text(encoding="utf-8"))
            return {**kept["model"], "trained_on": list(trained_on)}, kept["report"]
        model, report = _build_model(rows, config, fit_kw, trained_on, calibrate)
        part = path.with_suffix(f".{os.getpid()}.part")
        part.write_text(json.dumps({"model": model, "report": report}, ensure_ascii=False), encoding="utf-8")
        os.replace(part, path)
    return model, report


def _build_model(rows: Sequence[dict[str, Any]], config: dict[str, Any], fit_kw: dict[str, Any],
                 trained_on: Sequence[str], calibrate: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    report: dict[str, Any] = {}
    temperature, threshold = 1.0, 0.5
    vectors = _vectors(rows, config)
    if calibrate:
        # the cross-validated scores of CALIBRATION_REPEATS deals of the folds, pooled: one
        # deal's curve moves the threshold by several hundredths from deal to deal
        scored: list[tuple[int, list[float]]] = []
        real: list[tuple[int, list[float]]] = []
        for repeat in range(CALIBRATION_REPEATS):
            deal = cross_validate(rows, config, fit_kw=fit_kw, repeat=repeat, vectors=vectors)
            scored += deal
            real += [sc for sc, r in zip(deal, rows, strict=True) if r.get("real")]
        basis = real if len(real) >= MIN_CALIBRATION_ROWS * CALIBRATION_REPEATS else scored
        temperature = fit_temperature(basis)
        pairs = predictions(basis, temperature)
        threshold = pick_threshold(pairs)
        report = {"cv": figures(predictions(scored, temperature), threshold),
                  "cv_real": figures(pairs, threshold) if basis is real else None,
                  "calibrated_on": "real" if basis is real else "all", "cv_repeats": CALIBRATION_REPEATS,
                  "temperature": temperature, "threshold": threshold,
                  "coverage_at_target": coverage_at(pairs), "curve": curve(pairs)}
    weights = fit(vectors, **fit_kw)
    kept = {f: [round(v, 4) for v in w] for f, w in sorted(weights.items()) if max(abs(v) for v in w) >= 0.002}
    body = json.dumps({"labels": LABELS, "weights": kept, "features": config, "temperature": temperature},
                      ensure_ascii=False, sort_keys=True)
    version = "lr-" + hashlib.sha256(body.encode()).hexdigest()[:10]
    model = {"version": version, "labels": list(LABELS), "features": config, "temperature": temperature,
             "threshold": threshold, "trained_on": list(trained_on), "train_rows": len(rows),
             "fit": fit_kw, "weights": kept}
    return model, report


def evaluate(model: Model, rows: Sequence[dict[str, Any]], threshold: float | None = None,
             transform: Callable[[str], str] = lambda s: s) -> dict[str, Any]:
    """Figures of a model on labelled rows, at its own threshold unless one is given."""
    threshold = model.threshold if threshold is None else threshold
    pairs = []
    for r in rows:
        c = model.classify(transform(r["text"]))
        pairs.append((r["category"], c.category, c.confidence))
    return {**figures(pairs, threshold), "n": len(rows)}


@dataclass
class RetrainResult:
    model: dict[str, Any]  # the candidate (classifier.json content)
    install: bool
    reasons: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def corrections_to_rows(corrections: Iterable[dict[str, Any]], weight: float = CORRECTION_WEIGHT) -> list[dict[str, Any]]:
    """The center's corrections — {"text", "category"} and optionally "code" and "time" — as
    training rows. The last label given for the same text wins; unknown categories are refused."""
    latest: dict[str, dict[str, Any]] = {}
    for c in corrections:
        if c["category"] not in CATEGORIES:
            raise ValueError(f"unknown category {c['category']!r}")
        if not (c.get("text") or "").strip():
            continue
        key = fold(c["text"])
        latest[key] = {"id": "center-" + hashlib.sha1(key.encode()).hexdigest()[:12], "text": c["text"],
                       "category": c["category"], "weight": weight, "real": True}
    return list(latest.values())


def retrain(corpus: Sequence[dict[str, Any]], corrections: Iterable[dict[str, Any]], current: Model,
            held_out: dict[str, Sequence[dict[str, Any]]], recent: Sequence[dict[str, Any]] = (),
            tolerance: float = 0.02, config: dict[str, Any] | None = None,
            fit_kw: dict[str, Any] | None = None, trained_on: Sequence[str] = ()) -> RetrainResult:
    """Fit a candidate on the shipped corpus plus the center's corrections and compare it with the
    current model on each held-out split (name → rows; with and without diacritics) and on
    ``recent`` (the last month's corrections; a candidate trained on them is expected to get
    them right).

    The candidate is to be installed only when, on every held-out split, neither accuracy nor
    auto-routed precision drops by more than ``tolerance`` and the triage share does not grow
    by more than ``tolerance`` plus 5 points, and it is at least as accurate as the current
    model on ``recent``."""
    extra = corrections_to_rows(corrections)
    known = {fold(r["text"]) for r in extra}
    rows = [r for r in corpus if fold(r["text"]) not in known] + extra
    model_dict, cv = build_model(rows, config or current.features, fit_kw, trained_on=trained_on)
    candidate = Model.from_dict(model_dict)
    reasons: list[str] = []
    install = True
    figs: dict[str, Any] = {"cv": cv.get("cv"), "corrections": len(extra)}
    for split, split_rows in held_out.items():
        for variant, transform in (("", lambda s: s), ("_folded", fold)):
            name = split + variant
            old = evaluate(current, split_rows, transform=transform)
            new = evaluate(candidate, split_rows, transform=transform)
            figs[name] = {"current": old, "candidate": new}
            for key in ("accuracy", "auto_precision"):
                if (new[key] or 0.0) < (old[key] or 0.0) - tolerance:
                    install = False
                    reasons.append(f"{name} {key} {new[key]} < current {old[key]}")
            if (new["triage_rate"] or 0.0) > (old["triage_rate"] or 0.0) + tolerance + 0.05:
                install = False
                reasons.append(f"{name} triage {new['triage_rate']} > current {old['triage_rate']}")
    if recent:
        old = evaluate(current, recent)
        new = evaluate(candidate, recent)
        figs["recent"] = {"current": old, "candidate": new}
        if (new["accuracy"] or 0.0) < (old["accuracy"] or 0.0):
            install = False
            reasons.append(f"recent corrections accuracy {new['accuracy']} < current {old['accuracy']}")
    if install:
        reasons.append("not worse on the held-out splits (with and without diacritics)"
                       + (" and better or equal on the recent corrections" if recent else ""))
    return RetrainResult(model_dict, install, reasons, figs)


def recent_labels(labels: list[dict[str, Any]], days: int,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """The labels given in the last ``days`` days (a label without a time is not recent)."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    out = []
    for label in labels:
        when = label.get("time")
        if not when:
            continue
        t = datetime.fromisoformat(when.replace("Z", "+00:00"))
        if (t if t.tzinfo else t.replace(tzinfo=UTC)) >= since:
            out.append(label)
    return out
