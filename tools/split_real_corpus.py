"""Split newly collected real reports into the real corpus's train and held-out files.

The rule (tests/fixtures/classify/real/SOURCES.md): records are stratified by (source group,
category), where the source groups are hue-s / press+forum / portals; inside each stratum they
are ordered by the SHA-1 of their url, and every third one (positions 1, 4, 7, ... counting
from 0) goes to ``test.jsonl``, the rest to ``train.jsonl``. A record keeps its split once
assigned; a new round of records is split among itself by the same rule.

The new round is kept in a staging file (default ``tests/fixtures/classify/real/staging.jsonl``,
records with the same fields as the corpus; ``id`` is filled in from the url when missing).
The records of earlier rounds (the base) are read from git at ``--base-ref`` (default
``BASE_REF``, the commit that closed the previous round), so the result depends only on that
commit and the staging file. Running the script

1. takes the base train/test files as they are at the base commit (their records keep their
   split; with ``--base-ref ''`` it takes the files on disk minus the staging ids instead),
2. drops staging records whose url or folded text is already in the base (or earlier in the
   staging file) and says so,
3. splits the rest by the rule and writes base + new to train.jsonl / test.jsonl,

and prints one JSON line with the counts. ``--check`` writes nothing and exits 1 when the files
differ from what the rule gives.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "fixtures" / "classify" / "real"
REL = "tests/fixtures/classify/real"
# Eighth round (1,636 records in all) closed here (81db776); the ninth round is the staging file.
BASE_REF = "81db776"
FIELDS = ("id", "category", "source", "kind", "url", "agency", "text")
CATEGORIES = {"construction_order", "environment", "traffic_infrastructure", "urban_infrastructure",
              "public_order", "tourism", "public_service", "other"}
SOURCES = {"hue-s", "1022-hcm", "paht-phuly", "portal", "press", "forum"}

sys.path.insert(0, str(ROOT))
try:  # the project's folding (no diacritics, lower case) when importable
    from normalizer.text import fold as _fold
except Exception:  # pragma: no cover - standalone use
    import unicodedata

    def _fold(s: str) -> str:
        s = unicodedata.normalize("NFD", s.replace("đ", "d").replace("Đ", "D"))
        return "".join(c for c in s if unicodedata.category(c) != "Mn").lower()


def norm_text(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in _fold(text)).split())


def url_hash(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def record_id(url: str) -> str:
    return "real-" + url_hash(url)[:10]


def source_group(source: str) -> str:
    if source == "hue-s":
        return "hue-s"
    if source in {"press", "forum"}:
        return "press"
    return "portals"


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The rule: per (source group, category), by url hash, positions 1, 4, 7, ... held out."""
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        strata[(source_group(r["source"]), r["category"])].append(r)
    train, test = [], []
    for key in sorted(strata):
        for i, r in enumerate(sorted(strata[key], key=lambda r: url_hash(r["url"]))):
            (test if i % 3 == 1 else train).append(r)
    order = {id(r): n for n, r in enumerate(rows)}  # keep the staging file's order inside a file
    return sorted(train, key=lambda r: order[id(r)]), sorted(test, key=lambda r: order[id(r)])


def read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_at(ref: str, name: str) -> list[dict]:
    """A corpus file as it is at a git commit."""
    import subprocess
    out = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{REL}/{name}"], check=True,
                         capture_output=True).stdout.decode("utf-8")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def validate(r: dict) -> list[str]:
    bad = []
    if r.get("category") not in CATEGORIES:
        bad.append(f"category {r.get('category')!r}")
    if r.get("source") not in SOURCES:
        bad.append(f"source {r.get('source')!r}")
    if r.get("kind") not in {"text", "title", "excerpt"}:
        bad.append(f"kind {r.get('kind')!r}")
    if not str(r.get("url", "")).startswith(("http://", "https://")):
        bad.append("url")
    if not str(r.get("text", "")).strip():
        bad.append("empty text")
    if r.get("source") in {"press", "forum"} and (r.get("kind") != "excerpt" or len(r["text"]) > 600):
        bad.append("press/forum records are short excerpts (kind excerpt, at most 600 characters)")
    if r.get("id") != record_id(r.get("url", "")):
        bad.append("id is not real- + sha1(url)[:10]")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--staging", type=Path, default=REAL / "staging.jsonl")
    ap.add_argument("--dir", type=Path, default=REAL, help="folder with train.jsonl and test.jsonl")
    ap.add_argument("--base-ref", default=BASE_REF,
                    help="git commit holding the earlier rounds ('' = files on disk minus staging ids)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files differ")
    args = ap.parse_args(argv)

    staging = read(args.staging)
    for r in staging:
        r.setdefault("id", record_id(r["url"]))
        r.setdefault("agency", None)
    new_ids = {r["id"] for r in staging}
    train_path, test_path = args.dir / "train.jsonl", args.dir / "test.jsonl"
    if args.base_ref:
        old_train, old_test = read_at(args.base_ref, "train.jsonl"), read_at(args.base_ref, "test.jsonl")
    else:
        old_train = [r for r in read(train_path) if r["id"] not in new_ids]
        old_test = [r for r in read(test_path) if r["id"] not in new_ids]

    seen_urls = {r["url"] for r in old_train + old_test}
    seen_texts = {norm_text(r["text"]) for r in old_train + old_test}
    kept, dropped, invalid = [], [], []
    for r in staging:
        problems = validate(r)
        if problems:
            invalid.append({"url": r.get("url"), "problems": problems})
            continue
        t = norm_text(r["text"])
        if r["url"] in seen_urls or t in seen_texts:
            dropped.append(r["url"])
            continue
        seen_urls.add(r["url"])
        seen_texts.add(t)
        kept.append({k: r.get(k) for k in FIELDS})
    if invalid:
        print(json.dumps({"invalid": invalid}, ensure_ascii=False), file=sys.stderr)
        return 2

    new_train, new_test = split(kept)
    train, test = old_train + new_train, old_test + new_test
    summary = {
        "staging": len(staging), "added": len(kept), "duplicates_dropped": dropped,
        "added_train": len(new_train), "added_test": len(new_test),
        "train": len(train), "test": len(test),
        "per_category": {s: dict(sorted(Counter(r["category"] for r in rows).items()))
                         for s, rows in (("train", train), ("test", test))},
        "per_source": {s: dict(sorted(Counter(r["source"] for r in rows).items()))
                       for s, rows in (("train", train), ("test", test))},
    }
    if args.check:
        same = read(train_path) == train and read(test_path) == test
        summary["up_to_date"] = same
        print(json.dumps(summary, ensure_ascii=False))
        return 0 if same else 1
    write(train_path, train)
    write(test_path, test)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
