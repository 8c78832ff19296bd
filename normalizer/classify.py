"""Category of a citizen's report: one of normalizer.schema.CATEGORIES with a confidence.

A multinomial logistic regression over folded text (no diacritics, abbreviations expanded):
word unigrams and bigrams, counted once (``tf`` "binary") or sublinearly, 1 + log(count)
(``tf`` "log", the shipped model), optionally weighed more in the lead sentence
(``lead_boost``; the shipped model counts the lead's words 1.5 times) and optionally with character
n-grams inside words (``char_ngrams``; not shipped: docs/classification.md), L2-normalised; and
one hit-count feature
per category from a hand-written domain lexicon (so words missing from the labeled set still
count). The weights ship as JSON in normalizer/data; a loaded model
compiles them into a numpy matrix and scores a report with one product over the rows of its
features, each word's features cached on first sight (Model.text_scores: the numbers of
features() + Model.scores, several times faster). Because every feature is computed on folded
text, a report gets the same category with or without diacritics.

The model file names the feature settings it was trained with (``features``), so a retrained
model with other settings needs no code change.

The confidence is the calibrated probability of the category (the scores are divided by the
model's ``temperature``, fitted on cross-validated predictions of real citizens' reports by
tools/train_classifier.py).
Below the triage threshold the report goes to the center's triage queue; the threshold that
the evaluation supports ships with the model (``DEFAULT_TRIAGE_THRESHOLD``).
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

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
# The end of a sentence in folded text: . ! ? ; followed by a space or the end ("P.17", "1.200"
# and "TP.HCM" do not end one).
_SENTENCE_END = re.compile(r"[.!?;]+(?=\s|$)")
# Sentences that open a letter and say nothing of the category; not the lead.
_SALUTATION_WORDS = frozenset({"chao", "gui", "thua"})
_SALUTATIONS = frozenset({("kinh", "gui"), ("kinh", "thua"), ("kinh", "chao"), ("xin", "chao")})


@dataclass(frozen=True, slots=True)
class Classification:
    category: str  # a key of normalizer.schema.CATEGORIES
    confidence: float  # calibrated probability in [0, 1]
    version: str  # CLASSIFIER_VERSION of the model that decided


def words(text: str) -> list[str]:
    """Folded, abbreviation-expanded words of a report."""
    return split_words(text)[0]


def split_words(text: str) -> tuple[list[str], tuple[int, int]]:
    """The report's words (words()) and where its lead sentence is among them (start, end): the
    first sentence that is not a salutation ("Kính gửi …", "Kính thưa …", "Xin chào …"), or the
    first sentence if every one is. A report's main category is the one it leads with; the
    model weighs the lead's words more (``lead_boost``). A text without sentence punctuation
    (a title, a chat line) is all lead."""
    if "@" in text or "://" in text or "www." in text:
        text = _NOISE.sub(" ", text)
    folded = expand_abbreviations(fold(text))
    if not _SENTENCE_END.search(folded):
        ws = _WORD.findall(folded)
        return ws, (0, len(ws))
    ws = []
    lead = None
    first = None
    for sentence in _SENTENCE_END.split(folded):
        sw = _WORD.findall(sentence)
        if not sw:
            continue
        span = (len(ws), len(ws) + len(sw))
        ws += sw
        if first is None:
            first = span
        if lead is None and not (sw[0] in _SALUTATION_WORDS or tuple(sw[:2]) in _SALUTATIONS):
            lead = span
    return ws, lead or first or (0, 0)


@lru_cache(maxsize=1)
def _lexicon() -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = json.loads(LEXICON_FILE.read_text(encoding="utf-8"))
    return tuple((cat, tuple(f" {p} " for p in phrases)) for cat, phrases in raw.items() if cat in CATEGORIES)


@lru_cache(maxsize=1)
def _lexicon_index() -> tuple[tuple[str, ...], dict[str, tuple[int, ...]],
                              dict[tuple[str, str], tuple[tuple[int, str], ...]]]:
    """The lexicon's categories; its one-word phrases by word, and its longer phrases by their
    first two words, each as (category index, the phrase padded with spaces). A phrase hits when
    its words follow each other among the report's words: the same as finding " phrase " in
    the space-joined words (features() does that), without scanning the text once per phrase.
    A phrase with a character no word has can never hit and is left out."""
    cats: list[str] = []
    single: dict[str, list[int]] = {}
    pairs: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for ci, (cat, phrases) in enumerate(_lexicon()):
        cats.append(cat)
        for padded in phrases:
            toks = padded[1:-1].split(" ")
            if not all(_WORD.fullmatch(t) for t in toks):
                continue
            if len(toks) == 1:
                single.setdefault(toks[0], []).append(ci)
            else:
                pairs.setdefault((toks[0], toks[1]), []).append((ci, padded))
    return (tuple(cats), {w: tuple(c) for w, c in single.items()},
            {k: tuple(v) for k, v in pairs.items()})


def lexicon_hits(ws: list[str]) -> list[tuple[str, int]]:
    """(category, how many of its lexicon phrases are among the words) for every category hit;
    a phrase listed twice counts twice, as in features()."""
    cats, single, pairs = _lexicon_index()
    counts = [0] * len(cats)
    for w in single.keys() & set(ws):
        for ci in single[w]:
            counts[ci] += 1
    if len(ws) > 1:
        found = pairs.keys() & set(zip(ws, ws[1:], strict=False))
        if found:
            joined = " " + " ".join(ws) + " "
            for pair in found:
                for ci, padded in pairs[pair]:
                    if padded in joined:
                        counts[ci] += 1
    return [(cat, n) for cat, n in zip(cats, counts, strict=True) if n]


def features(text: str, config: dict[str, Any] | None = None) -> dict[str, float]:
    """Sparse feature vector of a report: what training fits on, and the reference that
    prediction (Model.text_scores) reproduces without building it. ``config`` is the model's
    feature settings; by default those of the shipped model."""
    cfg = model_features() if config is None else config
    ws, (start, end) = split_words(text)
    content = [w for w in ws if not w.isdigit()]
    sublinear = cfg.get("tf", "binary") == "log"
    boost = 1.0 + cfg.get("lead_boost", 0.0)
    lead = [w for w in ws[start:end] if not w.isdigit()]
    lead_words = set(lead) if boost != 1.0 else set()
    lead_pairs = set(zip(lead, lead[1:], strict=False)) if boost != 1.0 else set()
    feats: dict[str, float] = {}
    for w in content:
        feats["w:" + w] = feats.get("w:" + w, 0.0) + 1.0
        padded = f"<{w}>"
        for n in cfg["char_ngrams"]:
            for i in range(len(padded) - n + 1):
                feats["c:" + padded[i:i + n]] = 1.0
    for a, b in zip(content, content[1:], strict=False):
        feats[f"b:{a}_{b}"] = feats.get(f"b:{a}_{b}", 0.0) + 1.0
    # a word or a word pair counts once ("binary"), or 1 + log(times it occurs) ("log"), times
    # 1 + lead_boost if it is in the lead sentence; character n-grams count once
    feats = {k: (_tf(v) if sublinear and k[0] != "c" else 1.0) for k, v in feats.items()}
    for w in lead_words:
        feats["w:" + w] *= boost
    for a, b in lead_pairs:
        feats[f"b:{a}_{b}"] *= boost
    norm = math.sqrt(sum(v * v for v in feats.values())) or 1.0
    feats = {k: v / norm for k, v in feats.items()}
    joined = " " + " ".join(ws) + " "
    for cat, phrases in _lexicon():
        hits = sum(1 for p in phrases if p in joined)
        if hits:
            feats["lex:" + cat] = cfg["lex_scale"] * math.log1p(hits)
    feats["bias"] = 1.0
    return feats


def _tf(count: float) -> float:
    """Sublinear term frequency: 1 for a word seen once, 1 + log(n) for one seen n times."""
    return 1.0 + math.log(count)


# Distinct words remembered per model (Vietnamese has a few thousand syllables; typos add more).
_WORD_CACHE_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Model:
    version: str
    labels: tuple[str, ...]
    weights: dict[str, tuple[float, ...]]
    features: dict[str, Any]
    temperature: float
    threshold: float
    # Compiled by __post_init__ for text_scores(): the weight matrix (one row per feature), the
    # row of each word/character feature and of each bigram (a word pair), ids for features the
    # model does not know (past the rows, never reused: they count in the vector's norm), and per
    # word the row of its own feature and the rows and ids of its character n-grams.
    _matrix: np.ndarray = field(init=False, repr=False, compare=False)
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)
    _unknown: dict[str, int] = field(init=False, repr=False, compare=False)
    _next_unknown: Iterator[int] = field(init=False, repr=False, compare=False)
    _bigrams: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)
    _words: dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = list(self.weights)
        matrix = np.array([self.weights[f] for f in names], dtype=np.float64).reshape(len(names), len(self.labels))
        index = {f: i for i, f in enumerate(names)}
        bigrams = {}
        for f, i in index.items():
            if f.startswith("b:") and f.count("_") == 1:
                a, _, b = f[2:].partition("_")
                bigrams[a, b] = i
        object.__setattr__(self, "_matrix", matrix)
        object.__setattr__(self, "_rows", index)
        object.__setattr__(self, "_unknown", {})
        object.__setattr__(self, "_next_unknown", itertools.count(len(names)))
        object.__setattr__(self, "_bigrams", bigrams)
        object.__setattr__(self, "_words", {})

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
        """Raw scores of a sparse feature vector (features()): the reference the fast path of
        text_scores() is checked against."""
        scores = [0.0] * len(self.labels)
        for f, v in feats.items():
            w = self.weights.get(f)
            if w:
                for k, wk in enumerate(w):
                    scores[k] += wk * v
        return scores

    def _word(self, w: str) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
        """The row of the word's own feature (-1 when the model does not know it), and its
        character n-grams: the rows of those the model knows, and ids (past the matrix's rows)
        for those it does not, which weigh nothing but count in the vector's norm."""
        names = set()
        padded = f"<{w}>"
        for n in self.features["char_ngrams"]:
            for i in range(len(padded) - n + 1):
                names.add("c:" + padded[i:i + n])
        rows, unknown = self._rows, self._unknown
        other = []
        for f in names:
            if f not in rows:
                i = unknown.get(f)
                other.append(unknown.setdefault(f, next(self._next_unknown)) if i is None else i)
        entry = rows.get("w:" + w, -1), tuple(rows[f] for f in names if f in rows), tuple(other)
        self._words[w] = entry
        return entry

    def text_scores(self, ws: list[str], lead: tuple[int, int] = (0, 0)) -> list[float]:
        """Raw scores of a report's words and its lead sentence (split_words()): the same
        numbers as scores(features(text)), from the weight matrix and the features cached per
        word."""
        matrix = self._matrix
        if len(self._words) >= _WORD_CACHE_MAX:  # forget the words and the unknown features
            self._words.clear()
            self._unknown.clear()
        content = [w for w in ws if not w.isdigit()]
        sublinear = self.features.get("tf", "binary") == "log"
        cache = self._words
        boost = 1.0 + self.features.get("lead_boost", 0.0)
        lead_words: set[str] = set()
        lead_pairs: set[tuple[str, str]] = set()
        if boost != 1.0:
            head = [w for w in ws[lead[0]:lead[1]] if not w.isdigit()]
            lead_words = set(head)
            lead_pairs = set(zip(head, head[1:], strict=False))
        values: dict[int, float] = {}  # row -> feature value
        chars: set[int] = set()
        unknown: set[int] = set()
        square = 0.0  # squared norm of the vector, unknown features included
        for w, n in (Counter(content) if sublinear else dict.fromkeys(content, 1)).items():
            own, known_chars, other = cache.get(w) or self._word(w)
            v = _tf(n) * boost if w in lead_words else _tf(n)
            square += v * v
            if own >= 0:
                values[own] = v
            chars.update(known_chars)
            unknown.update(other)
        square += len(chars) + len(unknown)
        values.update(dict.fromkeys(chars, 1.0))
        if len(content) > 1:
            pairs = zip(content, content[1:], strict=False)
            bigrams = self._bigrams  # "b:a_b" names one pair: words have no "_"
            for pair, n in (Counter(pairs) if sublinear else dict.fromkeys(pairs, 1)).items():
                v = _tf(n) * boost if pair in lead_pairs else _tf(n)
                square += v * v
                j = bigrams.get(pair)
                if j is not None:
                    values[j] = v
        if values:
            taken = matrix.take(np.fromiter(values, np.intp, len(values)), axis=0)
            vector = np.fromiter(values.values(), np.float64, len(values))
            norm = math.sqrt(square)
            out = [v / norm for v in (vector @ taken).tolist()]
        else:
            out = [0.0] * len(self.labels)
        weights = self.weights
        scale = self.features["lex_scale"]
        for cat, hits in lexicon_hits(ws):
            w = weights.get("lex:" + cat)
            if w:
                v = scale * math.log1p(hits)
                out = [o + wk * v for o, wk in zip(out, w, strict=True)]
        w = weights.get("bias")
        if w:
            out = [o + wk for o, wk in zip(out, w, strict=True)]
        return out

    def _probs(self, ws: list[str], lead: tuple[int, int]) -> list[float]:
        temperature = self.temperature
        scaled = [s / temperature for s in self.text_scores(ws, lead)]
        top = max(scaled)
        exps = [math.exp(s - top) for s in scaled]
        total = sum(exps)
        return [e / total for e in exps]

    def probabilities(self, text: str) -> dict[str, float]:
        return dict(zip(self.labels, self._probs(*split_words(text)), strict=True))

    def classify(self, text: str | None) -> Classification:
        ws, lead = split_words(text) if text else ([], (0, 0))
        if not ws:
            return Classification("other", 0.0, self.version)
        probs = self._probs(ws, lead)
        best = max(range(len(probs)), key=probs.__getitem__)
        return Classification(self.labels[best], round(probs[best], 4), self.version)


# Modification time of MODEL_FILE when the loaded model was read (None: not loaded).
_loaded_stamp: float | None = None


def _stamp() -> float:
    try:
        return MODEL_FILE.stat().st_mtime
    except OSError:
        return 0.0


@lru_cache(maxsize=1)
def _model() -> Model:
    global _loaded_stamp
    _loaded_stamp = _stamp()
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


def model_text(model: dict[str, Any]) -> str:
    """A model dict as the model file's text (what tools/train_classifier.py and ``retrain``
    write, and what the database keeps for the replicas: hub/classifier_sync.py)."""
    return json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_model_file(path: Path, text: str) -> None:
    """The model file, written atomically (a temporary file renamed over it): a process that
    reloads it reads the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def reload_model() -> None:
    """Forget the loaded model (after a retrained one was installed in MODEL_FILE)."""
    global _loaded_stamp
    _model.cache_clear()
    _loaded_stamp = None


def reload_if_changed() -> bool:
    """Forget the loaded model when MODEL_FILE changed since it was read (``retrain`` installed
    another): the next classification reads the new one. Returns whether it did."""
    if _loaded_stamp is None or _stamp() == _loaded_stamp:
        return False
    reload_model()
    return True


def __getattr__(name: str) -> Any:
    # Both come from the shipped model file, read on first use.
    if name == "CLASSIFIER_VERSION":
        return _model().version
    if name == "DEFAULT_TRIAGE_THRESHOLD":
        return _model().threshold
    raise AttributeError(name)
