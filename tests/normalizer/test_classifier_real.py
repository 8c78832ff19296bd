"""Classifier on real citizens' reports (issue 14): the corpus, the field definitions, the
held-out figures, calibration, and learning from the center's corrections."""
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import normalizer.classify as classify_module
from normalizer import classify_train as ct
from normalizer.classify import MODEL_FILE, Model, classify
from normalizer.schema import CATEGORIES
from normalizer.text import fold

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "classify"
REAL = FIXTURES / "real"
SOURCES = {"hue-s", "1022-hcm", "paht-phuly", "portal", "press", "forum"}


def _rows(path):
    return ct.read_rows(path)


def test_real_corpus_records_are_sourced_and_labelled():
    ids = set()
    for split in ("train", "test"):
        rows = _rows(REAL / f"{split}.jsonl")
        assert rows
        for r in rows:
            assert r["category"] in CATEGORIES
            assert r["source"] in SOURCES and r["kind"] in {"text", "title", "excerpt"}
            assert urlsplit(r["url"]).scheme in {"http", "https"} and urlsplit(r["url"]).netloc, r["url"]
            assert r["text"].strip() and r["id"] not in ids
            ids.add(r["id"])
            if r["source"] in {"press", "forum"}:
                assert r["kind"] == "excerpt" and len(r["text"]) <= 600  # short excerpts only
            if r["kind"] == "title":  # the page's own title, taken from its address
                slug = re.split(r"[^a-z0-9]+", fold(unquote(r["url"].rsplit("/", 1)[1])))
                assert " ".join(slug).startswith(" ".join(fold(r["text"]).split())), r["url"]


def test_second_blind_labels_cover_training_rows_only_and_are_measured():
    """The second labelling (tools/label_agreement.py) names training rows only — the held-out
    file is never read by it — with valid categories, and its figures follow from the files."""
    sys.path.insert(0, str(ROOT / "tools"))
    import label_agreement

    train = {r["id"]: r["category"] for r in _rows(REAL / "train.jsonl")}
    held_out = {r["id"] for r in _rows(REAL / "test.jsonl")}
    second = _rows(REAL / "second_labels.jsonl")
    assert len(second) >= 100 and len({s["id"] for s in second}) == len(second)
    for s in second:
        assert s["id"] in train and s["id"] not in held_out
        assert s["category"] in CATEGORIES and isinstance(s["sure"], bool)
        assert s["sure"] or s["alt"] in CATEGORIES
    figures = label_agreement.agreement(train, second)
    assert figures["n"] == len(second)
    assert figures["agreement"] == round(sum(train[s["id"]] == s["category"] for s in second) / len(second), 4)
    assert 0 < figures["kappa"] <= figures["agreement"]
    # against a labelling that shifts every category by one, the agreement collapses
    shifted = [dict(s, category=list(CATEGORIES)[(list(CATEGORIES).index(s["category"]) + 1) % len(CATEGORIES)])
               for s in second]
    assert label_agreement.agreement(train, shifted)["agreement"] < 0.3


def test_real_held_out_split_is_separate_and_stratified():
    train, test = _rows(REAL / "train.jsonl"), _rows(REAL / "test.jsonl")
    assert not {fold(r["text"]) for r in train} & {fold(r["text"]) for r in test}
    assert not {r["url"] for r in train} & {r["url"] for r in test}
    for rows in (train, test):  # both sources and most categories on each side
        assert {"hue-s", "press"} <= {r["source"] for r in rows}
        assert len({r["category"] for r in rows}) >= 7
    assert 0.25 <= len(test) / (len(train) + len(test)) <= 0.4


def test_training_never_reads_a_held_out_file():
    assert set(ct.CORPUS.values()).isdisjoint(ct.HELD_OUT.values())
    corpus = {fold(r["text"]) for r in ct.corpus_rows(ROOT)}
    for name in ct.HELD_OUT:
        held = [r for r in ct.held_out_rows(ROOT, name) if fold(r["text"]) in corpus]
        assert not held, held[:2]


NOISE = re.compile(r"karaoke|mo nhac|mo loa|loa (keo|cong suat|phat)|tieng on|on ao")
DIRT = re.compile(r"\bbui\b|\bkhoi\b|\bmui\b|\brac\b|nuoc thai|xa thai|o nhiem moi truong")
ENCROACH = re.compile(r"lan chiem (via he|long duong|le duong)|(do|dau|do xe) .{0,20}(via he|long duong)")


