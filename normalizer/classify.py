"""Category of a citizen's report: one of normalizer.schema.CATEGORIES with a confidence.

A multinomial logistic regression over folded text (no diacritics, abbreviations expanded):
word unigrams and bigrams, character 3–4-grams inside words (typos, teencode, glued words),
and one hit-count feature per category from a hand-written domain lexicon (so words missing
from the labeled set still count). Pure Python; the weights ship as JSON in normalizer/data
(trained by tools/train_classifier.py on tests/fixtures/classify/train.jsonl) and load in a
few milliseconds. Because every feature is computed on folded text, a report gets the same
category with or without diacritics.

The confidence is the model's probability for the category. Below the triage threshold (a
setting owned by the core; DEFAULT_TRIAGE_THRESHOLD is the value bench/classify_eval.py
supports) the report goes to the center's triage queue.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from normalizer.schema import CATEGORIES
from normalizer.text import expand_abbreviations, fold

DATA = Path(__file__).parent / "data"
MODEL_FILE = DATA / "classifier.json"
LEXICON_FILE = DATA / "category_lexicon.json"

# Chosen on cross-validation of the training split (tools/train_classifier.py), checked on
# the held-out split by bench/classify_eval.py.
DEFAULT_TRIAGE_THRESHOLD = 0.5

_WORD = re.compile(r"[a-z0-9]+")
_NOISE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")  # contacts and links say nothing of the category
_CHAR_NGRAMS = (3, 4)
_LEX_SCALE = 0.3  # weight of one lexicon hit relative to the unit-norm n-gram vector


@dataclass(frozen=True, slots=True)
class Classification:
    category: str  # a key of normalizer.schema.CATEGORIES
    confidence: float  # probability in [0, 1]
    version: str  # CLASSIFIER_VERSION of the model that decided


def words(text: str) -> list[str]:
    """Folded, abbreviation-expanded words of a report."""
    return _WORD.findall(expand_abbreviations(fold(_NOISE.sub(" ", text))))


@lru_cache(maxsize=1)
def _lexicon() -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = json.loads(LEXICON_FILE.read_text(encoding="utf-8"))
    return tuple((cat, tuple(f" {p} " for p in phrases)) for cat, phrases in raw.items() if cat in CATEGORIES)


def features(text: str) -> dict[str, float]:
    """Sparse feature vector of a report (shared by training and prediction)."""
    ws = words(text)
    feats: dict[str, float] = {}
    for w in ws:
        if not w.isdigit():
            feats["w:" + w] = 1.0
            padded = f"<{w}>"
            for n in _CHAR_NGRAMS:
                for i in range(len(padded) - n + 1):
                    feats["c:" + padded[i:i + n]] = 1.0
    content = [w for w in ws if not w.isdigit()]
    for a, b in zip(content, content[1:], strict=False):
        feats[f"b:{a}_{b}"] = 1.0
    norm = math.sqrt(len(feats)) or 1.0
    feats = {k: v / norm for k, v in feats.items()}
    joined = " " + " ".join(ws) + " "
    for cat, phrases in _lexicon():
        hits = sum(1 for p in phrases if p in joined)
        if hits:
            feats["lex:" + cat] = _LEX_SCALE * math.log1p(hits)
    feats["bias"] = 1.0
    return feats


@dataclass(frozen=True, slots=True)
class _Model:
    version: str
    labels: tuple[str, ...]
    weights: dict[str, tuple[float, ...]]


@lru_cache(maxsize=1)
def _model() -> _Model:
    raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    labels = tuple(raw["labels"])
    unknown = set(labels) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"classifier labels not in CATEGORIES: {sorted(unknown)}")
    weights = {f: tuple(w) for f, w in raw["weights"].items()}
    return _Model(raw["version"], labels, weights)


def probabilities(text: str) -> dict[str, float]:
    """Probability of every category for the text."""
    model = _model()
    scores = [0.0] * len(model.labels)
    for f, v in features(text).items():
        w = model.weights.get(f)
        if w:
            for k, wk in enumerate(w):
                scores[k] += wk * v
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {label: e / total for label, e in zip(model.labels, exps, strict=True)}


def classify(text: str | None) -> Classification:
    """The most likely category and its probability. Empty text → ("other", 0.0)."""
    version = _model().version
    if not text or not words(text):
        return Classification("other", 0.0, version)
    probs = probabilities(text)
    category = max(probs, key=probs.__getitem__)
    return Classification(category, round(probs[category], 4), version)


def __getattr__(name: str) -> str:
    # CLASSIFIER_VERSION comes from the shipped model file, read on first use.
    if name == "CLASSIFIER_VERSION":
        return _model().version
    raise AttributeError(name)
