"""Category of a citizen's report: one of normalizer.schema.CATEGORIES with a confidence.

A multinomial logistic regression over folded text (no diacritics, abbreviations expanded):
word unigrams and bigrams, character n-grams inside words (typos, teencode, glued words), and
one hit-count feature per category from a hand-written domain lexicon (so words missing from
the labeled set still count). Pure Python;
the weights ship as JSON in normalizer/data and load in a few tens of milliseconds. Because
every feature is computed on folded text, a report gets the same category with or without
diacritics.

The model file names the feature settings it was trained with (``features``), so a retrained
model with other settings needs no code change.

The confidence is the calibrated probability of the category (the scores are divided by the
model's ``temperature``, fitted on cross-validated predictions by tools/train_classifier.py).
Below the triage threshold the report goes to the center's triage queue; the threshold that
the evaluation supports ships with the model (``DEFAULT_TRIAGE_THRESHOLD``).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from normalizer.schema import CATEGORIES
from normalizer.text import expand_abbreviations, fold

DATA = Path(__file__).parent / "data"
MODEL_FILE = DATA / "classifier.json"
LEXICON_FILE = DATA / "category_lexicon.json"

# Used only when a model file carries no threshold (models written before issue 14).
_FALLBACK_THRESHOLD = 0.5

# Feature settings of models written before the model file named them.
LEGACY_FEATURES: dict[str, Any] = {"char_ngrams": [3, 4], "lex_scale": 0.3}

_WORD = re.compile(r"[a-z0-9]+")
_NOISE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")  # contacts and links say nothing of the category


@dataclass(frozen=True, slots=True)
class Classification:
    category: str  # a key of normalizer.schema.CATEGORIES
    confidence: float  # calibrated probability in [0, 1]
    version: str  # CLASSIFIER_VERSION of the model that decided


def words(text: str) -> list[str]:
    """Folded, abbreviation-expanded words of a report."""
    return _WORD.findall(expand_abbreviations(fold(_NOISE.sub(" ", text))))


@lru_cache(maxsize=1)
def _lexicon() -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = json.loads(LEXICON_FILE.read_text(encoding="utf-8"))
    return tuple((cat, tuple(f" {p} " for p in phrases)) for cat, phrases in raw.items() if cat in CATEGORIES)


def features(text: str, config: dict[str, Any] | None = None) -> dict[str, float]:
    """Sparse feature vector of a report (shared by training and prediction). ``config`` is the
    model's feature settings; by default those of the shipped model."""
    cfg = model_features() if config is None else config
    ws = words(text)
    feats: dict[str, float] = {}
    for w in ws:
        if not w.isdigit():
            feats["w:" + w] = 1.0
            padded = f"<{w}>"
            for n in cfg["char_ngrams"]:
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
            feats["lex:" + cat] = cfg["lex_scale"] * math.log1p(hits)
    feats["bias"] = 1.0
    return feats


@dataclass(frozen=True, slots=True)
class Model:
    version: str
    labels: tuple[str, ...]
    weights: dict[str, tuple[float, ...]]
    features: dict[str, Any]
    temperature: float
    threshold: float

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Model:
        labels = tuple(raw["labels"])
        unknown = set(labels) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"classifier labels not in CATEGORIES: {sorted(unknown)}")
        weights = {f: tuple(w) for f, w in raw["weights"].items()}
        return cls(raw["version"], labels, weights, dict(raw.get("features") or LEGACY_FEATURES),
                   float(raw.get("temperature", 1.0)), float(raw.get("threshold", _FALLBACK_THRESHOLD)))

    def scores(self, feats: dict[str, float]) -> list[float]:
        scores = [0.0] * len(self.labels)
        for f, v in feats.items():
            w = self.weights.get(f)
            if w:
                for k, wk in enumerate(w):
                    scores[k] += wk * v
        return scores

    def probabilities(self, text: str) -> dict[str, float]:
        scores = [s / self.temperature for s in self.scores(features(text, self.features))]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.labels, exps, strict=True)}

    def classify(self, text: str | None) -> Classification:
        if not text or not words(text):
            return Classification("other", 0.0, self.version)
        probs = self.probabilities(text)
        category = max(probs, key=probs.__getitem__)
        return Classification(category, round(probs[category], 4), self.version)


@lru_cache(maxsize=1)
def _model() -> Model:
    return Model.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


def model_features() -> dict[str, Any]:
    """Feature settings of the shipped model."""
    return _model().features


def probabilities(text: str) -> dict[str, float]:
    """Calibrated probability of every category for the text."""
    return _model().probabilities(text)


def classify(text: str | None) -> Classification:
    """The most likely category and its probability. Empty text → ("other", 0.0)."""
    return _model().classify(text)


def reload_model() -> None:
    """Forget the loaded model (after a retrained one was installed in MODEL_FILE)."""
    _model.cache_clear()


def __getattr__(name: str) -> Any:
    # Both come from the shipped model file, read on first use.
    if name == "CLASSIFIER_VERSION":
        return _model().version
    if name == "DEFAULT_TRIAGE_THRESHOLD":
        return _model().threshold
    raise AttributeError(name)