@pytest.mark.parametrize("path", [FIXTURES / "train.jsonl", FIXTURES / "test.jsonl",
                                  REAL / "train.jsonl", REAL / "test.jsonl"])
def test_labels_follow_the_field_definitions(path):
    # DESIGN.md §3: noise and karaoke are public order; encroaching on sidewalks or roads to trade
    # or park is construction order (urban-order teams), never environment / public order.
    # A report naming several problems gets the one it leads with ("bụi, tiếng ồn" is dust first,
    # "ô nhiễm môi trường, tiếng ồn" pollution first — but "ô nhiễm tiếng ồn" is noise;
    # a pub's loud music, then its tables on the sidewalk, is noise first).
    # Noise and dust or smoke named together in one sentence, from one works (a quarry, a
    # factory, a materials yard: "tiếng ồn, khói bụi, rung chấn"), is one pollution complaint:
    # either label is kept (SOURCES.md lists them as doubtful).
    for r in _rows(path):
        text = fold(r["text"])
        noise, dirt = NOISE.search(text), DIRT.search(text)
        together = bool(noise and dirt and not re.search(
            r"[.!?;]", text[min(noise.start(), dirt.start()):max(noise.start(), dirt.start())]))
        if noise and not together and (not dirt or noise.start() < dirt.start()):
            assert r["category"] != "environment", r
        encroach = ENCROACH.search(text)
        if encroach and (not noise or encroach.start() < noise.start()):
            assert r["category"] != "public_order", r


def test_lexicon_follows_the_field_definitions():
    lex = json.loads(classify_module.LEXICON_FILE.read_text(encoding="utf-8"))
    for phrase in ("karaoke", "tieng on", "on ao", "mo nhac"):
        assert phrase in lex["public_order"] and phrase not in lex["environment"]
    for phrase in ("lan chiem via he", "lan chiem long duong", "do xe", "ban hang rong"):
        assert phrase in lex["construction_order"] and phrase not in lex["public_order"]


# Fresh sentences at the boundaries the field definitions draw (not in any split).
BOUNDARY = [
    ("Quán karaoke trong kiệt 20 hát đến 1 giờ sáng, cả xóm không ngủ được", "public_order"),
    ("nhà bên cạnh mở loa kéo hát suốt ngày chủ nhật, ồn quá", "public_order"),
    ("Các hộ kinh doanh bày hàng hóa lấn chiếm hết vỉa hè đường Trần Phú, người đi bộ phải xuống lòng đường",
     "construction_order"),
    ("Ô tô đậu kín vỉa hè trước nhà hàng tiệc cưới, không còn lối đi", "construction_order"),
    ("Cây xà cừ trước chợ nghiêng hẳn ra đường, rễ bật lên, đề nghị chặt hạ", "urban_infrastructure"),
    ("Đèn chiếu sáng trong kiệt tắt cả tháng nay, tối om", "urban_infrastructure"),
    ("Mặt đường có ổ gà lớn sau khi thi công cống, chưa hoàn trả", "traffic_infrastructure"),
    ("Bờ thành Kinh thành bị rêu phủ và có rác, khách tham quan chụp ảnh thấy rất xấu", "tourism"),
    ("Kính gửi Trung tâm Giám sát, điều hành đô thị thông minh. Tại đường Nguyễn Sinh Cung, phường Vỹ Dạ, "
     "nhiều quán nhậu kê bàn ghế lấn chiếm toàn bộ vỉa hè để kinh doanh, khách còn để xe tràn xuống lòng "
     "đường, buổi tối mở nhạc lớn. Kính đề nghị cơ quan chức năng kiểm tra, xử lý. Trân trọng.",
     "construction_order"),
]


def test_boundary_cases_are_right_or_left_to_the_center():
    threshold = classify_module.DEFAULT_TRIAGE_THRESHOLD
    right = 0
    for text, category in BOUNDARY:
        for variant in (text, fold(text)):
            c = classify(variant)
            assert c.category == category or c.confidence < threshold, (variant, c)
            right += c.category == category
    assert right >= 0.8 * 2 * len(BOUNDARY)


def test_lead_sentence_is_the_first_after_the_salutation():
    ws, (start, end) = classify_module.split_words(
        "Kính gửi Trung tâm IOC. Kính thưa quý cơ quan! Đèn đường kiệt 5 tắt. Đề nghị sửa.")
    assert ws[start:end] == ["den", "duong", "kiet", "5", "tat"]
    ws, lead = classify_module.split_words("kien nghi sua den duong kiet 5 P.Phu Hoi")  # a title: all lead
    assert lead == (0, len(ws)) and ws == classify_module.words("kien nghi sua den duong kiet 5 P.Phu Hoi")
    ws, (start, end) = classify_module.split_words("Kính gửi UBND phường.")  # nothing but a salutation
    assert ws[start:end] == ws
    assert classify_module.split_words("") == ([], (0, 0))


