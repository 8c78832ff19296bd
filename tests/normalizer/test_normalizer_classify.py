"""Classifier: contract, robustness to missing diacritics, and the held-out figures."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import normalizer.classify as classify_module
from normalizer.classify import DEFAULT_TRIAGE_THRESHOLD, MODEL_FILE, Classification, classify
from normalizer.schema import CATEGORIES
from normalizer.text import fold

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "classify"


def _rows(name):
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


def test_version_comes_from_the_shipped_model():
    model = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert classify_module.CLASSIFIER_VERSION == model["version"]
    assert classify("ổ gà").version == model["version"]
    assert set(model["labels"]) == set(CATEGORIES)


def test_classification_is_frozen_and_in_range():
    c = classify("Rác thải ùn ứ đầu kiệt")
    assert isinstance(c, Classification)
    assert c.category in CATEGORIES and 0.0 <= c.confidence <= 1.0
    with pytest.raises(AttributeError):
        c.category = "other"  # type: ignore[misc]


@pytest.mark.parametrize("text", [None, "", "   ", "!!!", "😀"])
def test_empty_text_is_other_with_no_confidence(text):
    c = classify(text)
    assert (c.category, c.confidence) == ("other", 0.0)


# Fresh sentences (not in the labeled set), one per category, formal and informal.
EXAMPLES = [
    ("Hộ dân ở kiệt 7 Đào Duy Anh đang xây thêm tầng 4 không có giấy phép xây dựng", "construction_order"),
    ("bãi rác tự phát cạnh chợ bốc mùi hôi thối, ruồi nhặng bu đầy", "environment"),
    ("mặt đường Điện Biên Phủ có nhiều ổ gà sâu, xe máy dễ té", "traffic_infrastructure"),
    ("đèn chiếu sáng trong kiệt tắt cả tuần, tối om", "urban_infrastructure"),
    ("nhóm thanh niên tụ tập đua xe, nẹt pô lúc nửa đêm", "public_order"),
    ("xích lô chặt chém khách du lịch ở cửa Ngọ Môn", "tourism"),
    ("hồ sơ cấp sổ đỏ nộp ở bộ phận một cửa đã quá hẹn 2 tháng", "public_service"),
    ("cho mình hỏi trung tâm làm việc tới mấy giờ ạ", "other"),
]


@pytest.mark.parametrize(("text", "category"), EXAMPLES)
def test_examples(text, category):
    assert classify(text).category == category


@pytest.mark.parametrize(("text", "category"), EXAMPLES)
def test_same_answer_without_diacritics(text, category):
    assert classify(fold(text)) == classify(text)


def test_teencode_is_understood():
    assert classify("den duong hu r, toi thui ko ai sua").category == "urban_infrastructure"
    assert classify("rac ko ai don may ngay r, hoi qua").category == "environment"


def test_contacts_do_not_change_the_category():
    text = "mặt đường Điện Biên Phủ có nhiều ổ gà sâu, xe máy dễ té"
    with_contacts = text + " nguyen.van.a@gmail.com https://example.com/anh.jpg"
    assert classify(with_contacts) == classify(text)


def test_labeled_set_covers_every_category_in_both_splits():
    for split in ("train.jsonl", "test.jsonl"):
        rows = _rows(split)
        assert {r["category"] for r in rows} == set(CATEGORIES)
        assert len({r["id"] for r in rows}) == len(rows)
    train_texts = {r["text"] for r in _rows("train.jsonl")}
    assert not train_texts & {r["text"] for r in _rows("test.jsonl")}


def test_held_out_figures_meet_the_targets():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "classify_eval.py")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout
    figures = json.loads(out)
    assert figures["threshold"] == DEFAULT_TRIAGE_THRESHOLD
    assert figures["n"] == len(_rows("test.jsonl"))
    # The written split (ours, short, in the training set's voice) is a regression guard, not
    # the target (that one is on real text: test_classifier_real.py). Its precision was
    # 0.954 with the sixth- and seventh-round models and 0.949 (7 of 136 routed wrong) with the
    # eighth's, as the model moves towards the real corpus; its triage share follows the
    # threshold set for real citizens' texts (docs/classification.md).
    for variant in ("diacritics", "folded"):
        assert figures[f"auto_precision_{variant}"] >= 0.94
        assert figures[f"triage_rate_{variant}"] <= 0.40
    assert abs(figures["auto_precision_diacritics"] - figures["auto_precision_folded"]) <= 0.05
    assert abs(figures["accuracy_diacritics"] - figures["accuracy_folded"]) <= 0.05
