"""bench/worker_ab.py runs both sides and leaves no worktree behind (a smoke run: the figures
themselves are the bench's business, not a test's)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout (the bench checks out its base)")
def test_worker_ab_compares_two_trees_and_cleans_up() -> None:
    before = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], check=True,
                            capture_output=True, text=True).stdout
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "worker_ab.py"), "--base", "HEAD",
                          "--rounds", "1", "--events", "200"], check=True, capture_output=True,
                         text=True, timeout=300).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["bench"] == "worker_ab" and figures["rounds"] == 1
    for key in ("base_events_per_s", "tree_events_per_s", "base_loop_cpu_us_per_event",
                "tree_loop_cpu_us_per_event"):
        assert figures[key] > 0, key
    assert figures["ratio_events_per_s"]["median"] > 0 and figures["ratio_loop_cpu"]["median"] > 0
    after = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], check=True,
                           capture_output=True, text=True).stdout
    assert after == before