@pytest.mark.parametrize("config", [
    {"char_ngrams": [], "lex_scale": 0.3, "tf": "log", "lead_boost": 2.0},
    {"char_ngrams": [3, 5], "lex_scale": 0.3, "tf": "log", "lead_boost": 1.0},
])
def test_fast_scoring_matches_the_features_with_counts_and_lead(config):
    # Model.text_scores (the weight matrix, counts and the lead sentence from split_words) gives
    # the numbers of the reference: scores(features(text)) (the shipped model covers tf "log"
    # without lead; tests/normalizer/test_normalizer_speed.py covers binary features)
    model = Model.from_dict(ct.build_model(ct.corpus_rows(ROOT)[1::3], config, calibrate=False)[0])
    texts = [r["text"] for r in _rows(REAL / "train.jsonl")[:150]] + [r["text"] for r in _rows(FIXTURES / "train.jsonl")[:50]]
    texts += ["Kính gửi IOC. Rác rác rác đầy kiệt, rác bốc mùi. Đề nghị dọn rác."]
    for text in texts + [fold(t) for t in texts]:
        raw = [v / model.temperature for v in model.scores(classify_module.features(text, config))]
        ref = [math.exp(v - max(raw)) for v in raw]
        ref = [v / sum(ref) for v in ref]
        fast = list(model.probabilities(text).values())
        assert max(abs(a - b) for a, b in zip(ref, fast, strict=True)) < 1e-9, text


def test_training_rebuilds_the_shipped_model_byte_for_byte(tmp_path):
    # fixed seeds and fold orders: tools/train_classifier.py on the shipped corpus writes the
    # shipped file again (a corpus or setting changed without retraining fails here)
    out = tmp_path / "classifier.json"
    subprocess.run([sys.executable, str(ROOT / "tools" / "train_classifier.py"), "--model", str(out)],
                   capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.read_bytes() == MODEL_FILE.read_bytes()


def test_confidence_is_calibrated_and_the_threshold_ships_with_the_model():
    raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert 0 < raw["temperature"] and 0 < raw["threshold"] < 1
    assert classify_module.DEFAULT_TRIAGE_THRESHOLD == raw["threshold"]
    assert raw["features"] == classify_module.model_features()
    probs = classify_module.probabilities("mặt đường có nhiều ổ gà")
    assert abs(sum(probs.values()) - 1) < 1e-9
    # a flatter temperature gives a lower confidence to the same decision
    hot = Model.from_dict({**raw, "temperature": raw["temperature"] * 3})
    text = "đèn đường hư mấy tuần nay"
    assert hot.classify(text).category == classify(text).category
    assert hot.classify(text).confidence < classify(text).confidence


@pytest.fixture(scope="module")
def bench():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "classify_eval.py")],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert len(out.strip().splitlines()) == 1
    return json.loads(out)


def test_real_held_out_figures(bench):
    real = bench["real"]
    assert real["n"] == len(_rows(REAL / "test.jsonl"))
    assert bench["threshold"] == classify_module.DEFAULT_TRIAGE_THRESHOLD
    for variant in ("diacritics", "folded"):
        # measured once (379 reports, sixth-round corpus): accuracy 0.892, auto precision 0.982
        # at 28.8% triage (the threshold, 0.81, is calibrated on the real training rows for 95%
        # precision); the target (0.95 at <= 15% triage) is not met at the shipped
        # threshold. These bounds catch a regression.
        assert real[f"accuracy_{variant}"] >= 0.87
        assert real[f"auto_precision_{variant}"] >= 0.95
        assert real[f"triage_rate_{variant}"] <= 0.32
        curve = real[f"curve_{variant}"]
        assert [p["threshold"] for p in curve] == sorted(p["threshold"] for p in curve)
        assert all(a["coverage"] >= b["coverage"] for a, b in zip(curve, curve[1:], strict=False))
    for key in ("accuracy", "auto_precision", "triage_rate"):
        assert abs(real[f"{key}_diacritics"] - real[f"{key}_folded"]) <= 0.03


