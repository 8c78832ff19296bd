"""How often a second, blind labelling of real training reports agrees with the corpus labels.

    python tools/label_agreement.py [--second tests/fixtures/classify/real/second_labels.jsonl]

The second labels (``id``, ``category``, ``sure``, ``alt`` when not sure) were given by an
annotator who saw only the reports' texts, sources and agencies and the written field
definitions and labelling rules, never the corpus labels (docs/classification.md, "A second,
blind labelling"). Only training rows are labelled this way: the held-out file stays unread.
Prints one JSON line: agreement, Cohen's kappa, agreement among the records the second
annotator was sure / not sure of, and the disagreements (corpus > second).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from normalizer.classify_train import read_rows as read  # noqa: E402

REAL = ROOT / "tests" / "fixtures" / "classify" / "real"


def agreement(first: dict[str, str], second: list[dict]) -> dict:
    n = len(second)
    same = [s for s in second if first[s["id"]] == s["category"]]
    sure = [s for s in second if s.get("sure")]
    p1 = Counter(first[s["id"]] for s in second)
    p2 = Counter(s["category"] for s in second)
    observed = len(same) / n
    expected = sum(p1[c] * p2[c] for c in p1) / (n * n)
    sure_same = sum(first[s["id"]] == s["category"] for s in sure)
    unsure = n - len(sure)
    return {
        "n": n, "agreement": round(observed, 4),
        "kappa": round((observed - expected) / (1 - expected), 4) if expected < 1 else None,
        "sure": len(sure), "agreement_sure": round(sure_same / len(sure), 4) if sure else None,
        "agreement_not_sure": round((len(same) - sure_same) / unsure, 4) if unsure else None,
        "corpus_label_is_second_or_alt": round(
            sum(first[s["id"]] in (s["category"], s.get("alt")) for s in second) / n, 4),
        "disagreements": dict(Counter(f"{first[s['id']]}>{s['category']}" for s in second
                                      if first[s["id"]] != s["category"]).most_common()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--second", type=Path, default=REAL / "second_labels.jsonl")
    args = ap.parse_args()
    first = {r["id"]: r["category"] for r in read(REAL / "train.jsonl")}
    second = read(args.second)
    unknown = [s["id"] for s in second if s["id"] not in first]
    if unknown:
        print(f"not training rows: {unknown[:5]}", file=sys.stderr)
        return 1
    print(json.dumps(agreement(first, second)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
