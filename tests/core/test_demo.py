"""`python main.py demo` runs with no credentials and shows a reply on every channel."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_walks_every_channel():
    proc = subprocess.run([sys.executable, "main.py", "demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    codes = set(re.findall(r"PA-\d{4}-\d{6}", out.split("== 2.")[1].split("== 3.")[0]))
    assert len(codes) == 6, out
    replies = out.split("== 4.")[1]
    for channel in ("Messenger", "Zalo OA", "Telegram", "SMS", "Email", "Web/app"):
        assert channel in replies, f"no reply shown for {channel}"
    # every report got its acknowledgement and its resolution, with the tracking code
    for code in codes:
        assert code in replies, code
    assert replies.count("xử lý xong") >= 6
