"""`reclassify --since` with a value that is not an ISO time: one clear line, no traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bad_since_is_one_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "main.py", "reclassify", "--config", str(cfg), "--since", "bad"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2  # as argparse and `export` answer a bad option
    assert "--since 'bad' is not an ISO date/time" in done.stderr
    assert "Traceback" not in done.stderr