def test_written_split_still_meets_its_targets(bench):
    # measured: accuracy 0.879, 0.954 at 26% triage (the previous model: 0.891, 0.985 at 25%):
    # the threshold is set for real citizens' texts. Accuracy was 0.93 before the real corpus
    # grew (now 771 training reports, weight 5), whose labels part from this split's on a few
    # boundaries (land compensation, hospitals: `other` there): docs/classification.md.
    for variant in ("diacritics", "folded"):
        assert bench[f"accuracy_{variant}"] >= 0.86
        assert bench[f"auto_precision_{variant}"] >= 0.94
        assert bench[f"triage_rate_{variant}"] <= 0.30


def test_corrections_become_weighted_rows_and_the_last_label_wins():
    rows = ct.corrections_to_rows([
        {"text": "Đèn đường hư", "category": "environment"},
        {"text": "den duong hu", "category": "urban_infrastructure"},
        {"text": "   ", "category": "other"},
    ])
    assert [(r["category"], r["weight"]) for r in rows] == [("urban_infrastructure", ct.CORRECTION_WEIGHT)]
    with pytest.raises(ValueError):
        ct.corrections_to_rows([{"text": "x", "category": "roads"}])


RETRAIN = FIXTURES / "retrain"


def test_retrain_learns_a_pattern_the_center_corrected(tmp_path):
    # The center decides that fly-posting and advertising on public space is urban order
    # (construction_order); the shipped model sends most of it elsewhere.
    pattern = _rows(RETRAIN / "pattern_held_out.jsonl")
    before = sum(classify(r["text"]).category == r["category"] for r in pattern)
    assert before <= len(pattern) // 3
    model_file = tmp_path / "classifier.json"
    shutil.copy(MODEL_FILE, model_file)
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "train_classifier.py"), "--corrections",
                          str(RETRAIN / "corrections.jsonl"), "--recent-days", "100000", "--model", str(model_file)],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    report = json.loads(out)
    assert report["installed"], report["reasons"]
    new = Model.from_dict(json.loads(model_file.read_text(encoding="utf-8")))
    assert new.version == report["version"] != classify_module.CLASSIFIER_VERSION
    after = sum(new.classify(r["text"]).category == r["category"] for r in pattern)
    assert after > len(pattern) // 2 and after >= before + 2
    # not worse elsewhere
    for name in ct.HELD_OUT:
        for variant in ("", "_folded"):
            figs = report["figures"][name + variant]
            assert figs["candidate"]["accuracy"] >= figs["current"]["accuracy"] - 0.02
    assert report["figures"]["recent"]["candidate"]["accuracy"] == 1.0
    assert MODEL_FILE.read_text(encoding="utf-8") != model_file.read_text(encoding="utf-8")


def test_retrain_refuses_a_worse_model():
    # Corrections that call every written pothole report "tourism" make a worse model.
    corpus = ct.corpus_rows(ROOT)
    wrong = [{"text": r["text"], "category": "tourism"} for r in corpus
             if r["category"] == "traffic_infrastructure"]
    result = ct.retrain(corpus, wrong, classify_module._model(),
                        {name: ct.held_out_rows(ROOT, name) for name in ct.HELD_OUT})
    assert not result.install
    assert any("accuracy" in reason for reason in result.reasons)


def test_a_training_asked_twice_is_done_once(tmp_path, monkeypatch):
    """With HUB_TRAIN_CACHE set, the same rows and settings give the kept result (same version,
    the caller's own trained_on); another row trains anew. Unset, nothing is kept."""
    rows = ct.corpus_rows(ROOT)[::9]
    monkeypatch.setenv(ct.CACHE_ENV, str(tmp_path / "cache"))
    first, _ = ct.build_model(rows, calibrate=False, trained_on=["a"])
    [kept] = list((tmp_path / "cache").glob("*.json"))
    stamp = kept.stat().st_mtime_ns
    again, _ = ct.build_model(rows, calibrate=False, trained_on=["b"])
    assert kept.stat().st_mtime_ns == stamp  # read, not written again
    assert again == {**first, "trained_on": ["b"]}
    other, _ = ct.build_model([*rows[1:], {**rows[0], "category": "other"}], calibrate=False)
    assert other["version"] != first["version"] and len(list((tmp_path / "cache").glob("*.json"))) == 2
    monkeypatch.delenv(ct.CACHE_ENV)
    fresh, _ = ct.build_model(rows, calibrate=False, trained_on=["a"])
    assert fresh == first and len(list((tmp_path / "cache").glob("*.json"))) == 2
