"""The fast paths of analyze() (issue 14, for the pipeline of issue 17) give the answers of the
reference steps they replace: fold() per character, the classifier's weight matrix and word
cache, the lexicon index, the place finder's shortcuts and the phone pre-check."""
import functools
import json
import math
import sys
import unicodedata
from pathlib import Path

import pytest

import normalizer.classify as classify_module
from normalizer import classify_train as ct
from normalizer.analyze import analyze
from normalizer.classify import MODEL_FILE, Model, features, lexicon_hits, words
from normalizer.phones import extract_emails, extract_phones
from normalizer.text import _FOLD_EXTRA, _INVISIBLE, _WS, fold

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "classify"


def _corpus_texts() -> list[str]:
    texts = [r["text"] for p in sorted(FIXTURES.rglob("*.jsonl")) for r in ct.read_rows(p) if "text" in r]
    return texts + [fold(t) for t in texts]


TEXTS = _corpus_texts()


def fold_reference(s: str | None) -> str:
    """fold() step by step, as first written: the oracle for the per-character table."""
    if not s:
        return ""
    decomposed = unicodedata.normalize("NFD", s.translate(_INVISIBLE).translate(_FOLD_EXTRA))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WS.sub(" ", bare.lower().translate(_FOLD_EXTRA)).strip()


def test_fold_matches_the_reference_on_every_character():
    # Characters, alone and between letters, spaces and marks, 64 to a string: the
    # per-character table must give what NFD + dropping marks + lower case give on the whole
    # string (Σ's lower case depends on its neighbours).
    # (all of the BMP; beyond it every character that decomposes, is a mark or changes case,
    # and every 61st of the rest)
    astral = [c for c in range(0x10000, 0x110000)
              if c % 61 == 0 or unicodedata.decomposition(chr(c)) or unicodedata.combining(chr(c))
              or chr(c).lower() != chr(c)]
    codes = [*range(0xD800), *range(0xE000, 0x10000), *astral]
    chars = [chr(c) for c in codes]
    for start in range(0, len(chars), 64):
        chunk = chars[start:start + 64]
        for text in ("".join(chunk), "".join(f"A{ch}b " for ch in chunk),
                     "".join(f"ΑΣ{ch} Σ{ch}Σ x" for ch in chunk), "".join(f" {ch}\u0301 " for ch in chunk)):
            assert fold(text) == fold_reference(text), hex(ord(chunk[0]))


def test_fold_matches_the_reference_on_reports():
    nfd = [unicodedata.normalize("NFD", t) for t in TEXTS[:300]]
    for text in TEXTS + nfd + ["", " ", "\u200b", "Ð\u00a0–\u2019x", "ΣΑΣ ΣΑΣ."]:
        assert fold(text) == fold_reference(text)


def _reference_probabilities(model: Model, text: str) -> list[float]:
    raw = [s / model.temperature for s in model.scores(features(text, model.features))]
    top = max(raw)
    exps = [math.exp(s - top) for s in raw]
    return [e / sum(exps) for e in exps]


def _lexicon_reference(ws: list[str]) -> list[tuple[str, int]]:
    joined = " " + " ".join(ws) + " "
    out = []
    for cat, phrases in classify_module._lexicon():
        hits = sum(1 for p in phrases if p in joined)
        if hits:
            out.append((cat, hits))
    return out


def test_lexicon_index_counts_what_the_substring_search_counts():
    for text in TEXTS:
        ws = words(text)
        assert lexicon_hits(ws) == _lexicon_reference(ws), text


def _fresh_model(kind: str = "shipped") -> Model:
    if kind == "shipped":
        return Model.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))
    # a model with character 3-4-grams (the shipped one has none), fitted on part of the corpus
    return Model.from_dict(_ngram_model_dict())


@functools.lru_cache(maxsize=1)
def _ngram_model_dict() -> dict:
    rows = ct.corpus_rows(ROOT)[::2]
    model, _ = ct.build_model(rows, {"char_ngrams": [3, 4], "lex_scale": 0.3}, calibrate=False)
    assert any(f.startswith("c:") for f in model["weights"])
    return model


@pytest.mark.parametrize("kind", ["shipped", "char_ngrams"])
def test_fast_scoring_gives_the_reference_probabilities(kind):
    model = _fresh_model(kind)
    worst = 0.0
    for text in TEXTS:
        ref = _reference_probabilities(model, text)
        fast = list(model.probabilities(text).values())
        worst = max(worst, max(abs(a - b) for a, b in zip(ref, fast, strict=True)))
        c = model.classify(text)
        if words(text):
            best = max(range(len(ref)), key=ref.__getitem__)
            assert c.category == model.labels[best], text
            assert abs(c.confidence - ref[best]) <= 5e-5  # rounded to 4 places
    assert worst < 1e-9


@pytest.mark.parametrize("kind", ["shipped", "char_ngrams"])
def test_word_cache_is_bounded_and_forgetting_changes_nothing(monkeypatch, kind):
    monkeypatch.setattr(classify_module, "_WORD_CACHE_MAX", 50)
    model = _fresh_model(kind)
    rows = len(model._matrix)
    for text in TEXTS[:400]:
        fast = list(model.probabilities(text).values())
        ref = _reference_probabilities(model, text)
        assert max(abs(a - b) for a, b in zip(ref, fast, strict=True)) < 1e-9
        assert len(model._words) <= 50 + len(set(words(text)))
    # the unknown features are forgotten with the words (their ids are never reused); the
    # model's own rows stay
    assert all(model._rows[f] == i for i, f in enumerate(model.weights)) and len(model._rows) == rows
    assert len(model._unknown) < 50 * 40


@pytest.mark.parametrize("text", [
    "Gọi tôi số 0905 123 456 hoặc +43 1 2345, email a.b@hue.gov.vn",
    "lien he +683 4002",
    "số nhà 12 kiệt 45 Lê Lợi",  # five digits: no phone, matcher skipped
    "ngày 12/10/2025 lúc 21h30, số 0234.3822.123",
])
def test_analyze_finds_the_contacts_the_extractors_find(text):
    a = analyze(text)
    assert a.phones == tuple(extract_phones(text))
    assert a.emails == tuple(extract_emails(text))


def test_analyze_contacts_match_the_extractors_on_the_corpus():
    for text in TEXTS:
        a = analyze(text)
        assert a.phones == tuple(extract_phones(text)) and a.emails == tuple(extract_emails(text))


def test_analyze_speed_bench_prints_one_line():
    import subprocess
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "analyze_speed.py"), "--repeat", "1",
                          "--texts", "seed"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    line = json.loads(out)
    assert line["seed"]["n"] > 0
    for key in ("analyze_us", "classify_us"):
        figs = line["seed"][key]
        assert 0 < figs["p50"] <= figs["p95"]


def test_phone_precheck_never_hides_a_number_the_matcher_finds():
    import random

    from normalizer.analyze import _may_hold_phone

    rng = random.Random(14)
    alphabet = "0123456789 +-.()/xX~ab\u00a0\u200b\u3000０１２"
    found = 0
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 24)))
        if rng.random() < 0.5:
            text = "lh 0" + rng.choice("39785") + text
        if extract_phones(text):
            found += 1
            assert _may_hold_phone(text), text
    assert found >= 50  # the fuzz reaches numbers
